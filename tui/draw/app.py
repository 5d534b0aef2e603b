"""``mnist-tui draw --checkpoint PATH_OR_RUN_DIR``: draw a digit and ask a saved network,
without training. The checkpoint is loaded and the network run off the UI thread
(thread workers); PyTorch is imported there, not when the screen opens."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from textual import work
from textual.app import App
from textual.binding import Binding
from textual.message_pump import MessagePump

from core.errors import MnistTuiError
from tui.argparsing import say_error
from tui.draw.screen import DrawingPredicted, DrawScreen, ModelStatus
from tui.widgets import toasts


class DrawArgumentError(MnistTuiError):
    """A --checkpoint that is not a checkpoint or a run folder."""


@dataclass(frozen=True)
class Source:
    checkpoint: Path
    run_dir: Path  # where drawings are kept: the run folder, or the checkpoint's folder
    dataset: str


def resolve(path: str | os.PathLike) -> Source:
    """The checkpoint file, run folder and dataset named by ``--checkpoint``: a run folder
    (its ``checkpoint-last.pt``) or a checkpoint file (its folder's ``config.json``, if
    any, names the dataset; MNIST otherwise). Checked without PyTorch."""
    from core.runfolder import CONFIG, LAST, read_config

    from core import safeio

    p = Path(path)
    if os.path.isdir(p):
        checkpoint, run_dir = p / LAST, p
        try:
            os.stat(checkpoint)
        except FileNotFoundError:
            raise DrawArgumentError(f"{p}: no {LAST} in this folder; is it an mnist-tui run "
                                    f"folder?") from None
        except OSError as exc:
            raise DrawArgumentError(f"{checkpoint}: cannot be read ({safeio.why(exc)})") from None
    elif os.path.lexists(p):
        checkpoint, run_dir = p, p.parent
    else:
        raise DrawArgumentError(f"{p}: no such checkpoint file or run folder")
    from core.checkpoint import check_file

    check_file(checkpoint)  # a file cut short or damaged: one line, before any screen
    dataset = "mnist"
    if os.path.lexists(run_dir / CONFIG):
        dataset = str(read_config(run_dir).get("dataset", "mnist"))
    return Source(checkpoint, run_dir, dataset)


class LocalPredictor:
    """Runs a network loaded from a checkpoint, in a thread worker per request (the
    newest request cancels older ones, which then go unanswered)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.model = None
        self.epoch = self.step = 0
        self._waiting: tuple[np.ndarray, MessagePump] | None = None

    def ready(self, model, epoch: int, step: int) -> None:
        """The network is loaded (called from the loading thread)."""
        with self._lock:
            self.model, self.epoch, self.step = model, epoch, step
            waiting, self._waiting = self._waiting, None
        if waiting is not None:
            waiting[1].call_later(self.request, *waiting)

    def request(self, image: np.ndarray, reply_to: MessagePump) -> None:
        with self._lock:
            if self.model is None:
                self._waiting = (image.copy(), reply_to)
                return
        reply_to.run_worker(lambda: self._predict(image.copy(), reply_to), thread=True,
                            exclusive=True, group="draw-predict", exit_on_error=False)

    def _predict(self, image: np.ndarray, reply_to: MessagePump) -> None:
        from textual.worker import get_current_worker

        from core.training import image_probabilities  # as the training process answers

        probs = image_probabilities(self.model, np.ascontiguousarray(image, np.uint8).tobytes())
        if not get_current_worker().is_cancelled:
            reply_to.post_message(DrawingPredicted(probs, self.epoch, self.step))


def load_model(checkpoint: Path):
    """(model in eval mode, epoch, step) from a checkpoint; CheckpointError if unusable."""
    from core import checkpoint as ckpt
    from core.config import Hyperparameters
    from core.network import build_model

    state = ckpt.load(checkpoint)
    ckpt.check(state, checkpoint)  # as a resume checks it: NaN weights, wrong shapes ...
    try:
        model = build_model(Hyperparameters.from_dict(state["hparams"]))
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, ValueError, RuntimeError, MnistTuiError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ckpt.CheckpointError(f"{checkpoint}: its network cannot be rebuilt ({first[:120]})") from None
    model.eval()
    return model, int(state.get("epoch", 0)), int(state.get("step", 0))


class DrawApp(App[None]):
    TITLE = "mnist-tui draw"
    CSS = toasts.CSS
    # As in the dashboard and the runs table: it would offer nothing of this app's (its
    # keys are on screen), and random keys into it ended in a traceback (issue 25).
    ENABLE_COMMAND_PALETTE = False
    # q leaves as everywhere else in mnist-tui (esc also does); the label dialog's text
    # field takes its own q first.
    BINDINGS = [Binding("q", "quit", "Quit")]

    def __init__(self, source: Source, *, ascii: bool = False, loaded: tuple | None = None) -> None:
        """``loaded``: the checkpoint's (model, epoch, step), loaded already (the command
        line loads it before the screen opens); else it is loaded behind the screen."""
        super().__init__()
        self.source = source
        self.ascii = ascii
        self.loaded = loaded
        self.predictor = LocalPredictor()
        self.failed = False
        self.error = ""

    def on_mount(self) -> None:
        self.draw_screen = DrawScreen(self.predictor, run_dir=self.source.run_dir, ascii=self.ascii,
                                      note=f"loading {self.source.checkpoint} …")
        self.push_screen(self.draw_screen, lambda _: self.exit(return_code=2 if self.failed else 0))
        self._load()

    @work(thread=True, exclusive=True, group="draw-load", exit_on_error=False)
    def _load(self) -> None:
        screen = self.draw_screen
        try:
            from core.datasets import get_spec

            classes = get_spec(self.source.dataset).classes
            model, epoch, step = self.loaded or load_model(self.source.checkpoint)
        except MnistTuiError as exc:
            self.failed, self.error = True, str(exc)
            screen.post_message(ModelStatus(error=str(exc)))
            return
        screen.post_message(ModelStatus(classes=classes, note=f"checkpoint {self.source.checkpoint}"))
        self.predictor.ready(model, epoch, step)


def build_parser() -> argparse.ArgumentParser:
    from tui.argparsing import Parser

    p = Parser(prog="mnist-tui draw", description="Draw a digit (mouse or keyboard) and see what "
                "a saved network thinks it is, with the 28x28 image it is shown after MNIST's "
                "preprocessing. s saves the drawing with a label into RUN_DIR/drawings/ (IDX files).",
                epilog="example:\n  mnist-tui --headless --run-dir runs/a --epochs 3\n"
                       "  mnist-tui draw --checkpoint runs/a",
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, metavar="PATH_OR_RUN_DIR",
                   help="a checkpoint file, or a run folder (its checkpoint-last.pt)")
    p.add_argument("--ascii", action="store_true", help="draw the network's view with plain ASCII")
    return p


def draw_main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        source = resolve(args.checkpoint)
    except MnistTuiError as exc:
        say_error(f"mnist-tui: error: {exc}")
        return 2
    if not sys.stdout.isatty():
        say_error("mnist-tui: error: draw needs a terminal")
        return 2
    try:  # a checkpoint that cannot be used is refused before the screen opens
        loaded = load_model(source.checkpoint)
    except MnistTuiError as exc:
        sys.stderr.write(f"mnist-tui: error: {exc}\n")
        return 2
    app = DrawApp(source, ascii=args.ascii, loaded=loaded)
    app.run()
    if app.failed and app.error:
        say_error(f"mnist-tui: error: {app.error}")  # also said on screen
    return app.return_code or 0
