"""`mnist-tui watch` following a headless run that is still writing; --resume in the
dashboard; SIGTERM in the dashboard. Waits are on app events and on the headless
process's own output lines, never on sleeps."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core import checkpoint
from core.events import RunFinished, RunStarted, TestEnd
from tests.tui.test_app import finished, log_text
from tests.tui.waiting import WatchedApp
from tui.engine.bridge import RunSpec
from tui.engine.protocol import PauseChanged, Saved, Tick
from tui.screens.confirm import ConfirmScreen
from tui.widgets.status import StatusBar

ROOT = Path(__file__).resolve().parents[2]
SIZE = (120, 40)


class Headless:
    """A headless run in a child process; its stdout lines are collected by a thread and
    ``wait_for(text)`` blocks until a line containing ``text`` has been printed."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "--headless", "--no-plot", *args],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self.lines.append("")  # end of output
            self._cond.notify_all()

    def wait_for(self, text: str, timeout: float = 120) -> None:
        with self._cond:
            ok = self._cond.wait_for(lambda: any(text in ln for ln in self.lines) or "" in self.lines,
                                     timeout)
            assert ok and any(text in ln for ln in self.lines), f"{text!r} never printed: {self.lines[-5:]}"

    async def await_line(self, text: str) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.wait_for, text)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)


def headless_here(*args: str) -> None:
    """``mnist-tui --headless --no-plot ARGS`` run to its end in this process (no
    interpreter and PyTorch to start: for a run folder that is only read afterwards)."""
    import contextlib
    import io

    from tui.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["--headless", "--no-plot", *args]) == 0


async def test_watch_follows_a_headless_run_that_is_still_writing(tui_data, tmp_path):
    run_dir = tmp_path / "run"
    writer = Headless("--data-dir", str(tui_data), "--epochs", "500", "--run-dir", str(run_dir))
    try:
        await writer.await_line("Run folder:")  # its config is written
        app = WatchedApp(RunSpec(), watch=str(run_dir))
        async with app.run_test(size=SIZE) as pilot:
            first_test = await asyncio.wait_for(app.next_event(TestEnd), 120)
            first = await asyncio.wait_for(app.next_event(Tick), 60)
            later = await asyncio.wait_for(app.next_event(Tick), 60)
            assert later.step > first.step and later.seen > first.seen  # following, live
            await pilot.pause()
            assert app.view.train.xs and app.view.test_x and first_test.total == 500
            assert app.query_one(StatusBar).mode == f"watching {run_dir} (read-only)"
            assert app.state in ("training", "testing")
            text = log_text(app)
            assert "Train Epoch: " in text and "Test set: Avg. loss: " in text
            for action in ("toggle_pause", "edit", "restart", "save"):
                assert not app.dashboard.check_action(action, ())  # read-only
            # The writer is stopped (SIGTERM, as a dropped session would): watch shows it.
            ended = app.next_event(RunFinished)
            writer.proc.send_signal(signal.SIGTERM)
            assert (await asyncio.wait_for(ended, 60)).status == "stopped"
            await pilot.pause()
            assert app.state == "stopped"
            await pilot.press("q")  # no question: quitting a watch stops nothing
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen)
        assert writer.proc.wait(30) == 143
    finally:
        writer.stop()


async def test_watch_of_a_finished_run_has_its_digits_and_analysis(tui_data, tmp_path):
    run_dir = tmp_path / "run"
    headless_here("--data-dir", str(tui_data), "--epochs", "2", "--run-dir", str(run_dir))
    app = WatchedApp(RunSpec(), watch=str(run_dir))
    async with app.run_test(size=SIZE) as pilot:
        assert await finished(app) == "finished"
        await pilot.pause()
        assert app.view.test_epochs == [0, 1, 2] and len(app.view.train.xs) == 2  # 20 steps: rows at 0, 20
        test = app.view.last_test
        assert len(test.predictions) == 500 and len(test.hardest) == 16
        assert sum(map(sum, test.confusion)) == 500
        assert "Max Accuracy is: " in log_text(app)
        said: list[str] = []
        app.notify = lambda message, **kw: said.append(message)  # what the user is told
        for key in ("e", "space", "d"):  # keys that act on a run: they say why they do not
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is app.dashboard
            assert said and said[-1].startswith("read-only: watching"), key
            said.clear()
        await pilot.press("c")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfusionScreen"


