"""``mnist-tui``: the command line."""

from __future__ import annotations

import os
import signal
import sys

try:  # Ctrl+C while even these load: exit 130, quietly, as at any later moment
    import argparse
    from pathlib import Path
    from typing import TYPE_CHECKING

    # Only light modules here: main() installs its signal handlers before anything slow
    # (numpy, PyTorch) is imported.
    from core.errors import ConfigError, MnistTuiError
    from tui.argparsing import Parser, say_error
except KeyboardInterrupt:
    raise SystemExit(130) from None

if TYPE_CHECKING:
    from core.config import Hyperparameters

EXAMPLES = """\
examples:
  mnist-tui                                  train the tutorial network on MNIST, live
  mnist-tui --dataset fashion-mnist          the same on Fashion-MNIST
  mnist-tui --data-dir ~/mnist --limit-train 8000 --epochs 5
  mnist-tui --hidden 256,128 --activation relu --lr 0.05
  mnist-tui --model cnn                      pytorch/examples' CNN (Adadelta lr 1, StepLR 0.7, batch 64)
  mnist-tui --headless --run-dir runs/a      no dashboard: the tutorial's lines (e.g. under nohup)
  mnist-tui watch runs/a                     follow that run live in the dashboard, read-only
  mnist-tui --resume runs/a                  continue a stopped run where it stopped

keys: space pause · e edit · r restart · n next digits · m misclassified · z zoom
      o smooth · l log scale · c confusion matrix · h hardest · w inside the network
      d draw a digit · s save · ? help · q quit
data: files are looked for in --data-dir, then $MNIST_TUI_CACHE/<dataset> (default
~/.cache/mnist-tui/<dataset>), then /usr/share/datasets/<dataset> (Debian); else downloaded.
"""


def build_parser() -> argparse.ArgumentParser:
    from core import __version__

    p = Parser(prog="mnist-tui", description="Train the MNIST tutorial network and watch it learn "
                "in your terminal. `mnist-tui watch RUN_DIR` follows a run that another "
                "process is writing (see mnist-tui watch --help).", epilog=EXAMPLES,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"mnist-tui {__version__}")
    add_run_flags(p)
    _add_display_flags(p)
    return p


def add_run_flags(p: argparse.ArgumentParser) -> None:
    """The hyperparameter, data and device flags (shared with `mnist-tui sweep`)."""
    from core.config import ACTIVATIONS, MODELS, OPTIMIZERS, Hyperparameters
    from core.datafiles import REGISTRY

    d = Hyperparameters()
    h = p.add_argument_group("hyperparameters (defaults: the tutorial's)")
    # default None: a flag given on the command line is told apart (--resume applies it)
    h.add_argument("--lr", type=str, help=f"learning rate (default {d.lr})")
    h.add_argument("--momentum", type=str, help=f"(default {d.momentum})")
    h.add_argument("--batch-size", type=str, help=f"(default {d.batch_size})")
    h.add_argument("--test-batch-size", type=str, help=f"(default {d.test_batch_size})")
    h.add_argument("--epochs", type=str, help=f"(default {d.epochs}; with --resume: run until then)")
    h.add_argument("--hidden", type=str, help="hidden layer sizes (default 100,50)")
    h.add_argument("--activation", type=str, help=f"{', '.join(ACTIVATIONS)} (default {d.activation})")
    h.add_argument("--optimizer", type=str, help=f"{', '.join(OPTIMIZERS)} (default {d.optimizer})")
    h.add_argument("--model", type=str,
                   help=f"{', '.join(MODELS)}: the tutorial's network, or pytorch/examples' "
                        "mnist CNN with its settings as defaults (adadelta, lr 1.0, "
                        "lr-step-gamma 0.7, batch 64, 14 epochs)")
    h.add_argument("--lr-step-gamma", type=str, metavar="GAMMA",
                   help=f"multiply the learning rate by GAMMA after every epoch (StepLR; "
                        f"default {d.lr_step_gamma:g}, constant; cnn 0.7)")
    h.add_argument("--seed", type=str, help=f"(default {d.seed})")
    g = p.add_argument_group("data and device")
    g.add_argument("--dataset", choices=list(REGISTRY), default="mnist")
    g.add_argument("--data-dir", metavar="DIR", help="folder holding the four IDX files")
    g.add_argument("--limit-train", type=int, metavar="N", help="use only the first N training images")
    g.add_argument("--limit-test", type=int, metavar="N", help="use only the first N test images")
    g.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, mps")
    g.add_argument("--no-download", action="store_true", help="fail instead of downloading")


def _add_display_flags(p: argparse.ArgumentParser) -> None:
    u = p.add_argument_group("display")
    u.add_argument("--ascii", action="store_true", help="draw digits with plain ASCII characters")
    u.add_argument("--run-dir", metavar="DIR",
                   help="the run folder: config, metrics, checkpoints (default ./runs/<time>)")
    u.add_argument("--resume", metavar="RUN_DIR",
                   help="continue the run saved in RUN_DIR (with --run-dir DIR: continue it in "
                        "the new folder DIR and leave RUN_DIR as it is)")
    u.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --run-dir (refused without it)")
    u.add_argument("--headless", action="store_true",
                   help="no dashboard: print the tutorial's lines (automatic when stdout is not a terminal)")
    u.add_argument("--no-plot", action="store_true", help="headless: no text plot at the end")
    u.add_argument("--report", action="store_true",
                   help="headless: print the confusion matrix and per-class accuracy at the end "
                        "and write them to the run folder (report.txt, report.json)")


