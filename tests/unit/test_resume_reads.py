"""`mnist-tui --resume RUN --headless`, from the command line to the first epoch,
reads each file of the run once and checks the checkpoint once: what the resume
learned is passed along (``core.session.Resumed``), never read again."""

from __future__ import annotations

import io
import sys

from core.runfolder import CONFIG, LAST, METRICS_JSONL
from tests.reads import ReadCounter
from tests.run_folders import real_run


class _FirstEpoch(io.StringIO):
    """stdout: the counts as they were when the resumed run printed its first Train
    Epoch line (the summary at the run's end reads the metrics again, for `runs`)."""

    def __init__(self, counter: ReadCounter):
        super().__init__()
        self.counter, self.at_first_epoch = counter, None

    def write(self, text: str) -> int:
        if self.at_first_epoch is None and "Train Epoch: " in text:
            self.at_first_epoch = (self.counter.run_files(), self.counter.checks)
        return super().write(text)


def test_headless_resume_reads_each_file_once(tiny_data, tmp_path, monkeypatch):
    from tui import cli

    run = tmp_path / "r"
    real_run(run, tiny_data, epochs=1)
    counter = ReadCounter(monkeypatch, run)
    out = _FirstEpoch(counter)
    monkeypatch.setattr(sys, "stdout", out)
    assert cli.main(["--resume", str(run), "--headless", "--no-plot", "--epochs", "2"]) == 0
    assert "Test set: " in out.getvalue()  # it trained, from the checkpoint
    assert out.at_first_epoch == ({CONFIG: 1, LAST: 1, METRICS_JSONL: 1}, 1)
