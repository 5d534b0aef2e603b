"""``mnist-tui sweep``: search hyperparameters with Optuna (core.sweep), headless or in
the sweep dashboard (tui.sweep.screen). Each trial is a run folder
``runs/<study>/trial-NNNN``; ``--jobs J`` trains J at once in separate processes."""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple, TextIO

from core.errors import MnistTuiError

EXIT_FOR_SIGNAL = {"SIGINT": 130, "SIGTERM": 143, "SIGHUP": 129}

EPILOG = """\
search specs (--search NAME=SPEC, any hyperparameter, repeatable):
  lr=log:0.001:1              a number on a log scale between 0.001 and 1
  momentum=0.5:0.99           a number between 0.5 and 0.99
  batch_size=int:16:256       a whole number (int: is implied for whole-number fields)
  batch_size=choice:32,50,128 one of these
  hidden=choice:100,50|200    one of these layer lists (| between the choices)
  activation=choice:sigmoid,relu,tanh   optimizer=choice:sgd,adam
without --search: {default}
  (around the tutorial's lr 0.2, momentum 0.9, batch size 50)

the objective is each trial's best test accuracy (its `Max Accuracy is` value); with
--prune a median pruner stops a trial whose accuracy after an epoch is below the median
of the completed trials' at that epoch (once {startup} have completed).

examples:
  mnist-tui sweep --trials 30 --epochs 3                 one machine, a live dashboard
  mnist-tui sweep --trials 30 --jobs 2 --headless        two trials at a time, plain lines
  mnist-tui sweep --study s --trials 20 --storage postgresql://user:pw@db/optuna
                                                       the same on each machine: one study
  mnist-tui runs runs/sweep                              every trial in the runs table
keys: enter watch a trial · p next parameter in the scatter · q stop the sweep and quit
"""


class RunFlags(NamedTuple):
    """The run flags a trial shares, as `mnist-tui` defines them (tui.cli hands them
    over: one definition, and no import back into the command that imports this)."""

    add: Callable[[argparse.ArgumentParser], None]          # adds the flags to a parser
    hparams: Callable[[argparse.Namespace], Any]            # the Hyperparameters they give


def build_sweep_parser(flags: RunFlags) -> argparse.ArgumentParser:
    from core.sweep import DEFAULT_SEARCH, PRUNER_STARTUP_TRIALS
    from tui.argparsing import Parser

    p = Parser(prog="mnist-tui sweep",
               description="Search hyperparameters with Optuna: each trial a run folder "
                           "runs/<study>/trial-NNNN (see `mnist-tui runs`, `watch`, "
                           "`--resume`); running the command again adds trials to the study.",
               epilog=EPILOG.format(default=" ".join(DEFAULT_SEARCH),
                                    startup=PRUNER_STARTUP_TRIALS),
               formatter_class=argparse.RawDescriptionHelpFormatter)
    s = p.add_argument_group("sweep")
    s.add_argument("--trials", type=int, default=20, metavar="N",
                   help="trials this command runs (default 20); the study keeps earlier ones")
    s.add_argument("--jobs", type=int, default=1, metavar="J",
                   help="trials at once on this machine, each in its own process with "
                        "1/J of the cores (default 1)")
    s.add_argument("--study", default="sweep", metavar="NAME",
                   help="the study's name; its trials go to runs/NAME/ (default sweep)")
    s.add_argument("--storage", metavar="URL",
                   help="an Optuna storage URL shared by several machines, e.g. "
                        "postgresql://user:pw@host/db (default: a journal file in runs/NAME/)")
    s.add_argument("--search", action="append", metavar="NAME=SPEC",
                   help="a searched hyperparameter (repeatable; see below)")
    s.add_argument("--prune", action=argparse.BooleanOptionalAction, default=True,
                   help="stop poor trials early with a median pruner (default on)")
    s.add_argument("--headless", action="store_true",
                   help="no dashboard: a line per finished trial, then the best (automatic "
                        "when stdout is not a terminal)")
    s.add_argument("--json", action="store_true", help="headless, and a JSON summary at the end")
    flags.add(p)
    return p