FLAG_OF = {"lr": "--lr", "momentum": "--momentum", "batch_size": "--batch-size",
           "test_batch_size": "--test-batch-size", "epochs": "--epochs", "hidden": "--hidden",
           "activation": "--activation", "optimizer": "--optimizer", "seed": "--seed",
           "model": "--model", "lr_step_gamma": "--lr-step-gamma"}


def hparams_from_args(args: argparse.Namespace) -> Hyperparameters:
    """Parse and validate every hyperparameter flag; ConfigError names the flags."""
    from core.config import FIELD_NAMES, MODELS, Hyperparameters, parse_field

    values, problems = {}, {}
    model = (args.model or "mlp").strip().lower()
    if model not in MODELS:
        raise ConfigError({"--model": f"must be one of {', '.join(MODELS)}"})
    defaults = Hyperparameters.defaults(model)  # the model's own; each flag overrides one
    for name in FIELD_NAMES:
        given = getattr(args, name)
        if given is None:
            values[name] = getattr(defaults, name)
            continue
        try:
            values[name] = parse_field(name, given)
        except ConfigError as exc:
            problems[FLAG_OF[name]] = exc.problems[name]
    if not problems:
        for name, why in Hyperparameters(**values).problems().items():
            problems[FLAG_OF[name]] = why
    if problems:
        raise ConfigError(problems)
    return Hyperparameters(**values)


def build_watch_parser() -> argparse.ArgumentParser:
    p = Parser(prog="mnist-tui watch", description="Open the dashboard read-only on a run "
                "that another process (a headless run, say under nohup) is writing, and follow "
                "it live: progress, plots, log, digits and the analysis views.",
                epilog="example:\n  nohup mnist-tui --headless --run-dir runs/big > big.log &\n"
                       "  mnist-tui watch runs/big",
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", metavar="RUN_DIR", nargs="?",
                   help="the run folder (--run-dir of that run; default: the newest under ./runs)")
    p.add_argument("--ascii", action="store_true", help="draw digits with plain ASCII characters")
    return p


def watch_main(argv: list[str]) -> int:
    args = build_watch_parser().parse_args(argv)
    if args.run_dir is None:  # the newest run folder under ./runs
        runs = sorted((os.path.getmtime(p), str(p)) for p in Path("runs").glob("*/config.json")
                      if os.path.isfile(p))  # (a dangling link, a pipe: not a run's config)
        runs = [Path(p) for _, p in runs]
        if not runs:
            say_error("mnist-tui: error: no run folder under ./runs; pass RUN_DIR")
            return 2
        args.run_dir = str(runs[-1].parent)
    from core.runfolder import read_config
    from tui.engine.watch import FolderTransport, waits_for_run

    config = None
    try:
        if not waits_for_run(args.run_dir):  # a folder yet to appear is waited for
            config = read_config(args.run_dir)  # read once: the follower starts from it
    except MnistTuiError as exc:
        return _error(exc)
    if not sys.stdout.isatty():
        say_error(f"mnist-tui: error: watch needs a terminal; without one, follow "
                  f"{args.run_dir}/metrics.csv (tail -f)")
        return 2
    from tui.dashboard.app import MnistTuiApp
    from tui.engine.bridge import RunSpec

    transport = FolderTransport(args.run_dir, config)
    transport.start()
    app = MnistTuiApp(RunSpec(), ascii=args.ascii, watch=args.run_dir, transport=transport)
    try:
        app.run()
    finally:
        transport.close()  # (a no-op once the app has closed it)
    from tui.dashboard.receipt import print_receipt

    print_receipt(app)  # never raises (a terminal gone after a hang-up)
    return 1 if app.state == "error" else 0


def check_device(name: str) -> None:
    """--device by its form, without PyTorch (whether that device is there is asked when
    the run starts)."""
    import re

    if not re.fullmatch(r"auto|cpu|cuda(:[0-9]{1,3})?|mps(:0)?", name):
        raise ConfigError({"--device": f"{name!r} is not a device mnist-tui trains on "
                                       f"(auto, cpu, cuda, cuda:N, mps)"})


def flagged(exc: ConfigError) -> ConfigError:
    """The same problems, named by their command-line flags."""
    return ConfigError({FLAG_OF.get(k, k): v for k, v in exc.problems.items()})


def given_hparams(args: argparse.Namespace, hp: Hyperparameters) -> dict:
    """The hyperparameters given on the command line (with --resume: edits to the run)."""
    from core.config import FIELD_NAMES

    return {n: getattr(hp, n) for n in FIELD_NAMES if getattr(args, n) is not None}


