"""The sweep's dashboard: a live table of trials (the best highlighted), the best
accuracy so far against trial number, each searched value against accuracy, and
parameter importance once enough trials have completed; enter watches a trial.

``SweepApp`` is a thin shell: one thread worker follows the study (what its worker
processes report, and the study's storage, where other machines' trials appear too)
and posts a ``SweepChanged`` the screen shows."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from core.sweep import SweepSpec, TrialRow, best_row
from tui.widgets.footer import KeyFooter
from tui.widgets import toasts
from tui.widgets.sweepplots import BestSoFarPlot, ScatterPlot

POLL_SECONDS = 1.0  # the storage is read at most this often (sooner when a worker reports)
STATE_STYLE = {"running": "bold green", "complete": "", "pruned": "dim", "failed": "bold red",
               "stopped": "yellow"}


class SweepChanged(Message):
    """The study as read now; ``running``: workers of this command still at work;
    ``problem``: a worker's fatal error."""

    def __init__(self, rows: list[TrialRow], importance: dict[str, float], running: bool,
                 problem: str = "") -> None:
        super().__init__()
        self.rows, self.importance, self.running, self.problem = rows, importance, running, problem


def _cell(v: Any) -> str:
    from core.runs import show_value

    return f"{v:.4g}" if isinstance(v, float) else show_value(v)


class SweepScreen(Screen[None]):
    DEFAULT_CSS = """
    SweepScreen > #sweep-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    SweepScreen > #sweep-importance { height: auto; max-height: 2; padding: 0 1; color: $text-muted; }
    SweepScreen > DataTable { height: 1fr; min-height: 3; }
    SweepScreen > #sweep-plots { height: 45%; min-height: 6; }
    SweepScreen #sweep-plots > * { width: 1fr; }
    """
    BINDINGS = [
        Binding("w", "watch", "Watch"),  # and enter (the table's own: on_row_selected)
        Binding("p", "next_param", "Param"),
        Binding("q", "quit_sweep", "Quit"),
    ]

    def __init__(self, spec: SweepSpec, trials: int, jobs: int) -> None:
        super().__init__()
        self.spec, self.trials, self.jobs = spec, trials, jobs
        self.rows: list[TrialRow] = []
        self.importance: dict[str, float] = {}
        self.param = 0
        self.running = True
        self.problem = ""

    def compose(self) -> ComposeResult:
        yield Static(id="sweep-title")
        yield Static(id="sweep-importance")
        table = DataTable(id="sweep-trials", cursor_type="row", zebra_stripes=True)
        from tui.runs.table import SETTING_TITLES

        # best % first: a narrow terminal cuts the searched values, not the answer
        table.add_columns("trial", "state", "best %", "epoch",
                          *(SETTING_TITLES.get(d.name, d.name) for d in self.spec.space))
        yield table
        with Horizontal(id="sweep-plots"):
            yield BestSoFarPlot(id="sweep-best")
            yield ScatterPlot(id="sweep-scatter")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.show()

    @on(SweepChanged)
    def changed(self, msg: SweepChanged) -> None:
        self.rows, self.importance, self.running = msg.rows, msg.importance, msg.running
        self.problem = msg.problem or self.problem
        self.show()

    def show(self) -> None:
        best = best_row(self.rows)
        with self.app.batch_update():
            self._title(best)
            self._table(best)
            self.query_one(BestSoFarPlot).replot(self.rows)
            self.query_one(ScatterPlot).replot(self.rows, self._dim())

    def _dim(self):
        return self.spec.space[self.param % len(self.spec.space)] if self.spec.space else None

    def _title(self, best: TrialRow | None) -> None:
        counts: dict[str, int] = {}
        for r in self.rows:
            counts[r.state] = counts.get(r.state, 0) + 1
        parts = [f"Sweep {self.spec.study}"]
        if best is not None:
            parts.append(f"best #{best.number} {best.best_accuracy:.2f}%")
        parts.append(f"{len(self.rows)} trials")
        parts += [f"{n} {s}" for s, n in counts.items()]
        if self.problem:
            parts.append(self.problem)
        elif not self.running:
            parts.append("done")
        self.query_one("#sweep-title", Static).update(" · ".join(parts))
        imp = self.importance
        self.query_one("#sweep-importance", Static).update(
            "importance: " + " · ".join(f"{k} {v:.2f}" for k, v in imp.items()) if imp else
            f"{self.jobs} at a time · importance after 5 complete trials")

    def _table(self, best: TrialRow | None) -> None:
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        for r in self.rows:
            style = "bold reverse green" if best is not None and r.number == best.number else \
                STATE_STYLE.get(r.state, "")
            cells = [str(r.number), r.state,
                     "-" if r.best_accuracy is None else f"{r.best_accuracy:.2f}", str(r.epoch),
                     *(_cell(r.params.get(d.name)) for d in self.spec.space)]
            table.add_row(*(Text(c, style=style) for c in cells), key=str(r.number))
        if self.rows:
            table.move_cursor(row=min(keep, len(self.rows) - 1))

    def action_next_param(self) -> None:
        self.param += 1
        self.query_one(ScatterPlot).replot(self.rows, self._dim())

    @on(DataTable.RowSelected)
    def on_row_selected(self) -> None:
        self.action_watch()

    def action_watch(self) -> None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row >= len(self.rows):
            return
        r = self.rows[table.cursor_row]
        if not r.run_dir or not Path(r.run_dir).is_dir():
            self.notify(f"Trial {r.number} ran on {r.host or 'another machine'}; its folder "
                        f"is not here.", severity="warning")
            return
        self.app.launch(["watch", r.run_dir])

    def action_quit_sweep(self) -> None:
        self.app.quit_sweep()