def sweep_spec(args: argparse.Namespace, flags: RunFlags):
    """A SweepSpec from the command line, every flag checked (MnistTuiError: one line)."""
    from core.config import ConfigError
    from core.session import RunSpec
    from core.sweep import SweepSpec, parse_search

    if args.trials < 1:
        raise ConfigError({"--trials": "must be 1 or more"})
    if args.jobs < 1:
        raise ConfigError({"--jobs": "must be 1 or more"})
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", args.study):
        raise ConfigError({"--study": "letters, digits, '.', '_' and '-' only (it names a folder)"})
    for flag in ("limit_train", "limit_test"):
        v = getattr(args, flag)
        if v is not None and v < 1:
            raise ConfigError({"--" + flag.replace("_", "-"): "must be 1 or more"})
    space = parse_search(args.search)
    both = [d.name for d in space if getattr(args, d.name, None) is not None]
    if both:
        flag = "--" + both[0].replace("_", "-")
        raise ConfigError({flag: f"is searched (--search {both[0]}=...); give one or the other"})
    base = RunSpec(hparams=flags.hparams(args), dataset=args.dataset, data_dir=args.data_dir,
                   device=args.device, limit_train=args.limit_train,
                   limit_test=args.limit_test, allow_download=not args.no_download)
    return SweepSpec(study=args.study, root=f"runs/{args.study}", space=space, base=base,
                     storage=args.storage, prune=args.prune)


def reproduce_flags(spec, row) -> str:
    """The `mnist-tui` command line that trains a trial again, outside the sweep: from
    what the trial recorded (an earlier run of the command may have had other flags)."""
    from core.config import FIELD_NAMES, Hyperparameters
    from core.runs import show_value
    from core.sweep import run_settings

    run = row.run or run_settings(replace(spec.base, hparams=spec.base.hparams.with_changes(
        **row.params)))
    hp = Hyperparameters.from_dict(run["hparams"])
    default = Hyperparameters()
    words = ["mnist-tui"]
    for name in FIELD_NAMES:
        v = getattr(hp, name)
        if name in row.params or v != getattr(default, name):
            words += ["--" + name.replace("_", "-"), repr(v) if isinstance(v, float) else show_value(v)]
    for flag, key, skip in (("--dataset", "dataset", "mnist"), ("--data-dir", "data_dir", None),
                            ("--limit-train", "limit_train", None),
                            ("--limit-test", "limit_test", None), ("--device", "device", "auto")):
        v = run.get(key)
        if v is not None and v != skip:
            words += [flag, str(v)]
    return " ".join(words)


def describe_params(params: dict[str, Any]) -> str:
    from core.runs import show_value

    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={show_value(v)}"
                    for k, v in params.items())


def trial_line(row: dict[str, Any]) -> str:
    """One finished trial, one line."""
    from core.events import format_max_accuracy

    acc = row["best_accuracy"]
    state = row["state"]
    if state == "complete":
        what = f"complete  {format_max_accuracy(acc)}"
    elif state == "pruned":
        what = f"pruned at epoch {row['epoch']}  (best {acc:.2f}%)"
    elif state == "stopped":
        what = f"stopped at epoch {row['epoch']} ({row['reason']})"
    else:
        what = f"failed ({row['reason']})"
    return f"Trial {row['number']}: {what}  {describe_params(row['params'])}  {row['run_dir']}"


def summary(spec, study) -> dict[str, Any]:
    """The study as the --json summary and the last lines show it."""
    from core.sweep import best_row, storage_url, trial_rows, _redact

    rows = trial_rows(study)
    best = best_row(rows)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.state] = counts.get(r.state, 0) + 1
    return {"study": spec.study, "storage": _redact(storage_url(spec)), "root": spec.root,
            "search": [str(d) for d in spec.space], "counts": counts,
            "trials": [r.to_dict() for r in rows],
            "best": None if best is None else {**best.to_dict(),
                                               "flags": reproduce_flags(spec, best)}}


