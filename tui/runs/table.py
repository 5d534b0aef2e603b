"""The table of `mnist-tui runs`, without Textual: its columns, their order and filter,
and the plain-text and JSON forms. The command line (tui/runs/command.py) and the Textual table
(tui/runs/screen.py) both use it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from core.runs import DASHBOARD_OPEN, RunSummary, compare_settings, setting_text

# ------------------------------------------------------------------------- columns

SETTING_TITLES = {"model": "model", "lr": "lr", "lr_step_gamma": "lr step", "momentum": "momentum", "batch_size": "batch",
                  "test_batch_size": "test batch", "epochs": "epochs set", "seed": "seed",
                  "hidden": "hidden", "activation": "activation", "optimizer": "optimizer",
                  "limit_train": "train n", "limit_test": "test n"}
STATUS_STYLE = {"running": "bold green", "finished": "", "stopped": "yellow",
                "diverged": "bold red", "pruned": "dim", "damaged": "bold red"}


def fmt_started(ts: float | None) -> str:
    """ISO 8601 date and local time to the minute: 2026-12-03 10:26."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts is not None else "-"


def status_text(r: RunSummary) -> str:
    """The status column: ``finished (dashboard open)`` for an ended run whose dashboard
    still holds its folder."""
    return f"{r.status} ({r.reason})" if r.reason == DASHBOARD_OPEN else r.status


def fmt_duration(s: float | None) -> str:
    if s is None:
        return "-"
    s = int(round(s))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def fmt_size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"  # pragma: no cover


def _num(v: str) -> Any:
    """A setting's value sorted as a number when it is one."""
    try:
        return (0, float(v.split("→")[-1]))
    except ValueError:
        return (1, v)


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    text: Callable[[RunSummary], str]
    sort: Callable[[RunSummary], Any]
    right: bool = False


def columns_for(differ: Sequence[str], *, dataset: bool = True) -> list[Column]:
    """The table's columns, most wanted first: which run, its status and result, then a
    column per differing setting, then the rest (what a narrow terminal cuts first).
    ``dataset``: a dataset column (not when every run has the same one: see layout)."""
    def setting(k: str) -> Column:
        return Column(f"hp.{k}", SETTING_TITLES.get(k, k), lambda r: setting_text(r, k),
                      lambda r: _num(setting_text(r, k)) if r.settings else None)

    return [
        Column("name", "run", lambda r: r.name, lambda r: r.name),
        Column("status", "status", status_text, lambda r: r.status),
        Column("best", "best %", lambda r: f"{r.best_accuracy:.2f}" if r.best_accuracy is not None
               else "-", lambda r: r.best_accuracy, right=True),
        Column("best_epoch", "at", lambda r: str(r.best_epoch) if r.best_epoch is not None else "-",
               lambda r: r.best_epoch, right=True),
        Column("epochs", "epochs", lambda r: f"{r.epochs_done}/{r.epochs_planned or '?'}"
               if r.status != "damaged" or r.epochs_done else "-",
               lambda r: (r.epochs_done, r.epochs_planned or 0), right=True),
        *[setting(k) for k in differ if k != "epochs"],  # "epochs" shows the planned ones
        Column("test_loss", "test loss", lambda r: f"{r.last_test_loss:.4f}"
               if r.last_test_loss is not None else "-", lambda r: r.last_test_loss, right=True),
        Column("started", "started", lambda r: fmt_started(r.started), lambda r: r.started),
        *([Column("dataset", "dataset", lambda r: r.dataset or "-", lambda r: r.dataset)]
          if dataset else []),
        Column("duration", "time", lambda r: fmt_duration(r.duration), lambda r: r.duration,
               right=True),
        Column("size", "size", lambda r: fmt_size(r.size), lambda r: r.size, right=True),
        Column("note", "note", lambda r: "" if r.reason == DASHBOARD_OPEN else r.reason or "",
               lambda r: r.reason or None),
    ]


def sort_runs(runs: Sequence[RunSummary], column: Column, reverse: bool = False) -> list[RunSummary]:
    """Sorted by ``column``; rows without a value for it last either way."""
    have = [r for r in runs if column.sort(r) is not None]
    lack = [r for r in runs if column.sort(r) is None]
    return sorted(have, key=column.sort, reverse=reverse) + lack


def layout(runs: Sequence[RunSummary]) -> tuple[dict[str, str], list[str], list[Column]]:
    """(what every run shares, as shown above the table; the settings that differ; the
    columns). A dataset all runs share is said once above the table, not in a column."""
    same, differ = compare_settings(list(runs))
    same = {k: v for k, v in same.items() if v != "-"}  # absent in all ("train n -"): no word
    datasets = {r.dataset for r in runs if r.settings}
    shared = len(datasets) == 1 and None not in datasets
    if shared:
        same = {"dataset": str(datasets.pop()), **same}
    return same, differ, columns_for(differ, dataset=not shared)


def matches(run: RunSummary, text: str, cols: Sequence[Column]) -> bool:
    """The filter: every word typed appears in one of the row's cells or its dataset
    (any case)."""
    if not text.strip():
        return True
    cells = " ".join([*(c.text(run) for c in cols), run.dataset or ""]).lower()
    return all(word in cells for word in text.lower().split())


def same_line(same: dict[str, str]) -> str:
    return " · ".join(f"{SETTING_TITLES.get(k, k)} {v}" for k, v in same.items())


# ------------------------------------------------------------------------- plain and JSON

def plain_table(runs: Sequence[RunSummary]) -> str:
    """The table as aligned text: a line naming the settings all runs share, a header,
    then one line per run."""
    same, _differ, cols = layout(runs)
    rows = [[c.title for c in cols]] + [[c.text(r) for c in cols] for r in runs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(cols))]
    out = [f"# same in all runs: {same_line(same)}"] if same and runs else []
    for row in rows:
        cells = [cell.rjust(w) if c.right else cell.ljust(w) for c, cell, w in zip(cols, row, widths)]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def json_text(root: str, runs: Sequence[RunSummary]) -> str:
    """For scripts: numbers as JSON numbers, an absent value as null. ``settings``: the
    values in force at the end; ``started_with``: the first value of those edited."""
    same, differ = compare_settings(list(runs))
    first = next((r for r in runs if r.settings), None)
    same_values = {k: first.settings.get(k) for k in same} if first else {}
    return json.dumps({"root": root, "same": same_values, "differing": differ,
                       "runs": [r.to_dict() for r in runs]}, indent=1)
