"""The metrics format (core.metrics): every row kind made from its event and read back
into it, the rules (best accuracy, end status), and one run's train-loss curve the same
through every reader: the live dashboard, the resumed dashboard, watch and the overlay."""

from __future__ import annotations

import json
import queue
import threading

import pytest

from core.config import Hyperparameters
from core.events import (BatchEnd, EpochEnd, HparamsChanged, LayerStat, LayerStats, RunFinished,
                         RunStarted, RunStatus, TestEnd)
from core.metrics import (LOG_INTERVAL, ROW_FIELDS, TrainLogged, best_test, end_status,
                          event_for, improves, parse_row, read_rows, row_for, train_curve)
from core.runfolder import RunFolder
from tests.helpers import write_split

EVENTS = [
    RunStarted({"lr": 0.2, "hidden": [100, 50]}, "cpu", 600, 200, 84060, "784-100-50-10 sigmoid",
               ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"), 1, 12),
    TestEnd(epoch=1, seen=600, avg_loss=0.25, correct=3, total=4, per_class_correct=(1, 2),
            per_class_total=(2, 2), confusion=((1, 1), (0, 2))),
    EpochEnd(2, 1200, 24, 0.5, 1.25, 1.1),
    HparamsChanged(30, 2, 1500, {"lr": (0.2, 0.05), "hidden": ((100, 50), (64,))}, "live", True),
    RunFinished(RunStatus.FINISHED, 3, 36, 97.5, 2),
    LayerStats(2, 24, 1200, (LayerStat("layers.0", (100, 784), 11.5, 0.2, 0.001, 0.4, 0.05),
                             LayerStat("layers.4", (10, 50), 8.0, None, None, None, None)),
               activation="tanh"),
]


def _through_the_file(row):
    return parse_row(json.dumps(row).encode() + b"\n")


@pytest.mark.parametrize("ev", EVENTS, ids=lambda e: type(e).__name__)
def test_each_event_comes_back_from_its_row(ev):
    step = 12 if isinstance(ev, TestEnd) else 0
    row = _through_the_file(row_for(ev, step))
    assert row is not None and row["kind"] in ROW_FIELDS
    assert event_for(row, "tanh") == ev
    assert row_for(event_for(row, "tanh"), step) == row  # and the row from it again


def test_train_rows_every_log_interval_and_back():
    def batch(b):
        return BatchEnd(2, b, 300, 50, (b + 1) * 50, 15000, 15000 + (b + 1) * 50, 300 + b + 1,
                        1234.56, 0.125)

    assert row_for(batch(LOG_INTERVAL + 1)) is None  # between two logged steps: no row
    row = _through_the_file(row_for(batch(LOG_INTERVAL)))
    back = event_for(row)
    assert back == TrainLogged(2, 401, 20050, 0.125, 100, 300, 50, 5050, 15000, 1234.6)
    assert back.line == "Train Epoch: 2 [5000/15000 (33%)]\tLoss: 0.125000"
    assert train_curve([row]) == [(20050, 0.125, 20050 / 15000)]


def test_every_kind_written_is_covered():
    """A kind added to the format without a round trip here fails this test."""
    kinds = {row_for(ev, 0)["kind"] for ev in EVENTS} | {"train"}
    assert kinds == set(ROW_FIELDS)


def test_the_best_accuracy_rule():
    assert improves(90.0, None) and improves(90.5, 90.0)
    assert not improves(90.0, 90.0)  # the first of equal bests stays
    assert not improves(float("nan"), None)
    assert best_test([(80.0, 0), (92.0, 1), (92.0, 2), (91.0, 3)]) == (92.0, 1)
    assert best_test([]) is None


def test_end_statuses():
    assert end_status("finished") == (RunStatus.FINISHED, "")
    assert end_status("interrupted", "SIGTERM") == (RunStatus.STOPPED, "interrupted: terminated (SIGTERM)")
    assert end_status("exploded") == (RunStatus.STOPPED, "ended as 'exploded'")
    ev = event_for({"kind": "end", "status": "interrupted", "epoch": 2, "step": 9, "signal": "quit"})
    assert ev == RunFinished(RunStatus.STOPPED, 2, 9, 0.0, -1)


# --------------------------------------------------- one curve, whoever reads the folder

@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_split(tmp_path_factory.mktemp("metrics-data"), 1000, 200)


def _live(spec):
    """The dashboard's training process, in a thread: the Ticks' points until the end."""
    from tui.engine.bridge import engine_loop
    from tui.engine.protocol import Drawn, Quit, Tick

    events: queue.Queue = queue.Queue()
    commands: queue.Queue = queue.Queue()
    commands.put(Drawn())  # (no screen: training need not wait for one)
    thread = threading.Thread(target=engine_loop, args=(spec, events.put, commands), daemon=True)
    thread.start()
    points = []
    while True:
        ev = events.get(timeout=120)
        if isinstance(ev, Tick):
            points.extend(ev.points)
        if isinstance(ev, RunFinished):
            break
    commands.put(Quit())
    thread.join(30)
    return points


def test_one_folder_draws_one_train_loss_curve(data, tmp_path):
    from core.session import RunSpec, open_session
    from core.runs import load_curves
    from tui.engine.bridge import backfill
    from tui.engine.watch import _Translator

    run_dir = tmp_path / "run"
    spec = RunSpec(hparams=Hyperparameters(epochs=2, batch_size=4), data_dir=str(data),
                   allow_download=False, run_dir=str(run_dir))
    live = _live(spec)
    assert len(live) == 2 * 3  # 250 steps an epoch: logged at steps 0, 100 and 200

    rows, _ = read_rows(run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    watched = [p for ev in _Translator(run_dir, config).translate(rows)
               for p in getattr(ev, "points", ())]

    curves = load_curves(run_dir)
    overlay = list(zip(curves.train_seen, curves.train_loss))

    session = open_session(RunSpec(resume=str(run_dir), allow_download=False))
    try:
        resumed = list(backfill(session.run, session.past, str(run_dir)).train_points)
    finally:
        session.close()

    assert live == watched == overlay == resumed
    assert [p[0] for p in live] == [4, 404, 804, 1004, 1404, 1804]
