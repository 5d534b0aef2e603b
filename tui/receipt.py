"""What the terminal shows after the dashboard closes (no Textual here)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any


#: a finished run whose best test came at least this many epochs before its end has
#: stopped improving: the receipt points to its best checkpoint instead of more epochs
PLATEAU_EPOCHS = 3


def receipt_text(folder: Path, done: int, epochs: int, best: tuple[float, int] = (0.0, -1),
                 error: str = "", *, watching: bool = False) -> str:
    """The run folder, how far it got, its best test, and the commands that continue or
    follow it, as aligned ``label: value`` lines; only what exists: no resume command
    without a checkpoint, the error alone when no run folder was written. ``done``: the
    epochs tested. A finished run still improving at its end is offered more epochs;
    one whose best test came well before (PLATEAU_EPOCHS) is pointed to its best
    checkpoint instead."""
    lines = [f"mnist-tui: error: {error}"] if error else []
    if not (folder / "config.json").exists():
        return "\n".join(lines)
    rows: list[tuple[str, str]] = [("run folder", str(folder))]
    if error:  # the run did not start (or stopped on an error): no command would help
        return "\n".join(lines + aligned(rows))
    summary = f"{done}/{epochs}" if not watching else f"{done}"
    acc, best_epoch = best
    if best_epoch >= 0:  # (accuracy %, epoch) of the best test; epoch -1: no test yet
        summary += f" · best accuracy {acc:.2f}% (epoch {best_epoch})"
    rows.append(("epochs", summary))
    path = shlex.quote(str(folder))
    finished = bool(epochs) and done >= epochs
    plateau = best_epoch >= 0 and done - best_epoch >= PLATEAU_EPOCHS
    best_file = folder / "checkpoint-best.pt"
    if best_epoch >= 0 and best_file.exists() and (plateau or not finished):
        why = (f"; the {done - best_epoch} epochs after it did no better: --epochs "
               f"{max(best_epoch, 1)} was enough" if finished else "")
        rows.append(("best model", f"{best_file} (epoch {best_epoch}{why})"))
        if finished:
            rows.append(("try it", f"mnist-tui draw --checkpoint {shlex.quote(str(best_file))}"))
    if not watching and (folder / "checkpoint-last.pt").exists():
        if not finished:
            rows.append(("continue it", f"mnist-tui --resume {path}"))
        elif not plateau:  # still improving at the end: more epochs are what would continue it
            rows.append(("train further", f"mnist-tui --resume {path} "
                                          f"--epochs {epochs + max(10, epochs // 5)}"))
    rows.append(("watch it", f"mnist-tui watch {path}"))
    return "\n".join(lines + aligned(rows))


def aligned(rows: list[tuple[str, str]]) -> list[str]:
    """``label: value`` lines, the values in one column."""
    width = max(len(label) for label, _ in rows) + 2
    return [f"{label + ':':<{width}}{value}" for label, value in rows]


def print_receipt(app: Any) -> None:
    """Print the app's receipt on the normal terminal; after a hang-up there may be none
    (writing then must not turn the exit into a traceback)."""
    try:
        text = app.receipt()
        if text:
            print(text, flush=True)
    except (OSError, ValueError):  # a closed or gone terminal
        pass
