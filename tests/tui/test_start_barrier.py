"""Training's first step waits for the dashboard to have drawn the run's start (the
``Drawn`` command, sent after the first EpochStarted's frame), for at most
``bridge.START_WAIT``: the screen's busiest frames (the test digits, the first test)
no longer take CPU from the first epochs. A pause in that wait holds training; a
screen that never says so delays nothing for long."""

from __future__ import annotations

import queue
import threading

from core.config import Hyperparameters
from core.events import EpochStarted, RunFinished
from tui.engine import bridge
from tui.engine.bridge import RunSpec, ThreadTransport, engine_loop
from tui.engine.protocol import Drawn, Pause, PauseChanged, Quit, Resume

HANG = 300  # seconds: only a broken loop takes this long (a guard, not a timing)


class Commands:
    """The loop's command queue, telling when the loop blocks on it (waits)."""

    def __init__(self):
        self._q: queue.Queue = queue.Queue()
        self.waiting = threading.Event()

    def put(self, command) -> None:
        self.waiting.clear()
        self._q.put(command)

    def get_nowait(self):
        return self._q.get_nowait()

    def get(self, timeout=None):
        try:
            return self._q.get_nowait()
        except queue.Empty:
            self.waiting.set()
            return self._q.get(timeout=timeout)


def start(tui_data, tmp_path, epochs: int = 1):
    events: queue.Queue = queue.Queue()
    commands, runs = Commands(), []
    spec = RunSpec(hparams=Hyperparameters(epochs=epochs), data_dir=str(tui_data),
                   allow_download=False, run_dir=str(tmp_path / "run"))
    thread = threading.Thread(target=engine_loop, args=(spec, events.put, commands),
                              kwargs={"on_run": runs.append}, daemon=True)
    thread.start()
    return events, commands, runs, thread


def until(events: queue.Queue, kind: type):
    while True:
        ev = events.get(timeout=HANG)
        if isinstance(ev, kind):
            return ev


def end(commands: Commands, thread: threading.Thread) -> None:
    commands.put(Quit())
    thread.join(HANG)
    assert not thread.is_alive()


def test_the_first_step_waits_until_the_screen_has_drawn_the_start(tui_data, tmp_path, monkeypatch):
    monkeypatch.setattr(bridge, "START_WAIT", 600.0)
    events, commands, runs, thread = start(tui_data, tmp_path)
    until(events, EpochStarted)
    assert commands.waiting.wait(HANG)  # the loop waits on its commands ...
    assert runs[0].step == 0            # ... before the first step
    commands.put(Drawn())
    until(events, RunFinished)
    assert runs[0].step == 20  # 1,000 digits, batch 50
    end(commands, thread)


def test_a_pause_while_waiting_holds_training_until_resumed(tui_data, tmp_path, monkeypatch):
    monkeypatch.setattr(bridge, "START_WAIT", 600.0)
    events, commands, runs, thread = start(tui_data, tmp_path)
    until(events, EpochStarted)
    commands.put(Pause())
    assert until(events, PauseChanged).paused
    assert commands.waiting.wait(HANG) and runs[0].step == 0
    commands.put(Resume())
    assert not until(events, PauseChanged).paused
    until(events, RunFinished)  # (no Drawn: a resumed pause means the screen is there)
    assert runs[0].step == 20
    end(commands, thread)


def test_a_screen_that_never_says_delays_training_at_most_start_wait(tui_data, tmp_path, monkeypatch):
    monkeypatch.setattr(bridge, "START_WAIT", 0.01)
    events, commands, runs, thread = start(tui_data, tmp_path, epochs=2)
    until(events, RunFinished)
    assert runs[0].step == 40
    end(commands, thread)


async def test_the_dashboard_says_drawn_once_per_run(make, monkeypatch):
    sent = []
    original = ThreadTransport.send
    monkeypatch.setattr(ThreadTransport, "send",
                        lambda self, command: (sent.append(command), original(self, command)))
    app = make(epochs=3)
    async with app.run_test(size=(120, 40)) as pilot:
        assert (await app.handled_one(lambda ev: isinstance(ev, RunFinished))).status == "finished"
        await pilot.pause()
    assert [c for c in sent if isinstance(c, Drawn)] == [Drawn()]
