"""Counting what is read: every reader of a run folder opens its files through
``core.safeio.open_regular``; ``ReadCounter`` counts those opens per file name, and the
checkpoint checks (``core.checkpoint.check``) made."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from core import checkpoint, safeio
from core.runfolder import CONFIG, LAST, METRICS_JSONL

RUN_FILES = (CONFIG, LAST, METRICS_JSONL)


class ReadCounter:
    def __init__(self, monkeypatch, folder: Path):
        self.folder = Path(folder).resolve()
        self.opens: Counter[str] = Counter()
        self.checks = 0
        open_regular, check = safeio.open_regular, checkpoint.check

        def counted_open(path, **kw):
            p = Path(path)
            if p.parent.resolve() == self.folder:
                self.opens[p.name] += 1
            return open_regular(path, **kw)

        def counted_check(*args, **kw):
            self.checks += 1
            return check(*args, **kw)

        monkeypatch.setattr(safeio, "open_regular", counted_open)
        monkeypatch.setattr(checkpoint, "check", counted_check)

    def run_files(self) -> dict[str, int]:
        """Opens of config.json, the checkpoint and metrics.jsonl (0 for one not opened)."""
        return {name: self.opens[name] for name in RUN_FILES}

    def reset(self) -> None:
        self.opens.clear()
        self.checks = 0
