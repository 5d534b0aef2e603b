"""What the terminal shows after the dashboard closes (no Textual here)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any


def receipt_text(folder: Path, done: int, epochs: int, best: tuple[float, int] = (0.0, -1),
                 error: str = "", *, watching: bool = False) -> str:
    """The run folder, how far it got, its best test, and the commands that continue or
    follow it; only what exists: no resume command without a checkpoint, the error
    alone when no run folder was written. ``done``: the epochs tested."""
    lines = [f"mnist-tui: error: {error}"] if error else []
    if not (folder / "config.json").exists():
        return "\n".join(lines)
    lines.append(f"run folder: {folder}")
    if error:  # the run did not start (or stopped on an error): no command would help
        return "\n".join(lines)
    summary = f"{done}/{epochs} epochs" if not watching else f"{done} epochs"
    if best[1] >= 0:  # (accuracy %, epoch) of the best test; epoch -1: no test yet
        summary += f" · best accuracy {best[0]:.2f}% (epoch {best[1]})"
    lines.append(summary)
    path = shlex.quote(str(folder))
    if not watching and (folder / "checkpoint-last.pt").exists():
        if epochs and done >= epochs:  # finished: more epochs are what would continue it
            lines.append(f"train it further: mnist-tui --resume {path} --epochs {epochs + 10}")
        else:
            lines.append(f"continue it: mnist-tui --resume {path}")
    lines.append(f"watch it:    mnist-tui watch {path}")
    return "\n".join(lines)


def print_receipt(app: Any) -> None:
    """Print the app's receipt on the normal terminal; after a hang-up there may be none
    (writing then must not turn the exit into a traceback)."""
    try:
        text = app.receipt()
        if text:
            print(text, flush=True)
    except (OSError, ValueError):  # a closed or gone terminal
        pass
