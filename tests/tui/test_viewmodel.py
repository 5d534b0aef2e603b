"""The dashboard's model without a screen: the bounded train-loss series, the best test,
edits waiting and applied, digit paging."""

from __future__ import annotations

import random

import pytest

from core import config as cfg
from core.config import Hyperparameters
from core.edits import EditState
from core.events import HparamsChanged
from tui.dashboard.viewmodel import BoundedSeries, DashboardModel, Mark


def test_a_short_series_is_kept_as_it_came():
    s = BoundedSeries(limit=100)
    points = [(i * 50, 2.3 - i / 100) for i in range(60)]
    s.extend(points)
    assert list(zip(s.xs, s.ys)) == points and s.stride == 1 and s.version == 0


@pytest.mark.parametrize("n", [101, 257, 1000, 360_000])  # 360,000: 300 epochs of 1,200 steps
def test_a_long_series_stays_bounded_and_keeps_its_ends_and_its_mean(n):
    rng = random.Random(n)
    ys = [2.3 * 0.999 ** i + rng.random() * 0.1 for i in range(n)]
    xs = [50 * (i + 1) for i in range(n)]
    s = BoundedSeries(limit=100)
    for x, y in zip(xs, ys):
        s.append(x, y)
        assert len(s) <= 100
    assert s.count == n and len(s) > 25  # bounded, not emptied: at least a quarter used
    assert (s.xs[0], s.ys[0]) == (xs[0], ys[0])  # the loss before training moved
    assert s.xs[-1] == xs[-1]                   # it reaches the newest step
    assert s.xs == sorted(s.xs)
    # Every kept point after the first is the mean of `stride` steps (the last one, if
    # its run is incomplete, the newest step itself): the whole mean is kept.
    complete = (n - 1) // s.stride
    kept = s.ys[1:1 + complete]
    assert sum(kept) / complete == pytest.approx(sum(ys[1:1 + complete * s.stride]) / (complete * s.stride))
    if (n - 1) % s.stride:
        assert s.ys[-1] == ys[-1]
    # The shape: each kept point is the mean of its own run of steps.
    for k in (0, complete // 2, complete - 1):
        lo = 1 + k * s.stride
        assert kept[k] == pytest.approx(sum(ys[lo:lo + s.stride]) / s.stride)
        assert s.xs[1 + k] == xs[lo + s.stride - 1]


def test_merging_tells_caches_to_start_again():
    s = BoundedSeries(limit=8)
    s.extend((i, float(i)) for i in range(8))
    assert s.version == 0
    s.append(8, 8.0)
    assert s.version == 1 and s.stride == 2
    s.clear()
    assert len(s) == 0 and s.version == 2  # never an old version again


def test_the_best_test_is_the_earliest_of_the_highest():
    m = DashboardModel()
    assert m.best == (0.0, -1)
    for epoch, acc in enumerate([10.0, 90.0, 95.0, 95.0, 94.0]):
        m.add_test(epoch, epoch * 1000, 0.5, acc)
    assert m.best == (95.0, 2)
    m.reset_run()
    assert m.best == (0.0, -1) and m.test_acc == []


def test_edits_wait_then_apply_through_the_edit_state():
    m = DashboardModel(EditState(Hyperparameters()))
    line = m.hparams_changed(HparamsChanged(10, 1, 500, {"batch_size": (50, 100)}, cfg.NEXT_EPOCH, False))
    assert line.startswith("Waiting (") and m.pending == {"batch_size": 100}
    line = m.hparams_changed(HparamsChanged(20, 2, 1000, {"batch_size": (50, 100)}, cfg.NEXT_EPOCH, True))
    assert line == "Applied at step 20 (epoch 2): batch_size 50 → 100"
    assert m.hp.batch_size == 100 and m.pending == {} and m.marks == [Mark(1000, "batch_size 100")]
    m.wait_for_restart({"seed": 7, "lr": m.hp.lr})  # lr as it is: nothing waits for it
    assert m.pending == {"seed": 7}
    assert m.for_restart().seed == 7 and m.pending == {}


def test_digit_pages_wrap_and_only_wrong_pages_the_misclassified():
    import numpy as np

    m = DashboardModel()
    m.data_ready(np.zeros((10, 784), np.uint8).tobytes(), bytes(range(10)), tuple("0123456789"), 100)
    assert m.page_indices(4) == [0, 1, 2, 3]
    m.page = 2
    assert m.page_indices(4) == [8, 9]
    m.page = 3
    assert m.page_indices(4) == [0, 1, 2, 3] and m.page == 0
    assert m.gallery_title(4) == ("test digits: 10 · page 1/3 · n/p next/prev · m misclassified · "
                                  "f class · g page")
    # A narrower gallery leaves keys out whole, the least used first (Textual cut the
    # title mid-word: "… m misc…" at 80x24); what and which page always stay.
    assert m.gallery_title(4, 80) == ("test digits: 10 · page 1/3 · n/p next/prev · m misclassified · "
                                      "f class")  # 78 cells: all but g
    assert m.gallery_title(4, 60) == "test digits: 10 · page 1/3 · n/p next/prev"
    assert m.gallery_title(4, 20) == "test digits: 10 · page 1/3"
    for width in range(20, 100):
        assert len(m.gallery_title(4, width)) <= max(width - 2, 26)


def test_the_state_follows_the_engine_events():
    """The dashboard's state as a pure function of (state, event), without Textual."""
    from core import events as run
    from tui.engine import protocol
    from tui.dashboard.states import AppState as S
    from tui.dashboard.viewmodel import state_after

    test = run.TestEnd(1, 50, 0.5, 1, 2, (1,), (2,), ((1,),))
    path = [protocol.Loading("x"), run.RunStarted({}, "cpu", 1, 1, 1, "a", ("0",), 0, 0),
            run.EvalProgress(0, 1, 1, 1, 1), test, run.EpochStarted(1, 2, 1, 50, 50),
            protocol.PauseChanged(True, 3), run.EvalProgress(1, 1, 1, 1, 1), test,
            run.EpochStarted(2, 2, 1, 50, 50), protocol.PauseChanged(False, 3),
            run.RunFinished(run.RunStatus.FINISHED, 2, 4, 50.0, 1), protocol.EngineStopped()]
    states, state = [], S.STARTING
    for ev in path:
        state = state_after(state, ev)
        states.append(state)
    assert states == [S.LOADING, S.TESTING, S.TESTING, S.TRAINING, S.TRAINING, S.PAUSED,
                      S.PAUSED, S.PAUSED, S.PAUSED, S.TRAINING, S.FINISHED, S.FINISHED]
    assert state_after(S.TRAINING, protocol.Tick(1, 0, 1, 0, 1, 0, 0, 0.0, (), ())) == S.TRAINING
    assert state_after(S.TRAINING, protocol.EngineFailed("boom")) == S.ERROR
    assert state_after(S.FINISHED, protocol.EngineFailed("boom")) == S.FINISHED
    assert state_after(S.LOADING, protocol.EngineStopped(), error=True) == S.ERROR
    assert state_after(S.TRAINING, protocol.EngineStopped()) == S.STOPPED
    assert state_after(S.LOADING, run.DownloadProgress("f", "u", 1, 2, 1, 4)) == S.DOWNLOADING
    from tui.dashboard.viewmodel import EngineStarted

    assert state_after(S.FINISHED, EngineStarted()) == S.LOADING  # a restart


def test_the_error_follows_the_engine_events():
    """What the app reports as its error (and exit 1 or 2), a pure function too: the
    dashboard's handlers set no state of the app."""
    from core import events as run
    from tui.engine import protocol
    from tui.dashboard.viewmodel import error_after

    assert error_after("", False, protocol.Loading("x")) == ("", False)
    assert error_after("", False, protocol.EngineFailed("no data")) == ("no data", False)
    assert error_after("", False, protocol.EngineFailed("bug", "/tmp/tb.txt")) == ("bug", True)
    text, internal = error_after("", False, run.NonFiniteLoss(2, 5, 25, 1250, float("nan")))
    assert text.startswith("The loss became nan at epoch 2, step 25: ") and not internal
    assert error_after("earlier", True, protocol.EngineStopped()) == ("earlier", True)


def test_which_keys_apply():
    """The footer's keys as a pure function of the state, the engine and the model."""
    from tui.dashboard.states import AppState as S
    from tui.dashboard.viewmodel import KeyContext, key_applies

    m = DashboardModel()
    training = KeyContext(S.TRAINING, engine=True, watching=False)
    assert key_applies("toggle_pause", training, m) and not key_applies("resume", training, m)
    paused = KeyContext(S.PAUSED, engine=True, watching=False)
    assert key_applies("resume", paused, m) and not key_applies("toggle_pause", paused, m)
    loading = KeyContext(S.LOADING, engine=True, watching=False, start_paused=True)
    assert key_applies("resume", loading, m) and key_applies("next_digits", loading, m)
    watching = KeyContext(S.TRAINING, engine=True, watching=True)
    assert not any(key_applies(k, watching, m) for k in ("toggle_pause", "edit", "save", "draw"))
    assert not key_applies("confusion", training, m)  # no test yet
    assert not key_applies("edit", KeyContext(S.STARTING, engine=False, watching=False), m)
    assert key_applies("save", KeyContext(S.FINISHED, engine=True, watching=False), m)
    assert not key_applies("save", KeyContext(S.ERROR, engine=True, watching=False), m)
    assert key_applies("other_dataset", KeyContext(S.ERROR, True, False, alternatives=("kmnist",)), m)


def test_while_an_epoch_is_tested_the_run_row_keeps_its_eta_and_the_bars_their_width():
    """At an epoch's end the epoch row says the test runs and the run row keeps an ETA
    (it lost it until the next Tick, and at 60 columns the bars grew 11 cells for the
    test and shrank back after it)."""
    from types import SimpleNamespace

    from tui.dashboard.viewmodel import epoch_end_details, tick_details
    from tui.widgets.progress import shared_widths

    tick = SimpleNamespace(n_train=60000, epoch_samples=30000, epoch=3, step=3000,
                           samples_per_sec=40000.0)
    training = tick_details(tick, 25, show_eta=True, paused=False)
    testing = epoch_end_details(3, 25, 60000, 40000.0, show_eta=True)
    assert testing == ("60,000/60,000 · testing…", "3/25 epochs · ETA 0:33")  # 22 epochs left
    for width in (60, 80, 120):
        assert shared_widths(width, [("Epoch 3/25", training[0]), ("Run", training[1])]) == \
            shared_widths(width, [("Epoch 3/25", testing[0]), ("Run", testing[1])])
    assert epoch_end_details(25, 25, 60000, 40000.0, show_eta=True)[1] == "25/25 epochs"
    assert epoch_end_details(3, 25, 60000, 0.0, show_eta=True)[1] == "3/25 epochs"  # no rate yet
    assert epoch_end_details(3, 25, 60000, 40000.0, show_eta=False)[1] == "3/25 epochs"


def test_early_in_an_epoch_the_rate_and_etas_lean_on_the_last_epochs():
    """The engine's rate is the epoch's so far: after its first steps, mostly the epoch's
    start (shuffle, cold caches), and the run's ETA jumped at every epoch (1:09 for a
    moment instead of 0:23 on Fashion-MNIST). The previous epoch's rate moves over to
    the epoch's own by half-way; with none before it (the first epoch, a resumed run's
    first Ticks) the Tick's own."""
    from types import SimpleNamespace

    from tui.dashboard.viewmodel import steady_rate, tick_details

    def tick(done: int, rate: float):
        return SimpleNamespace(n_train=60000, epoch_samples=done, epoch=5, step=4 * 1200 + done // 50,
                               samples_per_sec=rate)

    first = tick(60, 9000.0)  # one step done, at a ninth of the speed
    assert steady_rate(first, 80000.0) == pytest.approx(0.002 * 9000 + 0.998 * 80000)  # 60 of 30,000
    assert steady_rate(first, 0.0) == 9000.0  # no epoch before it
    assert steady_rate(tick(15000, 70000.0), 80000.0) == pytest.approx(75000.0)  # a quarter in
    assert steady_rate(tick(30000, 70000.0), 80000.0) == 70000.0  # from half-way: its own
    assert steady_rate(tick(45000, 70000.0), 80000.0) == 70000.0
    epoch, run = tick_details(first, 25, show_eta=True, paused=False, rate=80000.0)
    assert epoch == "60/60,000 · 80,000 samples/s · ETA 0:01"
    assert run == "4/25 epochs · step 4,801 · ETA 0:16"  # (60,000 - 60 + 20 x 60,000) / 80,000
    assert tick_details(first, 25, show_eta=True, paused=False)[1].endswith("ETA 2:20")  # its own


def test_the_runs_eta_counts_the_tests_still_to_come():
    """Each epoch ends with a test, which the training rate knows nothing of: on
    Fashion-MNIST here a test took half as long as an epoch's training, and the run's
    ETA was a third short. The model times each epoch's test (EpochEnd to TestEnd) and
    the run's ETA adds the tests to come at that time; the epoch's ETA is its training."""
    from types import SimpleNamespace

    from core.events import TestEnd
    from tui.dashboard.viewmodel import DashboardModel

    m = DashboardModel(EditState(Hyperparameters(epochs=25)))
    m.n_train = 60000
    assert m.epoch_ended(3, 40000.0, show_eta=True, now=100.0)[1] == "3/25 epochs · ETA 0:33"
    m.test_ended(TestEnd(3, 180000, 0.3, 9000, 10000, (), (), ()), now=100.5)  # 0.5 s
    assert m.test_seconds == 0.5
    tick = SimpleNamespace(n_train=60000, epoch_samples=30000, epoch=4, step=3600,
                           samples_per_sec=40000.0)
    epoch, run = m.tick_details(tick, show_eta=True, paused=False)
    assert epoch.endswith("ETA 0:01")  # 30,000 samples at 40,000 a second: no test in it
    # 30,000 + 21 x 60,000 samples at 40,000 a second, then 22 tests (epoch 4's too) of 0.5 s
    assert run.endswith("ETA 0:43")  # 32.25 s + 11 s (without the tests: 0:32)
    # at epoch 4's end: 21 epochs' training, 31.5 s, and 22 tests (this one, now running)
    assert m.epoch_ended(4, 40000.0, show_eta=True, now=200.0)[1] == "4/25 epochs · ETA 0:43"
    m.test_ended(TestEnd(0, 0, 2.3, 1000, 10000, (), (), ()))  # (a test with no EpochEnd before it)
    assert 0 < m.test_seconds  # timed by the clock from epoch 4's end
    m.reset_run()  # a restart: nothing timed yet
    assert m.test_seconds == 0.0 and m.test_from is None
