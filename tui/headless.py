"""Headless runs: the same run, no Textual, the tutorial's lines on stdout.

For SSH sessions and log files: plain lines only (no carriage returns), a run folder
with metrics and checkpoints. Ctrl+C, SIGTERM and a hang-up save a checkpoint and exit
(a hang-up is left ignored when the run was started under nohup); output that goes away
(``| head``, a closed terminal) saves a checkpoint and ends quietly.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any, TextIO

from core import datafiles
from core.errors import MnistTuiError, WriteError
from core.driver import drive, interrupt
from core.events import HparamsChanged, RunFinished
from core.runfolder import LAST
from core.session import RunSpec, Session, open_session
from tui import argparsing

EXIT_OK, EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_WRITE = 0, 2, 3, WriteError.exit_code
EXIT_FOR_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129,
                   signal.SIGPIPE: 141}


class Output:
    """Lines to stdout that can never fail the run: once stdout is gone (a closed pipe,
    a terminal that hung up), ``gone`` is set and nothing more is written there."""

    def __init__(self, out: TextIO | None):
        self.out, self.gone = out, out is None

    def line(self, text: str) -> None:
        if self.gone:
            return
        try:
            print(text, file=self.out, flush=True)
        except (BrokenPipeError, OSError, ValueError):
            self.gone = True
            _silence(self.out)


def _silence(stream: TextIO | None) -> None:
    """Point a dead stream at /dev/null, so that the interpreter's final flush does not
    print 'Exception ignored ... BrokenPipeError'."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


say_error = argparsing.say_error  # one line on stderr, never raising


