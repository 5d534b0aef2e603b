"""Checkpoints: one dict (model, optimizer, hyperparameters, position, RNG states,
history), written atomically so a kill at any moment leaves the previous one readable."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from core.errors import MnistTuiError

FORMAT = "mnist-tui-checkpoint"


class CheckpointError(MnistTuiError):
    """A checkpoint is missing, damaged, or not one of ours."""


def atomic_write_bytes(path: Path, write) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, fsync, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def save(state: dict[str, Any], path: str | os.PathLike) -> Path:
    path = Path(path)
    import torch  # here, not at the top: the run folder's other writers need no PyTorch

    atomic_write_bytes(path, lambda f: torch.save(state, f))
    return path


def load(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        import torch

        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a damaged file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable checkpoint ({first[:120]})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an mnist-tui checkpoint")
    if state.get("version") != 1:
        raise CheckpointError(f"{path}: checkpoint version {state.get('version')} is not supported")
    return state