@pytest.mark.parametrize("args, problem", [
    (["/etc/passwd"], "/etc/passwd: not a folder"),
    (["{other}"], "config.json: missing"),
])
def test_watch_refuses_a_folder_that_is_not_a_run(tmp_path, args, problem):
    (tmp_path / "notes.txt").write_text("not a run")
    args = [a.format(other=tmp_path) for a in args]
    out = subprocess.run([sys.executable, "-m", "tui.cli", "watch", *args], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and problem in out.stderr and out.stderr.count("\n") == 1


async def test_resume_in_the_dashboard_equals_an_uninterrupted_run(tui_data, tmp_path):
    headless_here("--data-dir", str(tui_data), "--epochs", "30", "--run-dir", str(tmp_path / "a"))
    cut = Headless("--data-dir", str(tui_data), "--epochs", "30", "--run-dir", str(tmp_path / "b"))
    try:  # stopped by a real SIGTERM, in a process of its own
        await cut.await_line("Train Epoch: 2 ")
        cut.proc.send_signal(signal.SIGTERM)
        assert cut.proc.wait(60) == 143
    finally:
        cut.stop()
    stopped_at = checkpoint.load(tmp_path / "b" / "checkpoint-last.pt")["step"]
    spec = RunSpec(data_dir=str(tui_data), allow_download=False, run_dir=str(tmp_path / "b"),
                   resume=str(tmp_path / "b"))
    app = WatchedApp(spec, engine="thread", show_eta=False)
    async with app.run_test(size=SIZE) as pilot:
        assert await finished(app) == "finished"
        await pilot.pause()
        assert f"Resumed {tmp_path / 'b'} at epoch " in log_text(app)
        assert app.view.test_epochs == list(range(31))  # the past, backfilled, then the new tests
    a = checkpoint.load(tmp_path / "a" / "checkpoint-last.pt")["history"]
    b = checkpoint.load(tmp_path / "b" / "checkpoint-last.pt")["history"]
    assert stopped_at > 0 and len(b["train_loss"]) == len(a["train_loss"])
    assert a["train_loss"] == b["train_loss"] and a["test_accuracy"] == b["test_accuracy"]
    assert app.view.test_acc == a["test_accuracy"]


async def test_sigterm_in_the_dashboard_saves_a_checkpoint_and_quits(make, tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    app = make(epochs=500)
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.wait_for_state("training"), 60)
        assert signal.SIGTERM in app.signals.installed  # else the signal below would end pytest
        paused = app.next_event(PauseChanged)
        await pilot.press("space")  # a known step to compare with
        step = (await asyncio.wait_for(paused, 30)).step
        saved = app.next_event(Saved)
        os.kill(os.getpid(), signal.SIGTERM)
        path = (await asyncio.wait_for(saved, 30)).path
        await pilot.pause()
    assert app.exit_signal == 143 and app.engine is None  # quit, the engine closed
    state = checkpoint.load(path)
    assert state["step"] == step and Path(path) == tmp_path / "run" / "checkpoint-last.pt"
    assert signal.getsignal(signal.SIGTERM) == before  # the handler went with the app


def test_folder_engine_reads_rows_as_events_and_starts_over_when_the_file_is_rewritten(tmp_path):
    """The follower on a hand-written folder: rows become events in order, a line cut
    short by a kill is skipped, and a rewritten (shorter) file starts the picture over."""
    import json

    from core.runfolder import CONFIG, METRICS_JSONL
    from tui.engine.protocol import EngineStopped, Pause, WatchReset
    from tui.engine.watch import FolderTransport

    hp = {"lr": 0.2, "momentum": 0.9, "batch_size": 50, "test_batch_size": 1000, "epochs": 2,
          "seed": 1, "hidden": [100, 50], "activation": "sigmoid", "optimizer": "sgd"}
    (tmp_path / CONFIG).write_text(json.dumps({"format": "mnist-tui-run", "dataset": "mnist",
                                               "data_dir": str(tmp_path / "no-data"), "hparams": hp}))
    start = {"kind": "start", "epoch": 0, "step": 0, "hparams": hp, "device": "cpu",
             "n_train": 100, "n_test": 10, "n_params": 84060, "architecture": "784-100-50-10 sigmoid",
             "classes": [str(i) for i in range(10)]}
    cm = [[1 if t == p else 0 for p in range(10)] for t in range(10)]
    test = {"kind": "test", "epoch": 0, "step": 0, "seen": 0, "loss": 2.3, "accuracy": 100.0,
            "correct": 10, "total": 10, "confusion": cm, "per_class_correct": [1] * 10,
            "per_class_total": [1] * 10}
    train = [{"kind": "train", "epoch": 1, "step": s, "seen": 50 * s, "loss": 1.0 / s, "batch": s - 1,
              "batches": 2, "batch_size": 50, "epoch_samples": 50 * s, "n_train": 100,
              "samples_per_sec": 1000.0} for s in (1, 2)]
    end = {"kind": "end", "status": "finished", "epoch": 1, "step": 2, "best_accuracy": 100.0,
           "best_epoch": 0}
    path = tmp_path / METRICS_JSONL
    path.write_text("".join(json.dumps(r) + "\n" for r in [start, test, *train, end]) + '{"kind": "tr')

    engine = FolderTransport(tmp_path)
    engine.start()

    def next_of(*kinds):
        while True:
            ev = engine.get(timeout=30)
            if isinstance(ev, kinds):
                return ev

    try:
        assert isinstance(next_of(RunStarted), RunStarted)
        t = next_of(TestEnd)
        assert t.confusion == tuple(tuple(r) for r in cm) and t.accuracy == 100.0
        tick = next_of(Tick)
        assert tick.points == ((50, 1.0), (100, 0.5)) and tick.step == 2  # one Tick for both rows
        assert tick.lines[0] == "Train Epoch: 1 [0/100 (0%)]\tLoss: 1.000000"
        assert next_of(RunFinished).status == "finished"
        # A resume rewrites the file shorter: the follower starts over.
        path.write_text(json.dumps(start) + "\n")
        assert isinstance(next_of(WatchReset), WatchReset)
        assert next_of(RunStarted).step == 0
        engine.send(Pause())  # read-only: refused silently, nothing written
        assert sorted(p.name for p in tmp_path.iterdir()) == [CONFIG, METRICS_JSONL]
    finally:
        engine.close()
    assert isinstance(next_of(EngineStopped), EngineStopped)  # closing ends the follower


async def test_resume_in_the_dashboard_with_more_epochs(tui_data, tmp_path):
    first = Headless("--data-dir", str(tui_data), "--epochs", "1", "--run-dir", str(tmp_path / "r"))
    assert first.proc.wait(300) == 0
    spec = RunSpec(data_dir=str(tui_data), allow_download=False, run_dir=str(tmp_path / "r"),
                   resume=str(tmp_path / "r"), resume_changes={"epochs": 2})
    app = WatchedApp(spec, engine="thread", show_eta=False)
    async with app.run_test(size=SIZE) as pilot:
        assert await finished(app) == "finished"
        await pilot.pause()
        assert app.view.test_epochs == [0, 1, 2] and app.view.hp.epochs == 2
        assert "Applied at step 20 (epoch 1): epochs 1 → 2" in log_text(app)
    assert checkpoint.load(tmp_path / "r" / "checkpoint-last.pt")["epoch"] == 2


def test_watch_waits_for_a_run_folder_that_does_not_exist_yet(tui_data, tmp_path):
    """`nohup mnist-tui --headless --run-dir runs/big &` then `mnist-tui watch runs/big`
    at once: the folder appears only once the run starts; watch waits for it."""
    from core.events import RunStarted
    from tui.engine.protocol import Loading
    from tui.engine.watch import FolderTransport

    engine = FolderTransport(tmp_path / "later")
    engine.start()
    try:
        first = engine.get(timeout=30)
        assert isinstance(first, Loading) and first.text.startswith(
            f"waiting for the run folder {tmp_path / 'later'} to appear")
        run = Headless("--data-dir", str(tui_data), "--epochs", "1", "--run-dir", str(tmp_path / "later"))
        while not isinstance(ev := engine.get(timeout=120), RunStarted):
            pass
        assert ev.n_train == 1000
        assert run.proc.wait(300) == 0
    finally:
        engine.close()


def test_watch_without_a_folder_follows_the_newest_run_under_runs(tmp_path):
    import json
    import os

    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def watch():
        return subprocess.run([sys.executable, "-m", "tui.cli", "watch"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)

    out = watch()
    assert out.returncode == 2 and "no run folder under ./runs" in out.stderr
    for i, name in enumerate(("old", "new", "notarun")):
        folder = tmp_path / "runs" / name
        folder.mkdir(parents=True)
        if name != "notarun":
            (folder / "config.json").write_text(json.dumps({"dataset": "mnist", "hparams": {}}))
            os.utime(folder / "config.json", (1000 + i, 1000 + i))
    out = watch()  # (a made-up config, and no terminal: refused, naming the folder it chose)
    assert out.returncode == 2 and "runs/new/" in out.stderr and "old" not in out.stderr


async def test_a_full_disk_in_the_dashboard_pauses_with_a_message_and_loses_nothing(make, monkeypatch):
    """A write into the run folder fails mid-run (ENOSPC injected): a message on screen,
    the run paused, the keys live, the last test's checkpoint still readable."""
    import errno

    from core.runfolder import RunFolder
    from tests.tui.test_app import LONG
    from tui.engine.protocol import Notice

    real_write = RunFolder._write
    rows = []

    def write(self, row):
        rows.append(row["kind"])
        if row["kind"] == "train" and rows.count("train") >= 3:
            def full():
                raise OSError(errno.ENOSPC, "No space left on device")
            self._guard("metrics.jsonl", full)
        real_write(self, row)

    monkeypatch.setattr(RunFolder, "_write", write)
    app = make(epochs=LONG)
    async with app.run_test(size=(120, 40)) as pilot:
        notice = app.next_event(Notice)
        paused = app.next_event(PauseChanged)
        ev = await asyncio.wait_for(notice, 120)
        assert "metrics.jsonl: could not write (no space left on the device)" in ev.message
        assert (await asyncio.wait_for(paused, 60)).paused
        await pilot.pause()
        assert app.state == "paused" and ev.message in log_text(app)
        checkpoint.load(app.run_dir / "checkpoint-last.pt")  # the last test's, intact
        await pilot.press("question_mark")  # the keys are live
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"


async def test_a_dashboard_started_with_hangups_ignored_keeps_them_ignored(make):
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        app = make(epochs=1)
        async with app.run_test(size=(120, 40)):
            await finished(app)
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)


@pytest.mark.parametrize("damage, problem", [
    (lambda s: s["model"]["layers.0.weight"].fill_(float("nan")),
     "model.layers.0.weight: holds NaN or infinite values"),
    (lambda s: s["model"].__setitem__("layers.0.bias", s["model"]["layers.0.bias"][:3]),
     "model.layers.0.bias: expected a tensor of shape (100,)"),
])
async def test_a_resume_the_checkpoint_check_refuses_is_one_line_and_exit_2(
        damage, problem, tui_data, tmp_path):
    """As headless refuses it: whatever core.checkpoint refuses closes the dashboard by
    itself, and the terminal is left that one line (state error, not internal: exit 2)."""
    import torch

    from tests.run_folders import real_run

    real_run(tmp_path / "a", tui_data, epochs=1)
    state = checkpoint.load(tmp_path / "a" / "checkpoint-last.pt")
    damage(state)
    torch.save(state, tmp_path / "a" / "checkpoint-last.pt")
    spec = RunSpec(data_dir=str(tui_data), allow_download=False, run_dir=str(tmp_path / "a"),
                   resume=str(tmp_path / "a"))
    app = WatchedApp(spec, engine="thread", show_eta=False)
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.wait_for_state("error"), 120)
        await pilot.pause()
    assert not app.is_running and app.state == "error" and not app.error_internal
    receipt = app.receipt()
    assert receipt.count("\n") == 0 and receipt.startswith("mnist-tui: error: ")
    assert f"{tmp_path / 'a' / 'checkpoint-last.pt'}: {problem}" in receipt
