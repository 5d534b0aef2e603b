"""Headless runs: the same run, no Textual, the tutorial's lines on stdout.

For SSH sessions and log files: plain lines only (no carriage returns), a run folder
with metrics and checkpoints, and Ctrl+C / SIGTERM / SIGHUP save a checkpoint and exit.
"""

from __future__ import annotations

import signal
import sys
from typing import Any, TextIO

from core import checkpoint, datasets
from core.config import Hyperparameters
from core.events import BatchEnd, EpochEnd, RunFinished, TestEnd
from core.network import resolve_device
from core.runfolder import LAST, RunFolder
from core.training import LOG_INTERVAL, Run, format_max_accuracy, format_test, format_train

EXIT_FOR_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


class _DownloadLines:
    """A download as a few plain lines: each file at 0, 25, 50, 75 and 100 %."""

    def __init__(self, out: TextIO):
        self.out, self.shown = out, set()

    def __call__(self, p: datasets.DownloadProgress) -> None:
        pct = int(100 * p.done / p.total) if p.total else 0
        mark = (p.filename, min(pct // 25 * 25, 100))
        if mark not in self.shown:
            self.shown.add(mark)
            size = "" if not p.total else (
                f" of {p.total / 1e6:.1f} MB" if p.total >= 100_000 else f" of {p.total:,} bytes")
            print(f"Downloading {p.filename} ({p.file_index}/{p.file_count}): {mark[1]}%{size}",
                  file=self.out, flush=True)


def run_headless(*, hparams: Hyperparameters | None, dataset: str, data_dir: str | None,
                 device: str, limit_train: int | None, limit_test: int | None, run_dir: str,
                 resume: dict[str, Any] | None = None, plot: bool = True, report: bool = False,
                 changes: dict[str, Any] | None = None, allow_download: bool = True,
                 out: TextIO = sys.stdout) -> int:
    """Train and print; returns the exit code. ``resume``: a checkpoint state to continue;
    ``changes``: hyperparameter edits applied to it (``--resume RUN --epochs 40``)."""
    got: list[int] = []

    def on_signal(signum, frame):  # noqa: ARG001
        got.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in EXIT_FOR_SIGNAL}
    try:
        data = datasets.load(dataset, data_dir, progress=_DownloadLines(out),
                             allow_download=allow_download)
        train, test = data.train.head(limit_train), data.test.head(limit_test)
        if resume is not None:
            hparams = Hyperparameters.from_dict(resume["hparams"])
        run = Run(hparams, train, test, device=resolve_device(device), classes=data.spec.classes,
                  hardest=16)  # kept in test-last.json for `mnist-tui watch`
        config = {"dataset": dataset, "data_dir": str(data.files["test_images"].parent),
                  "device": device, "limit_train": limit_train, "limit_test": limit_test,
                  "hparams": hparams.to_dict()}
        if resume is not None:
            run.load_state_dict(resume)
        folder = RunFolder(run_dir, config, resume_step=run.step if resume is not None else None)
        print(f"Run folder: {folder.path}", file=out, flush=True)
        for ev in run.apply(**(changes or {})):  # logged when run.events() yields it
            print(describe_edit(ev), file=out, flush=True)
        try:
            return _loop(run, folder, got, plot, report, out)
        finally:
            folder.close()
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def describe_edit(ev) -> str:
    """One line for a HparamsChanged: what changed, and when it takes effect."""
    from core import config as cfg

    desc = ", ".join(f"{k} {o!r} -> {n!r}" for k, (o, n) in ev.changes.items())
    return (f"Applied at step {ev.step:,}: {desc}" if ev.applied
            else f"Waiting ({cfg.EFFECT_WORDS[ev.effect]}): {desc}")


def _loop(run: Run, folder: RunFolder, got: list[int], plot: bool, report: bool, out: TextIO) -> int:
    for ev in run.events():
        folder.record(ev)
        if isinstance(ev, BatchEnd):
            if ev.batch % LOG_INTERVAL == 0:
                print(format_train(ev), file=out, flush=True)
        elif isinstance(ev, TestEnd):
            print(format_test(ev), file=out, flush=True)
            if ev.epoch > 0 or run.step == 0:
                folder.after_test(run.state_dict(), ev.accuracy)
        elif isinstance(ev, RunFinished):
            if ev.status == "diverged":
                print("Training stopped: the loss is no longer a finite number; lower the "
                      "learning rate (--lr).", file=sys.stderr, flush=True)
            print(f"Total epochs: {ev.epochs_done}", file=out)
            if ev.best_epoch >= 0:
                print(format_max_accuracy(ev.best_accuracy), file=out, flush=True)
            if plot:
                print(text_plot(run), file=out, flush=True)
            if report:
                _report(run, folder, out)
            return 0 if ev.status == "finished" else 1
        if got:
            folder.save(run.state_dict())
            folder.end("interrupted", epoch=run.epoch, signal=signal.Signals(got[0]).name)
            if report:
                _report(run, folder, out)
            print(f"Interrupted ({signal.Signals(got[0]).name}): checkpoint saved to "
                  f"{folder.path / LAST}; continue with --resume {folder.path}",
                  file=sys.stderr, flush=True)
            return EXIT_FOR_SIGNAL[got[0]]
    return 0


def _report(run: Run, folder: RunFolder, out: TextIO) -> None:
    """--report: the last test's confusion matrix and per-class accuracy, printed and
    written to the run folder (report.txt, report.json)."""
    if run.last_test is None:
        print("Report: no test has run since this process started; nothing to report.",
              file=out, flush=True)
        return
    from core.report import report_dict, report_text

    text = report_text(run.last_test, run.classes)
    txt, js = folder.write_report(text, report_dict(run.last_test, run.classes))
    print(f"\n{text}\n\nReport written to {txt} and {js}", file=out, flush=True)


def text_plot(run: Run, width: int = 100, height: int = 22) -> str:
    """The tutorial's figure as text: train loss line, test loss and accuracy points."""
    import plotext as plt

    from tui.plotdata import downsample, nice_ticks

    h = run.history
    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    plt.subplots(1, 2)
    plt.subplot(1, 1)
    plt.title("Loss")
    x, y = downsample(h.train_seen, h.train_loss, 2 * width)
    plt.plot(x, y, label="train")
    plt.scatter(h.test_seen, h.test_loss, label="test")
    plt.xlabel("number of training examples seen")
    ticks = nice_ticks(0, max([*h.train_seen[-1:], *h.test_seen[-1:], 1]), width // 16)
    plt.xticks(ticks)
    plt.subplot(1, 2)
    best, epoch = h.best
    plt.title(f"Accuracy % (best {best:.2f}, epoch {epoch})")
    plt.scatter(h.test_seen, h.test_accuracy)
    plt.xlabel("number of training examples seen")
    plt.xticks(ticks)
    return plt.uncolorize(plt.build())


def load_resume(run_dir: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config, checkpoint state) of a run folder, or CheckpointError with one line."""
    from core.runfolder import read_config

    config = read_config(run_dir)
    return config, checkpoint.load(f"{run_dir}/{LAST}")

