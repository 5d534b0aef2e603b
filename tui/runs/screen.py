"""The table of `mnist-tui runs` on a terminal: RunsScreen and its thin App."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker, WorkerState

from core.errors import MnistTuiError
from core.runs import (
    DASHBOARD_OPEN, RunSummary, compare_settings, label, load_curves, scan, summarise,
)
from core.safewrite import remove_folder
from tui.runs.table import (
    STATUS_STYLE, Column, columns_for, fmt_size, layout, matches, same_line, sort_runs,
    status_text,
)
from tui.runs.compare import CompareScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.fitfooter import FitFooterScreen
from tui.widgets.footer import KeyFooter
from tui.widgets import toasts
from tui.widgets.runsfilter import RunsFilter

LIVE_SECONDS = 1.0   # running rows are read again this often
RESCAN_SECONDS = 5.0  # and the folder tree, for new or removed runs


class RunsScreen(FitFooterScreen):
    DEFAULT_CSS = """
    RunsScreen > #runs-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    RunsScreen > #runs-same { height: auto; padding: 0 1; color: $text-muted; }
    RunsScreen > #runs-filter { height: 1; border: none; padding: 0 1; }
    RunsScreen > DataTable { height: 1fr; }
    RunsScreen > #runs-detail { height: auto; max-height: 3; padding: 0 1; background: $panel; }
    """
    BINDINGS = [
        Binding("space", "toggle_select", "Select"),
        Binding("c", "compare", "Compare"),
        Binding("s", "sort_next", "Sort"),
        Binding("S", "sort_reverse", "Reverse", show=False),
        Binding("slash", "filter", "Filter"),
        Binding("v", "columns", "Columns"),
        Binding("w", "watch", "Watch"),
        Binding("r", "resume", "Resume"),
        Binding("d", "delete", "Delete"),
        Binding("q", "quit", "Quit"),
    ]
    # The footer keeps q Quit: "/ Filter" leaves it below 100 columns (the filter line
    # says it), Sort and Select below 80 (all still work).
    FOOTER_FITS = ((100, frozenset({"filter"})), (80, frozenset({"sort_next", "toggle_select"})))

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        self.runs: dict[str, RunSummary] = {}  # by path
        self.selected: set[str] = set()
        self.filter_text = ""
        self.sort_key = "started"
        self.reverse = False
        self.cols: list[Column] = columns_for([])   # every column (the filter reads them all)
        self.hidden: set[str] = set()               # the keys of those the user hid (v)
        self.same: dict[str, str] = {}
        self.differ: list[str] = []
        self.shown: list[RunSummary] = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static(f"Runs in {self.root}: reading…", id="runs-title")
        yield Static("", id="runs-same")
        yield RunsFilter(placeholder="/ filter: the rows holding every word typed (Enter: keep, "
                         "Esc: clear)", id="runs-filter")
        table: DataTable = DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="runs-detail")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.load_all()
        self.set_interval(LIVE_SECONDS, self.refresh_live)
        self.set_interval(RESCAN_SECONDS, self.load_all)

    # ---------------------------------------------------------------- reading (threads)
    @work(thread=True, exclusive=True, group="scan", exit_on_error=False)
    def load_all(self) -> None:
        runs = scan(self.root, dict(self.runs))  # ended, unchanged runs are not read again
        self.app.call_from_thread(self.set_runs, runs)

    @work(thread=True, exclusive=True, group="live", exit_on_error=False)
    def refresh_live(self) -> None:
        paths = [p for p, r in self.runs.items() if r.status == "running" or r.pid is not None]
        if not paths:
            return
        now = time.time()
        fresh = [summarise(p, self.root, now=now) for p in paths]
        self.app.call_from_thread(self.update_runs, fresh)

    def set_runs(self, runs: list[RunSummary]) -> None:
        new = {r.path: r for r in runs}
        if not self.loaded or set(new) != set(self.runs):
            self.runs = new
            self.selected &= set(new)
            self.loaded = True
            self.rebuild()
        else:
            self.update_runs(runs)

    def update_runs(self, fresh: list[RunSummary]) -> None:
        """Rows whose run changed: redrawn in place while the columns and statuses stay
        (a running row changes every second: no re-sort, no jump of the view); else
        the table is built again."""
        changed = [r for r in fresh if r.path in self.runs and self.runs[r.path] != r]
        if not changed:
            return
        in_place = all(self.runs[r.path].status == r.status for r in changed)
        for r in changed:
            self.runs[r.path] = r
        if not in_place or compare_settings(list(self.runs.values()))[1] != self.differ:
            self.rebuild()
            return
        table = self.query_one(DataTable)
        shown = {r.path for r in self.shown}
        self.shown = [self.runs[r.path] for r in self.shown]
        for r in changed:
            if r.path in shown:
                cols = self.visible()
                cells = row_cells(r, cols, r.path in self.selected)
                for key, cell in zip(["sel", *(c.key for c in cols)], cells):
                    table.update_cell(r.path, key, cell, update_width=True)  # never cut short
        self.show_detail()

    # ---------------------------------------------------------------- the table
    def column(self, key: str) -> Column:
        return next((c for c in self.cols if c.key == key), self.cols[0])

    def visible(self) -> list[Column]:
        """The columns shown: all but those hidden with v (the run's name always)."""
        return [c for c in self.cols if c.key == "name" or c.key not in self.hidden]

    def rebuild(self) -> None:
        runs = list(self.runs.values())
        self.same, self.differ, self.cols = layout(runs)
        cols = self.visible()
        if self.sort_key not in {c.key for c in cols}:
            self.sort_key = "started" if "started" in {c.key for c in cols} else "name"
        cur = self.current()
        keep = cur.path if cur else None
        self.shown = [r for r in sort_runs(runs, self.column(self.sort_key), self.reverse)
                      if matches(r, self.filter_text, self.cols)]
        table = self.query_one(DataTable)
        scroll = table.scroll_offset
        with self.app.batch_update():
            fill_table(table, cols, self.shown, self.selected, self.sort_key, self.reverse)
            if keep is not None and keep in {r.path for r in self.shown}:
                table.move_cursor(row=table.get_row_index(keep), animate=False, scroll=False)
            table.call_after_refresh(table.scroll_to, scroll.x, scroll.y, animate=False)
            self.show_header()
            self.show_detail()
        self.refresh_bindings()

    def show_header(self) -> None:
        title, same = header_texts(self.root, self.runs, len(self.shown), self.filter_text,
                                   len(self.selected), self.same)
        self.query_one("#runs-title", Static).update(title)
        self.query_one("#runs-same", Static).update(same)

    def current(self) -> RunSummary | None:
        table = self.query_one(DataTable)
        if not self.shown or table.row_count == 0:
            return None
        try:
            key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        except Exception:  # noqa: BLE001 - no row under the cursor
            return None
        return self.runs.get(key)

    def show_detail(self) -> None:
        self.query_one("#runs-detail", Static).update(detail_text(self.current()))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:  # one line, never a traceback
            self.notify(f"reading the runs failed: {type(event.worker.error).__name__}: "
                        f"{event.worker.error}".splitlines()[0], severity="error")

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.show_detail()
        self.refresh_bindings()

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key == "sel":
            return
        if key == self.sort_key:
            self.reverse = not self.reverse
        else:
            self.sort_key, self.reverse = key, False
        self.rebuild()

    # ---------------------------------------------------------------- keys
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if isinstance(self.focused, Input) and action not in ("quit",):
            return None if action in ("compare", "watch", "resume", "delete", "columns") else True
        r = self.current()
        if action in ("toggle_select", "watch"):
            return r is not None and r.status != "damaged" or None
        if action == "resume":  # a running one: refused with a word, in action_resume
            return r is not None and r.status != "damaged" or None
        if action == "delete":
            return r is not None or None
        if action == "compare":
            return bool(self.selected) or (r is not None and r.status != "damaged") or None
        return True

    def action_toggle_select(self) -> None:
        r = self.current()
        if r is None:
            return
        self.selected ^= {r.path}
        table = self.query_one(DataTable)
        table.update_cell(r.path, "sel", row_cells(r, [], r.path in self.selected)[0])
        table.action_cursor_down()
        self.show_header()
        self.refresh_bindings()

    def action_sort_next(self) -> None:
        keys = [c.key for c in self.visible()]
        i = keys.index(self.sort_key) if self.sort_key in keys else -1
        self.sort_key, self.reverse = keys[(i + 1) % len(keys)], False
        self.rebuild()

    def action_sort_reverse(self) -> None:
        self.reverse = not self.reverse
        self.rebuild()

    def action_columns(self) -> None:
        from tui.screens.columns import ColumnsScreen

        self.app.push_screen(ColumnsScreen([(c.key, c.title) for c in self.cols],
                                           {c.key for c in self.visible()}), self._columns_chosen)

    def _columns_chosen(self, shown: set[str] | None) -> None:
        self.hidden = {c.key for c in self.cols if c.key not in (shown or set())}
        self.rebuild()

    def action_filter(self) -> None:  # the focus now, not after a refresh (see on_key)
        self.set_focus(self.query_one(RunsFilter))

    @on(Input.Changed, "#runs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.rebuild()

    @on(Input.Submitted, "#runs-filter")
    def _filter_done(self) -> None:
        self.query_one(DataTable).focus()

    def on_key(self, event) -> None:
        """The filter's keys, handled here as they arrive: keys typed in one burst
        after "/" (a paste, a fast typist, tmux send-keys) were queued for the table
        before the focus moved, and reach this screen in order; a binding would act
        on "/" only after them."""
        field = self.query_one(RunsFilter)
        if self.focused is not field:
            if event.key == "slash":
                event.stop()
                self.action_filter()
        elif field.take(event):
            event.stop()
            if event.key in ("escape", "enter"):
                self._filter_done()

    def action_compare(self) -> None:
        chosen = runs_to_compare(self.shown, self.runs, self.selected, self.current())
        if not chosen:
            self.notify("Select runs with space first (damaged ones have no curves).")
            return
        names = compare_names(chosen)
        self.app.push_screen(CompareScreen([(n, load_curves(r.path)) for n, r in zip(names, chosen)]))

    def action_watch(self) -> None:
        r = self.current()
        if r is not None and r.status != "damaged":
            self.app.launch(["watch", r.path])

    def action_resume(self) -> None:
        r = self.current()
        if r is None:
            return
        if r.status == "running":
            self.notify(f"{r.name} is running: watch it with w instead.", severity="warning")
            return
        if r.status != "damaged":
            self.app.launch(["--resume", r.path])

    def action_delete(self) -> None:
        r = self.current()
        if r is None:
            return
        refused = delete_refused(r, self.root)
        if refused:
            self.notify(refused, severity="error")
            return
        self.app.push_screen(
            ConfirmScreen(f"Delete the run folder {r.path} ({fmt_size(r.size)})? Its metrics "
                          "and checkpoints go with it; this cannot be undone."),
            lambda yes: self._delete(r) if yes else None)

    def _delete(self, r: RunSummary) -> None:
        refused = delete_refused(r, self.root)  # held by a run (or a dashboard) since asked?
        if refused:
            self.notify(f"{refused} Not deleted.", severity="error")
            return
        try:
            remove_folder(self.root, r.path)  # follows no link out of the root
        except MnistTuiError as exc:
            self.notify(str(exc), severity="error")
            return
        self.runs.pop(r.path, None)
        self.selected.discard(r.path)
        self.rebuild()
        self.notify(f"Deleted {r.path}")

    def action_quit(self) -> None:
        self.app.exit()


def header_texts(root: Path, runs: dict[str, RunSummary], shown: int, filter_text: str,
                 selected: int, same: Any) -> tuple[str, str]:
    """The table's title (how many runs, by status; the filter; the selection) and the
    line of settings all runs share."""
    n = len(runs)
    counts: dict[str, int] = {}
    for r in runs.values():
        counts[r.status] = counts.get(r.status, 0) + 1
    parts = ", ".join(f"{v} {k}" for k, v in counts.items())
    matching = f" (showing {shown} matching “{filter_text}”)" if filter_text else ""
    sel = f" · {selected} selected" if selected else ""
    title = (f"Runs in {root}: {n}{' — ' + parts if parts else ''}{matching}{sel}" if n else
             f"Runs in {root}: no run folders yet (mnist-tui --run-dir {root}/NAME writes one)")
    line = (f"same in all: {same_line(same)}" if same and n > 1 else
            (f"settings: {same_line(same)}" if same else ""))
    return title, line


def detail_text(r: RunSummary | None) -> str:
    """The line under the table: the highlighted run's folder and status."""
    if r is None:
        return ""
    text = f"{r.path} · {status_text(r)}"
    if r.pid is not None and r.pid > 0:
        text += f" (pid {r.pid})"
    if r.reason and r.reason != DASHBOARD_OPEN:
        text += f": {r.reason}"
    return text


def compare_names(chosen: list[RunSummary]) -> list[str]:
    """The runs' names on the overlay: each folder's name, with what differs between
    them (``base: lr 0.1``); settings alone left two runs edited alike, or a run and
    its restart, under one name."""
    _same, differ = compare_settings(chosen)
    return [f"{r.name}: {label(r, differ)}" if differ else r.name for r in chosen]


def fill_table(table: DataTable, cols: list[Column], runs: list[RunSummary], selected: set[str],
               sort_key: str, reverse: bool) -> None:
    """The table anew: the selection mark's column, ``cols`` (the sorted one with an
    arrow), a row per run."""
    table.clear(columns=True)
    table.add_column(" ", key="sel", width=1)
    for c in cols:
        arrow = (" ▼" if reverse else " ▲") if c.key == sort_key else ""
        table.add_column(Text(c.title + arrow, justify="right" if c.right else "left"), key=c.key)
    for r in runs:
        table.add_row(*row_cells(r, cols, r.path in selected), key=r.path)


def row_cells(r: RunSummary, cols: list[Column], selected: bool) -> list[Any]:
    """The table's cells of run ``r``: the selection mark, then each column's text."""
    out: list[Any] = [Text("●", style="bold cyan") if selected else ""]
    for c in cols:
        style = STATUS_STYLE.get(r.status, "") if c.key == "status" else ""
        out.append(Text(c.text(r), style=style, justify="right" if c.right else "left"))
    return out


def runs_to_compare(shown: list[RunSummary], runs: dict[str, RunSummary], selected: set[str],
                    current: RunSummary | None) -> list[RunSummary]:
    """The selected runs (as shown, else all selected), else the highlighted one; never
    a damaged one (it has no curves)."""
    chosen = [r for r in shown if r.path in selected] or \
             [r for r in runs.values() if r.path in selected]
    if not chosen and current is not None:
        chosen = [current]
    return [r for r in chosen if r.status != "damaged"]


def delete_refused(r: RunSummary, root: Path) -> str | None:
    """Why the run folder ``r`` may not be deleted now, or None."""
    fresh = summarise(r.path, root)
    if fresh.status == "running":
        return f"{r.name} is running (pid {fresh.pid}); stop it before deleting it."
    if fresh.pid is not None:
        return (f"{r.name} has ended, but its dashboard (pid {fresh.pid}) still holds the "
                f"folder; quit it (q) before deleting the run.")
    if find_run_dirs_below(Path(r.path)):
        return f"{r.name} holds other folders; delete those first."
    return None


def find_run_dirs_below(path: Path) -> list[Path]:
    """Sub-folders of a run folder (a delete would take them too)."""
    try:
        return [p for p in path.iterdir() if p.is_dir()]
    except OSError:
        return []


class RunsApp(App[list[str] | None]):
    """A thin shell around RunsScreen. ``launcher`` runs a mnist-tui command line
    (``["watch", DIR]``); by default under App.suspend, coming back to the table."""

    TITLE = "mnist-tui runs"
    CSS = toasts.CSS
    ENABLE_COMMAND_PALETTE = False  # it would offer nothing here; its footer room shows "q Quit" at 80 columns

    def __init__(self, root: str | os.PathLike,
                 launcher: Callable[[list[str]], Any] | None = None) -> None:
        super().__init__()
        self.root = Path(root)
        self.launcher = launcher

    def get_default_screen(self) -> Screen:
        return RunsScreen(self.root)

    def launch(self, args: list[str]) -> None:
        if self.launcher is not None:
            self.launcher(args)
        else:
            try:
                with self.suspend():
                    subprocess.call([sys.executable, "-m", "tui.cli", *args])
            except SuspendNotSupported:
                self.exit(args)  # runs_main runs it in this process's place
                return
        screen = self.screen
        if isinstance(screen, RunsScreen):
            screen.load_all()