class _DownloadLines:
    """A download as a few plain lines: each file at 0, 25, 50, 75 and 100 %."""

    def __init__(self, out: Output):
        self.out, self.shown = out, set()

    def __call__(self, p: datafiles.DownloadProgress) -> None:
        pct = int(100 * p.done / p.total) if p.total else 0
        mark = (p.filename, min(pct // 25 * 25, 100))
        if mark not in self.shown:
            self.shown.add(mark)
            size = "" if not p.total else (
                f" of {p.total / 1e6:.1f} MB" if p.total >= 100_000 else f" of {p.total:,} bytes")
            self.out.line(f"Downloading {p.filename} ({p.file_index}/{p.file_count}): {mark[1]}%{size}")


def install_signal_handlers(on_signal) -> dict[int, Any]:
    """SIGINT, SIGTERM and SIGHUP call ``on_signal``; a SIGHUP ignored when we started
    (nohup) stays ignored. Returns the previous handlers."""
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if sig == signal.SIGHUP and signal.getsignal(sig) == signal.SIG_IGN:
            continue  # nohup: the user asked to survive the session
        previous[sig] = signal.signal(sig, on_signal)
    return previous


def run_headless(spec: RunSpec, *, plot: bool = True, report: bool = False,
                 out: TextIO | None = sys.stdout) -> int:
    """Train and print; returns the exit code (see EXIT_* and EXIT_FOR_SIGNAL)."""
    got: list[int] = []
    output = Output(out)

    def on_signal(signum, frame):  # noqa: ARG001
        got.append(signum)

    previous = install_signal_handlers(on_signal)
    try:
        try:
            session = open_session(spec, progress=_DownloadLines(output))
        except MnistTuiError as exc:
            say_error(f"mnist-tui: error: {exc}")
            return exc.exit_code
        try:
            output.line(f"Run folder: {session.path}")
            return _loop(session, got, output, plot, report)
        except WriteError as exc:
            say_error(f"mnist-tui: error: {exc}")
            return exc.exit_code
        finally:
            session.close()
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _loop(session: Session, got: list[int], out: Output, plot: bool, report: bool) -> int:
    """``core.driver.drive``'s events as the tutorial's lines; a signal (or the output
    gone) saves and ends the run with its end row."""
    from core.training import format_max_accuracy
    from tui.dashboard.viewmodel import edit_line

    run = session.run
    start_step = run.step
    logged = [r for r in session.past if r["kind"] == "train"]  # the train-loss curve's rows
    for d in drive(session):
        ev = d.event
        if d.write_error is not None:
            raise d.write_error
        if d.row is not None and d.row["kind"] == "train":
            logged.append(d.row)
        if d.line is not None:
            out.line(d.line)
        elif isinstance(ev, HparamsChanged):
            out.line(edit_line(ev))
        elif isinstance(ev, RunFinished):
            if ev.status == "diverged":
                say_error("Training stopped: the loss is no longer a finite number; lower the "
                          "learning rate (--lr).")
            out.line(f"Total epochs: {ev.epochs_done}")
            if session.resumed and ev.step == start_step and ev.status == "finished":
                out.line(f"The run had already finished its {ev.epochs_done} epochs: "
                         f"--resume {session.path} --epochs {ev.epochs_done + 10} trains it further.")
            if ev.best_epoch >= 0:
                out.line(format_max_accuracy(ev.best_accuracy))
            if plot:
                out.line(text_plot(run, logged))
            if report:
                _report(session, out)
            return EXIT_OK if ev.status == "finished" else EXIT_DIVERGED
        if out.gone and not got:
            got.append(signal.SIGPIPE)  # the reader went away: save, and end quietly
        if got:
            sig = signal.Signals(got[0])
            interrupt(session, sig.name, save=True)
            if report:
                _report(session, out)
            if sig != signal.SIGPIPE:
                say_error(f"Interrupted ({sig.name}): checkpoint saved to "
                          f"{session.path / LAST}; continue with --resume {session.path}")
            return EXIT_FOR_SIGNAL[sig]
    return EXIT_OK


def _report(session: Session, out: Output) -> None:
    """--report: the last test's confusion matrix and per-class accuracy, printed and
    written to the run folder (report.txt, report.json)."""
    run = session.run
    if run.last_test is None:
        out.line("Report: no test has run since this process started; nothing to report.")
        return
    from core.report import report_dict, report_text

    text = report_text(run.last_test, run.classes)
    txt, js = session.folder.write_report(text, report_dict(run.last_test, run.classes))
    out.line(f"\n{text}\n\nReport written to {txt} and {js}")


def text_plot(run, train_rows: list[dict[str, Any]], width: int = 100, height: int = 22) -> str:
    """The tutorial's figure as text: the train loss (``core.metrics.train_curve`` of the
    run's train rows, the curve the dashboard draws) as a line, test loss and accuracy
    as points.

    Told apart without colour (a log file, a pipe): a braille line and x marks, named in
    the titles (no legend over the data). Each y label sits on the row that stands for
    it, and each point on the row nearest its value (tui.render.plotdata.row_axis)."""
    import plotext as plt

    from core.metrics import train_curve
    from tui.render.plotdata import downsample, nice_ticks, plot_rows, row_axis

    h = run.history
    curve = train_curve(train_rows)
    train_seen, train_loss = [p.seen for p in curve], [p.loss for p in curve]
    rows = plot_rows(height, xlabel=True)
    most = max(2, rows // 3)
    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    plt.subplots(1, 2)
    plt.subplot(1, 1)
    plt.title("Loss (⣀ train, x test)")
    x, y = downsample(train_seen, train_loss, 2 * width)
    losses = [*y, *h.test_loss]
    if losses:
        axis = row_axis(min(losses), max(losses), rows, most=most, floor=0.0)
        plt.ylim(axis.lo, axis.hi)
        plt.yticks(axis.ticks, axis.labels)
        if x:
            plt.plot(x, axis.braille(y), marker="braille")
        plt.scatter(h.test_seen, h.test_loss, marker="x")
    plt.xlabel("number of training examples seen")
    x_hi = max([*train_seen[-1:], *h.test_seen[-1:], 1])
    ticks = nice_ticks(0, x_hi, width // 16)
    plt.xlim(0, x_hi)
    plt.xticks(ticks)
    plt.subplot(1, 2)
    best, epoch = h.best
    plt.title(f"Accuracy % (best {best:.2f}, epoch {epoch})")
    if h.test_accuracy:
        axis = row_axis(min(h.test_accuracy), max(h.test_accuracy), rows, most=most,
                        floor=0.0, ceiling=100.0)
        plt.ylim(axis.lo, axis.hi)
        plt.yticks(axis.ticks, axis.labels)
        plt.scatter(h.test_seen, h.test_accuracy, marker="x")
    plt.xlabel("number of training examples seen")
    plt.xlim(0, x_hi)
    plt.xticks(ticks)
    return plt.uncolorize(plt.build())
