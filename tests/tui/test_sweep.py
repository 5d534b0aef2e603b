"""The sweep dashboard on a study read from its storage: the trials table (the best
highlighted), the plots, importance, enter on a trial, q stopping the workers."""

from __future__ import annotations

import threading
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial
from textual.widgets import DataTable, Static

from core.session import RunSpec
from core.sweep import SweepSpec, open_study, parse_search
from tests.tui.waiting import workers_done
from tui.sweep.screen import SweepApp, SweepScreen
from tui.widgets.sweepplots import BestSoFarPlot, ScatterPlot


class FakeWorkers:
    """What SweepApp needs of core.sweep.Workers, without processes."""

    def __init__(self, alive: bool = True):
        self.stopped = threading.Event()
        self._alive = alive
        self.queue = self

    def empty(self) -> bool:
        return True

    def messages(self, timeout: float) -> list:
        self.stopped.wait(timeout)  # a stop wakes the follower at once
        return []

    def alive(self) -> bool:
        return self._alive and not self.stopped.is_set()

    def stop(self) -> None:
        self.stopped.set()


def _study(tmp_path: Path) -> tuple[SweepSpec, optuna.Study]:
    spec = SweepSpec(study="s", root=str(tmp_path / "runs" / "s"), base=RunSpec(),
                     space=parse_search(["lr=log:0.01:1", "activation=choice:sigmoid,relu"]))
    study = open_study(spec)
    lr = FloatDistribution(0.01, 1, log=True)
    act = CategoricalDistribution(["sigmoid", "relu"])
    for i, (state, acc, a) in enumerate([(TrialState.COMPLETE, 91.5, "sigmoid"),
                                         (TrialState.COMPLETE, 97.25, "relu"),
                                         (TrialState.PRUNED, 40.0, "sigmoid"),
                                         (TrialState.FAIL, None, "relu"),
                                         (TrialState.RUNNING, 88.0, "relu")]):
        run_dir = tmp_path / f"trial-{i}"
        run_dir.mkdir()
        attrs = {"run_dir": str(run_dir), "host": "h"}
        if state == TrialState.FAIL:
            attrs.update(status="stopped", reason="SIGINT")
        study.add_trial(create_trial(
            state=state, value=acc if state == TrialState.COMPLETE else None,
            params={"lr": 0.1 * (i + 1), "activation": a}, distributions={"lr": lr, "activation": act},
            intermediate_values={1: acc} if acc is not None else {}, user_attrs=attrs))
    return spec, study


async def _rows_shown(pilot, table: DataTable) -> None:
    for _ in range(500):  # the follower's first read of the study (bounded: never hangs)
        if table.row_count == 5:
            return
        await pilot.pause()
    raise AssertionError(f"{table.row_count} rows shown")


def _cells(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


@pytest.mark.parametrize("size", [(120, 40), (80, 24), (60, 20)])
async def test_the_table_shows_every_trial_and_highlights_the_best(tmp_path, size):
    spec, study = _study(tmp_path)
    workers = FakeWorkers()
    app = SweepApp(spec, 5, 2, workers, study)
    async with app.run_test(size=size) as pilot:
        table = app.screen.query_one(DataTable)
        await _rows_shown(pilot, table)
        rows = _cells(table)
        assert [r[:2] for r in rows] == [["0", "complete"], ["1", "complete"], ["2", "pruned"],
                                          ["3", "stopped"], ["4", "running"]]
        assert rows[1][2:] == ["97.25", "1", "0.2", "relu"]
        assert "bold" in str(table.get_row_at(1)[0].style)  # the best, highlighted
        title = str(app.screen.query_one("#sweep-title", Static).render())
        assert "best #1 97.25%" in title
        assert app.screen.query_one(ScatterPlot).size.height >= 5
        assert app.screen.query_one(BestSoFarPlot).size.width >= 20
        await pilot.press("q")  # the workers are asked to stop; the app leaves once they have
        await workers_done(app)
        assert workers.stopped.is_set() and app.return_code is not None


async def test_enter_watches_the_trial_under_the_cursor(tmp_path):
    spec, study = _study(tmp_path)
    app = SweepApp(spec, 5, 2, FakeWorkers(), study)
    launched = []
    app.launch = launched.append
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(DataTable)
        await _rows_shown(pilot, table)
        table.focus()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert launched == [["watch", str(tmp_path / "trial-1")]]
        await pilot.press("p")
        assert isinstance(app.screen, SweepScreen) and app.screen.param == 1