def _ended_by_signal(signum: int, frame) -> None:  # noqa: ARG001
    """SIGTERM before a run has its own handlers (modules and PyTorch still loading):
    end as the run would, 143, with nothing on stderr. Inside a Textual app without a
    handler of its own (`runs`, `draw`), the signal does what it did before (an exception
    raised into its event loop would leave the app half stopped)."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no event loop: unwind, running the cleanups on the way
        raise SystemExit(128 + signum) from None
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def main(argv: list[str] | None = None) -> int:
    """The command; returns its exit code. Ctrl+C or SIGTERM at any moment ends it with
    130 / 143 and no traceback (even while PyTorch is being imported): the handlers are
    installed first; a run replaces them with its own (save a checkpoint, then exit)."""
    previous = None
    try:
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            previous = signal.signal(signal.SIGTERM, _ended_by_signal)
    except ValueError:  # not the main thread (a test calling main from a thread)
        pass
    try:
        return _main(sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt:
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _error(exc: MnistTuiError) -> int:
    say_error(f"mnist-tui: error: {exc}")
    return exc.exit_code


def _main(argv: list[str]) -> int:
    if argv[:1] == ["watch"]:
        return watch_main(argv[1:])
    if argv[:1] == ["runs"]:
        from tui.runs.command import runs_main

        return runs_main(argv[1:])

    if argv[:1] == ["sweep"]:
        from tui.sweep.command import RunFlags, sweep_main

        return sweep_main(argv[1:], RunFlags(add_run_flags, hparams_from_args))
    if argv[:1] == ["draw"]:
        from tui.draw.app import draw_main

        return draw_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        hp = hparams_from_args(args)
        for flag in ("limit_train", "limit_test"):
            v = getattr(args, flag)
            if v is not None and v < 1:
                raise ConfigError({"--" + flag.replace("_", "-"): "must be 1 or more"})
        check_device(args.device)
        headless = args.headless or sys.stdout is None or not sys.stdout.isatty()
        spec = spec_from_args(args, hp, in_this_process=headless)
    except MnistTuiError as exc:
        return _error(exc)

    if headless:
        from tui.headless import run_headless

        return run_headless(spec, plot=not args.no_plot, report=args.report, out=sys.stdout)

    return _dashboard(spec, args)


def _dashboard(spec, args: argparse.Namespace) -> int:
    """The training process starts first, and imports PyTorch and loads the data while
    this process imports Textual and paints the first frame."""
    import multiprocessing.resource_tracker

    from core.runfolder import check_folder
    from tui.engine.bridge import ProcessTransport

    try:
        check_folder(spec.run_dir)  # a link planted in it: one line, before the screen
    except MnistTuiError as exc:
        return _error(exc)
    # Textual replaces stderr; the resource tracker must start before it does.
    multiprocessing.resource_tracker.ensure_running()
    transport = ProcessTransport(spec)
    transport.start()
    from tui.dashboard.app import MnistTuiApp
    from tui.dashboard.receipt import print_receipt

    app = MnistTuiApp(spec, ascii=args.ascii, transport=transport)
    try:
        app.run()
    finally:
        transport.close()  # (a no-op once the app has closed it)
    print_receipt(app)  # never raises (a terminal gone after a hang-up)
    if app.exit_signal:
        return app.exit_signal
    if app.state == "error":
        return 1 if app.error_internal else 2
    return 0


def spec_from_args(args: argparse.Namespace, hp: Hyperparameters, *, in_this_process: bool):
    """What to run, checked, with its run folder decided: a damaged run folder or
    checkpoint to resume, or edits it cannot take, are one line here, before any
    training or screen starts. What the resume read is passed along in the spec
    (``RunSpec.resumed``): nothing is read twice.

    For the dashboard (not ``in_this_process``) only the checkpoint's plain fields are
    read here (its hyperparameters, shown from the first frame): the dashboard's own
    process never imports PyTorch. The training process checks the rest and the edits,
    and the dashboard shows that check's answer (exit 2 on leaving)."""
    from dataclasses import replace

    from core.datafiles import check_data_dir, get_spec
    from core.edits import resume_edits
    from core.session import RunSpec, read_resume

    if args.data_dir is not None:  # as headless says it, before a dashboard opens
        check_data_dir(args.data_dir, get_spec(args.dataset))
    spec = RunSpec(hparams=hp, dataset=args.dataset, data_dir=args.data_dir, device=args.device,
                   limit_train=args.limit_train, limit_test=args.limit_test,
                   run_dir=args.run_dir, allow_download=not args.no_download,
                   overwrite=args.overwrite)
    if not args.resume:
        return spec.placed()
    resumed = read_resume(args.resume, load=in_this_process)
    changes = given_hparams(args, hp)
    if in_this_process:
        try:
            changes = resume_edits(resumed.hparams, resumed.epoch, bool(resumed.batch_in_epoch),
                                   changes)
        except ConfigError as exc:
            raise flagged(exc) from None
    return replace(spec, hparams=resumed.hparams, resume=args.resume, resume_changes=changes,
                   resumed=resumed).placed()


if __name__ == "__main__":
    sys.exit(main())