def end_lines(s: dict[str, Any]) -> list[str]:
    from core.events import format_max_accuracy

    counts = ", ".join(f"{n} {state}" for state, n in s["counts"].items())
    lines = [f"Study {s['study']}: {len(s['trials'])} trials ({counts or 'none'}) in {s['storage']}"]
    b = s["best"]
    if b is None:
        lines.append("No trial has completed yet.")
    else:
        lines.append(f"Best trial: {b['number']}  {format_max_accuracy(b['best_accuracy'])}")
        lines.append(f"  {b['flags']}")
    return lines


def _say(out: TextIO | None, text: str) -> None:
    from tui.headless import Output

    Output(out).line(text)


def run_sweep_headless(spec, trials: int, jobs: int, *, as_json: bool = False,
                       out: TextIO | None = sys.stdout) -> int:
    """Start the workers, print a line per trial they finish, then the best."""
    from core.sweep import Workers
    from tui.headless import install_signal_handlers, say_error

    got: list[int] = []
    workers = Workers(spec, trials, jobs)

    def on_signal(signum, frame):  # noqa: ARG001
        got.append(signum)
        workers.stop()

    previous = install_signal_handlers(on_signal)
    code = 0
    try:
        workers.start()
        if not as_json:
            _say(out, f"Sweep {spec.study}: {trials} trials, {len(workers.procs)} at a time, "
                      f"{spec.threads or workers.spec.threads} threads each; trials in {spec.root}/")
        while workers.alive() or not workers.queue.empty():
            for msg in workers.messages(timeout=0.5):
                if msg[0] == "finished" and not as_json:
                    _say(out, trial_line(msg[1]))
                elif msg[0] == "fatal" and not code:
                    say_error(f"mnist-tui: error: {msg[1]}")
                    code = msg[2]
                    workers.stop()
        workers.join()
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    from core.sweep import open_study

    s = summary(spec, open_study(spec))
    if as_json:
        _say(out, json.dumps(s, indent=1))
    else:
        for line in end_lines(s):
            _say(out, line)
    if got:
        return 128 + got[0]
    return code


def sweep_main(argv: list[str], flags: RunFlags) -> int:
    from core.sweep import check_against_study, open_study
    from tui.headless import say_error

    args = build_sweep_parser(flags).parse_args(argv)
    try:
        spec = sweep_spec(args, flags)
        study = open_study(spec)  # a bad URL or an unreachable server: one line, now
        check_against_study(spec.space, study)
    except MnistTuiError as exc:
        say_error(f"mnist-tui: error: {exc}")
        return exc.exit_code
    headless = args.headless or args.json or sys.stdout is None or not sys.stdout.isatty()
    if headless:
        return run_sweep_headless(spec, args.trials, args.jobs, as_json=args.json)
    return run_sweep_dashboard(spec, args.trials, args.jobs)


def run_sweep_dashboard(spec, trials: int, jobs: int) -> int:
    """Start the workers (their output to runs/<study>/workers.log), then the dashboard;
    after it, the headless summary."""
    import multiprocessing.resource_tracker
    from pathlib import Path

    from core.sweep import Workers, open_study
    from tui.sweep.screen import SweepApp

    multiprocessing.resource_tracker.ensure_running()  # before Textual replaces stderr
    workers = Workers(spec, trials, jobs, log=str(Path(spec.root) / "workers.log"))
    workers.start()
    app = SweepApp(spec, trials, jobs, workers, open_study(spec))
    try:
        app.run()
    finally:
        workers.stop()
        workers.join()
    for line in end_lines(summary(spec, open_study(spec))):
        _say(sys.stdout, line)
    return app.exit_code

