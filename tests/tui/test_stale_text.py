"""What the dashboard says is about the run it shows, never a default or the last run:
the dataset a resumed run loads, the network of a restart, watch before its run exists,
and a download (with its mirror) instead of a silent "loading"."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import queue

import pytest

from core import datafiles
from core.config import Hyperparameters
from core.datasets import STANDARD_FILES
from core.events import DownloadProgress, RunStarted
from tests.helpers import FASHION, write_split
from tests.run_folders import real_run
from tests.tui.test_app import SIZE, edit, finished, log_text, shown
from tests.unit.test_datasets import Server
from tests.tui.waiting import WatchedApp
from tui.engine.bridge import RunSpec, engine_loop
from tui.engine.protocol import DataReady, Loading, Quit
from tui.widgets.hparams import HparamsPane
from tui.widgets.progress import ProgressRow
from tui.widgets.status import StatusBar


@pytest.mark.skipif(not FASHION.exists(), reason="Debian's dataset-fashion-mnist is not installed")
def test_resuming_a_fashion_mnist_run_says_it_loads_fashion_mnist(tmp_path):
    import io

    from tui.headless import run_headless

    run = tmp_path / "fashion"
    spec = RunSpec(hparams=Hyperparameters(epochs=1), dataset="fashion-mnist", data_dir=str(FASHION),
                   device="cpu", limit_train=200, limit_test=100, run_dir=str(run),
                   allow_download=False)
    assert run_headless(spec, plot=False, out=io.StringIO()) == 0
    events, commands = [], queue.Queue()
    commands.put(Quit())
    engine_loop(RunSpec(resume=str(run), device="cpu"), events.append, commands)  # spec.dataset: "mnist"
    loading = [e.text for e in events if isinstance(e, Loading)]
    assert "loading Fashion-MNIST" in loading and "loading MNIST" not in loading, loading
    assert next(e for e in events if isinstance(e, DataReady)).title == "Fashion-MNIST"


async def test_a_restart_shows_its_new_network_at_once(make):
    app = make(epochs=1)
    async with app.run_test(size=SIZE) as pilot:
        await finished(app)
        await pilot.pause()
        status = app.query_one(StatusBar)
        assert status.network == "784-100-50-10 sigmoid · 84,060 params"
        await edit(pilot, app, hidden="32")
        await pilot.press("enter")  # the run has ended: it waits for a restart
        await pilot.pause()
        assert app.view.pending == {"hidden": (32,)}
        app.restart()  # nothing of the new run has arrived yet: the header is already its own
        assert status.network == "784-32-10 sigmoid" and status.dataset == "MNIST"
        started = await asyncio.wait_for(app.next_event(RunStarted), 60)
        await pilot.pause()
        assert status.network == f"784-32-10 sigmoid · {started.n_params:,} params"


async def test_watch_before_its_run_exists_shows_no_values_nobody_set(tui_data, tmp_path):
    run_dir = tmp_path / "later"
    app = WatchedApp(RunSpec(), watch=str(run_dir))
    async with app.run_test(size=SIZE) as pilot:
        said = await asyncio.wait_for(app.next_event(Loading), 30)
        assert "waiting for the run folder" in said.text
        await pilot.pause()
        pane = shown(app.query_one(HparamsPane))
        assert f"waiting for {run_dir}" in pane and "0.2" not in pane and "lr" not in pane
        assert app.query_one(StatusBar).optimizer == ""  # no "SGD lr 0.2" in the header
        started = app.next_event(RunStarted)
        real_run(run_dir, tui_data, epochs=1, lr=0.05, batch_size=25)
        await asyncio.wait_for(started, 60)
        await pilot.pause()
        pane = shown(app.query_one(HparamsPane))
        assert "waiting" not in pane and "0.05" in pane and "25" in pane  # the run's own
        assert "SGD lr 0.05" in app.query_one(StatusBar).optimizer


async def test_a_download_is_shown_with_its_mirror_from_the_first_moment(tmp_path, monkeypatch):
    """No data on the machine: the dashboard says it downloads, from which mirror, with
    a bar per file, before the first byte comes (a slow or dead mirror is not a silent
    "loading"). Against a 127.0.0.1 server whose first mirror answers 404."""
    data = write_split(tmp_path / "served", 1000, 500)
    files = {role: (data / name).read_bytes() for role, name in STANDARD_FILES.items()}
    server = Server()
    try:
        for role, body in files.items():
            server.routes[f"/good/{STANDARD_FILES[role]}"] = (200, body, "")
        spec = dataclasses.replace(
            datafiles.REGISTRY["mnist"], mirrors=(server.url + "/gone/", server.url + "/good/"),
            checksums={r: "md5:" + hashlib.md5(b).hexdigest() for r, b in files.items()})
        monkeypatch.setitem(datafiles.REGISTRY, "mnist", spec)
        monkeypatch.setenv(datafiles.CACHE_ENV, str(tmp_path / "cache"))
        app = WatchedApp(RunSpec(hparams=Hyperparameters(epochs=1), hardest=4), engine="thread",
                         show_eta=False, run_dir=str(tmp_path / "run"))
        rows = []

        def row_text() -> str:
            bar = app.dashboard.query_one("#download", ProgressRow)
            return f"{bar.title} {bar.fraction} {bar.detail}"

        app.on_handled.append(lambda ev: isinstance(ev, DownloadProgress) and rows.append(
            (ev, row_text(), app.state)))
        async with app.run_test(size=SIZE) as pilot:
            assert await finished(app) == "finished"
            await pilot.pause()
            first, row, state = rows[0]
            assert first.done == 0 and state == "downloading"  # said before any byte came
            assert first.url == f"{server.url}/gone/train-images-idx3-ubyte.gz"
            host = server.url.removeprefix("http://")
            assert row == f"Download 1/4 None 0.0/? MB · {host} · train-images-idx3-ubyte.gz"
            done = [(ev, row) for ev, row, _ in rows if ev.total and ev.done == ev.total]
            assert {ev.filename for ev, _ in done} == set(STANDARD_FILES.values())
            assert all(" 1.0 " in row for _, row in done)  # each bar full
            log = log_text(app)
            assert f"Downloading train-images-idx3-ubyte.gz (1/4) from {server.url}/gone/" in log
            assert f"Downloading train-images-idx3-ubyte.gz (1/4) from {server.url}/good/" in log
            assert f"Downloading t10k-labels-idx1-ubyte.gz (4/4) from {server.url}/good/" in log
            assert log.index("/gone/train-images") < log.index("/good/train-images")
    finally:
        server.close()


async def test_a_restart_mid_run_is_noted_as_a_restart_not_a_quit(make, tmp_path):
    import json

    from core.runs import summarise

    app = make(epochs=500)
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.wait_for_state("training"), 60)
        old = app.run_dir
        app.restart()  # (r, then y) the old run's engine has ended when it returns
        end = json.loads((old / "metrics.jsonl").read_text().splitlines()[-1])
        assert (end["kind"], end["status"], end["signal"]) == ("end", "interrupted", "restart")
        assert summarise(old).reason.startswith("interrupted: restarted (r)")
        await asyncio.wait_for(app.wait_for_state("training"), 60)
        await pilot.press("q", "y")  # a quit mid-run is a quit
        await pilot.pause()
    end = json.loads((tmp_path / "run-restart1" / "metrics.jsonl").read_text().splitlines()[-1])
    assert (end["status"], end["signal"]) == ("interrupted", "quit")


async def test_a_failed_download_leaves_no_bar_at_zero(tmp_path, monkeypatch):
    from tui.widgets.progress import TrainingProgress

    server = Server()  # it knows no file: every mirror answers 404
    try:
        spec = dataclasses.replace(datafiles.REGISTRY["mnist"], mirrors=(server.url + "/gone/",))
        monkeypatch.setitem(datafiles.REGISTRY, "mnist", spec)
        monkeypatch.setenv(datafiles.CACHE_ENV, str(tmp_path / "cache"))
        app = WatchedApp(RunSpec(hparams=Hyperparameters(epochs=1)), engine="thread",
                         show_eta=False, run_dir=str(tmp_path / "run"))
        bars = []
        app.on_handled.append(lambda ev: isinstance(ev, DownloadProgress) and bars.append(
            app.query_one(TrainingProgress).has_class("-downloading")))
        async with app.run_test(size=SIZE) as pilot:
            assert await asyncio.wait_for(app.wait_for_state("error"), 60) == "error"
            await pilot.pause()
            assert bars == [True]  # shown while it was tried
            assert not app.query_one(TrainingProgress).has_class("-downloading")
            assert f"{server.url}/gone/train-images-idx3-ubyte.gz (HTTP 404)" in log_text(app)
    finally:
        server.close()