class SweepApp(App[None]):
    """The sweep's workers run in their own processes; this app follows the study."""

    TITLE = "mnist-tui sweep"
    CSS = toasts.CSS
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, spec: SweepSpec, trials: int, jobs: int, workers: Any, study: Any) -> None:
        super().__init__()
        self.spec, self.trials, self.jobs = spec, trials, jobs
        self.workers_ = workers
        self.study = study
        self.exit_code = 0
        self.quitting = False

    def get_default_screen(self) -> Screen:
        self.sweep_screen = SweepScreen(self.spec, self.trials, self.jobs)
        return self.sweep_screen

    def on_mount(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if sig == signal.SIGHUP and signal.getsignal(sig) == signal.SIG_IGN:
                continue  # nohup
            signal.signal(sig, self._on_signal)
        self.follow()

    def _on_signal(self, signum: int, frame: Any) -> None:  # noqa: ARG002
        self.exit_code = 128 + signum
        self.quitting = True
        self.workers_.stop()  # the follower exits once they have ended

    def quit_sweep(self) -> None:
        if self.quitting or not self.workers_.alive():
            self.exit()
            return
        self.quitting = True
        self.workers_.stop()
        self.notify("Stopping: running trials end as 'stopped'; q again leaves now.")

    @work(thread=True, exclusive=True, exit_on_error=False)
    def follow(self) -> None:
        from textual.worker import get_current_worker

        from core.sweep import importance, trial_rows

        me = get_current_worker()
        problem, complete = "", -1
        imp: dict[str, float] = {}
        while not me.is_cancelled:
            for msg in self.workers_.messages(timeout=POLL_SECONDS):
                if msg[0] == "fatal":
                    problem = msg[1]
                    self.exit_code = self.exit_code or msg[2]
                    self.workers_.stop()
            running = self.workers_.alive()
            rows = trial_rows(self.study)
            done = sum(r.state == "complete" for r in rows)
            if done != complete:  # importance is refitted only when it can change
                complete, imp = done, importance(self.study)
            self.sweep_screen.post_message(SweepChanged(rows, imp, running, problem))
            if not running and self.quitting:
                self.call_from_thread(self.exit)
                return
            # (done: the table stays, following trials other machines may still run)

    def launch(self, args: list[str]) -> None:
        try:
            with self.suspend():
                subprocess.call([sys.executable, "-m", "tui.cli", *args])
        except SuspendNotSupported:
            self.notify(f"mnist-tui {' '.join(args)} (in another terminal)")

