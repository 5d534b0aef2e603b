"""`mnist-tui --resume RUN` in the dashboard: the command line reads config.json and the
checkpoint's plain fields once (no PyTorch in the dashboard's process), the App reads
nothing, and the training process reads the checkpoint and the metrics once each, never
config.json again; the first frame shows the hyperparameters the run has now (its
edits), not config.json's, before the training process has said anything."""

from __future__ import annotations

import queue
import threading

from rich.console import Console

from core.runfolder import CONFIG, LAST, METRICS_JSONL
from tests.reads import ReadCounter
from tests.run_folders import real_run
from tui.dashboard.app import MnistTuiApp
from tui.widgets.hparams import HparamsPane
from tui.widgets.status import StatusBar


class Silent:
    """A training process still importing PyTorch: nothing has come from it yet."""

    def __init__(self):
        self.sent, self._closed = [], threading.Event()

    def start(self) -> None:
        pass

    def send(self, command) -> None:
        self.sent.append(command)

    def get(self, timeout: float):
        self._closed.wait(timeout)  # (as a queue waits for its next item)
        raise queue.Empty

    def alive(self) -> bool:
        return True

    def close(self, timeout: float = 5.0) -> None:
        self._closed.set()


def _text(renderable) -> str:
    console = Console(width=60, record=True)
    console.print(renderable)
    return console.export_text()


async def test_dashboard_resume_reads_once_and_starts_from_the_edited_hparams(
        tui_data, tmp_path, monkeypatch):
    from core.session import open_session
    from tui import cli

    run = tmp_path / "r"
    real_run(run, tui_data, epochs=1)
    real_run(run, tui_data, resume=True, lr=0.05, epochs=2)  # edited: config.json keeps 0.2
    counter = ReadCounter(monkeypatch, run)
    args = cli.build_parser().parse_args(["--resume", str(run)])
    spec = cli.spec_from_args(args, cli.hparams_from_args(args), in_this_process=False)
    assert (counter.run_files(), counter.checks) == ({CONFIG: 1, LAST: 1, METRICS_JSONL: 0}, 0)

    app = MnistTuiApp(spec, transport=Silent(), show_eta=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.state == "loading"  # (no RunStarted: nothing came)
        status = app.query_one(StatusBar)
        assert "lr 0.05 " in status.render().plain
        pane = _text(app.query_one(HparamsPane).content)
        assert "lr" in pane and "0.05" in pane and "0.2 " not in pane
        assert (counter.run_files(), counter.checks) == ({CONFIG: 1, LAST: 1, METRICS_JSONL: 0}, 0)

    counter.reset()
    session = open_session(spec)  # what the training process does with the spec it is sent
    try:
        assert session.run.hp.lr == 0.05 and session.run.epoch == 2
    finally:
        session.close()
    assert (counter.run_files(), counter.checks) == ({CONFIG: 0, LAST: 1, METRICS_JSONL: 1}, 1)


def test_watch_follows_from_the_config_the_command_line_read(tui_data, tmp_path, monkeypatch):
    """`mnist-tui watch RUN` checks config.json before its screen and hands it to the
    follower, which does not read it again."""
    from core.events import RunStarted
    from core.runfolder import read_config
    from tui.engine.watch import FolderTransport

    run = tmp_path / "r"
    real_run(run, tui_data, epochs=1)
    counter = ReadCounter(monkeypatch, run)
    engine = FolderTransport(run, read_config(run))
    engine.start()
    try:
        while not isinstance(engine.get(timeout=60), RunStarted):
            pass
    finally:
        engine.close()
    assert counter.opens[CONFIG] == 1
