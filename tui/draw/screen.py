"""Draw a digit and ask the network: the canvas, beside it the 28x28 image the network
sees (the drawing preprocessed as MNIST's digits were), ten probability bars and the
answer. ``s`` saves the drawing with a label into the run's drawings; Esc leaves.

The screen gets its answers through a ``Predictor`` (a local model in
``mnist-tui draw``, the training process in the dashboard): it calls
``request(image, reply_to)`` and the answer comes back as a ``DrawingPredicted`` posted
to ``reply_to``. No PyTorch here: this screen runs in the dashboard's process.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.message_pump import MessagePump
from textual.screen import ModalScreen
from textual.signal import Signal
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Static

from core.drawing import drawings_paths, preprocess, save_drawing
from core.errors import MnistTuiError
from core.events import TestEnd
from core.report import bar, short_name
from tui.render.digits import render
from tui.screens.common import follow
from tui.screens.fitfooter import FitFooterScreen
from tui.widgets.canvas import DrawingCanvas
from tui.widgets.footer import KeyFooter

DIGITS = tuple(str(i) for i in range(10))
COMPACT_HEIGHT = 36  # below this many rows, the network's view is drawn at half size


class DrawingPredicted(Message):
    """The network's answer for a drawing: softmax probabilities, and where the model
    stood (epoch, step) when it answered."""

    def __init__(self, probs: Sequence[float], epoch: int, step: int) -> None:
        super().__init__()
        self.probs, self.epoch, self.step = tuple(float(p) for p in probs), epoch, step


class ModelStatus(Message):
    """What the predictor behind the screen is: ``classes`` once known, a ``note`` to show
    (``mnist-tui draw``'s checkpoint being loaded, say) and ``error`` when it cannot answer."""

    def __init__(self, *, classes: Sequence[str] | None = None, note: str = "",
                 error: str = "") -> None:
        super().__init__()
        self.classes, self.note, self.error = classes, note, error


class Predictor(Protocol):
    """Where a DrawScreen gets its answers."""

    def request(self, image: np.ndarray, reply_to: MessagePump) -> None:
        """Ask about ``image`` (28x28 uint8, as MNIST's); do not block. The answer is
        posted to ``reply_to`` as a ``DrawingPredicted`` (from any thread), answers in
        the order asked; a newer request may make older ones go unanswered."""


class EnginePredictor:
    """Asks the training process: ``send(request_id, image_bytes)`` puts a PredictImage
    command (784 bytes) on the engine's queue (and returns False when there is no engine);
    the app hands each ``ImagePredicted`` reply to ``deliver``. Only the answer to the
    newest request is shown: a stroke sends many, the training process answers them
    all, between two training steps."""

    def __init__(self, send) -> None:
        self.send = send
        self.latest = 0
        self.reply_to: MessagePump | None = None

    def request(self, image: np.ndarray, reply_to: MessagePump) -> None:
        self.latest += 1
        self.reply_to = reply_to
        if self.send(self.latest, np.ascontiguousarray(image, np.uint8).tobytes()) is False:
            reply_to.post_message(ModelStatus(error="no training process to ask"))

    def deliver(self, reply) -> None:
        """An ``ImagePredicted`` (tui.engine.bridge) from the training process."""
        if self.reply_to is not None and reply.request_id == self.latest:
            self.reply_to.post_message(DrawingPredicted(reply.probs, reply.epoch, reply.step))


# --------------------------------------------------------------------------- the form

def parse_label(text: str, classes: Sequence[str]) -> int | None:
    """A class index from what was typed: its number or its name (any case)."""
    t = text.strip()
    if t.isdigit() and int(t) < len(classes):
        return int(t)
    lowered = [c.lower() for c in classes]
    return lowered.index(t.lower()) if t.lower() in lowered else None


class _LabelValidator(Validator):
    def __init__(self, classes: Sequence[str]) -> None:
        super().__init__()
        self.class_names = classes

    def validate(self, value: str) -> ValidationResult:
        if parse_label(value, self.class_names) is not None:
            return self.success()
        return self.failure(f"not a class: type 0 to {len(self.class_names) - 1} or a class name")


class LabelScreen(ModalScreen[int | None]):
    """Asks for the drawing's label; dismisses with the class index, None if cancelled."""

    DEFAULT_CSS = """
    LabelScreen { align: center middle; background: $background 60%; }
    LabelScreen > Vertical { width: 54; max-width: 100%; height: auto; border: thick $primary;
                             background: $surface; padding: 0 1; }
    LabelScreen #label-error { color: $error; height: 1; }
    LabelScreen #label-hint { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, classes: Sequence[str]) -> None:
        super().__init__()
        self.class_names = tuple(classes)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Save this drawing as", id="label-title")
            yield Input(placeholder="0-9 or a class name", id="label-input",
                        validators=[_LabelValidator(self.class_names)], validate_on=["submitted"])
            yield Static("", id="label-error")
            hint = "Enter saves · Esc cancels"
            if self.class_names != DIGITS:
                hint = "classes: " + ", ".join(f"{i} {c}" for i, c in enumerate(self.class_names)) \
                    + "\n" + hint
            yield Static(hint, id="label-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        label = parse_label(event.value, self.class_names)
        if label is None:
            failures = event.validation_result.failure_descriptions if event.validation_result else []
            self.query_one("#label-error", Static).update(failures[0] if failures else "not a class")
            return
        self.dismiss(label)

    def action_cancel(self) -> None:
        self.dismiss(None)


# ------------------------------------------------------------------------- the screen

def prob_lines(probs: Sequence[float] | None, classes: Sequence[str], *, width: int,
               ascii: bool = False) -> Text:
    """One line per class: name, a bar, the percentage; the most likely class in bold."""
    names = min(max(len(c) for c in classes), 11)
    bar_w = max(4, width - names - 7)
    best = int(np.argmax(probs)) if probs else -1
    out = Text(no_wrap=True, overflow="crop")
    for c, name in enumerate(classes):
        if c:
            out.append("\n")
        p = probs[c] if probs else 0.0
        style = "bold green" if c == best else ""
        out.append(f"{short_name(name, names):<{names}} ", style or "")
        out.append(bar(p, bar_w, ascii=ascii), style or "grey50")
        out.append(f"{p * 100:5.1f}%" if probs else "     ·", style or "dim")
    return out


class DrawScreen(FitFooterScreen):
    DEFAULT_CSS = """
    DrawScreen #draw-body { height: 1fr; }
    DrawScreen #draw-side { width: 40; height: 1fr; padding: 0 1 0 1; }
    DrawScreen .draw-title { color: $text-muted; text-style: bold; }
    DrawScreen #draw-seen { height: 14; width: 28; margin-bottom: 1; }
    DrawScreen.-compact #draw-seen { height: 7; width: 14; margin-bottom: 0; }
    DrawScreen #draw-bars { height: 10; }
    DrawScreen #draw-answer { height: 1; margin-top: 1; text-style: bold; }
    DrawScreen.-compact #draw-answer { margin-top: 0; }
    DrawScreen #draw-model { height: auto; color: $text-muted; }
    """
    BINDINGS = [Binding("s", "save", "save"), Binding("escape", "leave", "leave")]

    def __init__(self, predictor: Predictor, *, classes: Sequence[str] | None = None,
                 run_dir: str | os.PathLike | None = None, ascii: bool = False,
                 note: str = "", tests: Signal[TestEnd] | None = None) -> None:
        super().__init__()
        self.predictor = predictor
        self.tests = tests  # the dashboard's tests: after each, the network has changed
        self.class_names: tuple[str, ...] | None = tuple(classes) if classes else None
        self.run_dir = run_dir
        self.ascii = ascii
        self.note = note
        self.error = ""
        self.image: np.ndarray | None = None  # what the network sees, None: nothing drawn
        self.answer: DrawingPredicted | None = None
        self._ready = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="draw-body"):
            yield DrawingCanvas(id="draw-canvas")
            with Vertical(id="draw-side"):
                yield Static("what the network sees", classes="draw-title")
                yield Static(id="draw-seen")
                yield Static(id="draw-bars")
                yield Static(id="draw-answer")
                yield Static(id="draw-model")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._ready = True  # (is_mounted is not yet True here)
        self.query_one(DrawingCanvas).focus()
        self._show()
        follow(self.tests, self, self.show_test)

    def on_resize(self) -> None:
        compact = self.size.height < COMPACT_HEIGHT
        if compact != self.has_class("-compact"):
            self.set_class(compact, "-compact")
            self._show_seen()

    @property
    def canvas(self) -> DrawingCanvas:
        return self.query_one(DrawingCanvas)

    # ------------------------------------------------------------- asking
    @on(DrawingCanvas.Changed)
    def _drawn(self, event: DrawingCanvas.Changed) -> None:
        self.image = preprocess(event.canvas.pixels)
        if self.image is None:
            self.answer = None
        self.ask()
        self._show()

    def ask(self) -> None:
        """Ask the predictor about the drawing (again: after an epoch, the network has
        changed); nothing is asked when nothing is drawn."""
        if self.image is not None and not self.error:
            self.predictor.request(self.image, self)

    def show_test(self, ev) -> None:
        """After each test of the dashboard's run: the network has learnt an epoch
        more; ask again about the same drawing."""
        self.ask()

    @on(DrawingPredicted)
    def _predicted(self, event: DrawingPredicted) -> None:
        event.stop()
        if self.image is None:
            return  # cleared since it was asked
        self.answer = event
        self._show_answer()

    @on(ModelStatus)
    def _status(self, event: ModelStatus) -> None:
        event.stop()
        if event.classes:
            self.class_names = tuple(event.classes)
        self.note, self.error = event.note, event.error
        self._show()
        if not event.error and self.answer is None:
            self.ask()

    # ------------------------------------------------------------- showing
    def _show(self) -> None:
        self._show_seen()
        self._show_answer()

    def _show_seen(self) -> None:
        if not self._ready:
            return
        scale = 2 if self.has_class("-compact") else 1
        pixels = self.image if self.image is not None else np.zeros((28, 28), np.uint8)
        self.query_one("#draw-seen", Static).update(render(pixels, ascii=self.ascii, scale=scale))

    def _show_answer(self) -> None:
        if not self._ready:
            return
        classes = self.class_names or DIGITS
        probs = self.answer.probs if self.answer is not None else None
        self.query_one("#draw-bars", Static).update(prob_lines(probs, classes, width=38,
                                                               ascii=self.ascii))
        if self.error:
            line = Text(f"cannot ask the network: {self.error}", "bold red")
        elif self.image is None:
            line = Text("prediction: none, nothing drawn yet")
        elif probs is None:
            line = Text("prediction: asking the network…")
        else:
            best = int(np.argmax(probs))
            line = Text(f"prediction: {classes[best]} ({probs[best] * 100:.1f}%)")
        self.query_one("#draw-answer", Static).update(line)
        model = []
        if self.answer is not None:
            e = self.answer.epoch
            model.append(f"network after {e} epoch{'' if e == 1 else 's'}, "
                         f"step {self.answer.step:,}")
        if self.note:
            model.append(self.note)
        self.query_one("#draw-model", Static).update(Text("\n".join(model), overflow="fold"))

    # ------------------------------------------------------------- keys
    def action_leave(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        # from the canvas itself: a stroke's Changed may still be on its way here
        image = preprocess(self.canvas.pixels)
        if image is None:
            self.notify("nothing drawn to save", severity="warning")
            return
        if self.run_dir is None:
            self.notify("no run folder to save drawings into", severity="warning")
            return
        self.app.push_screen(LabelScreen(self.class_names or DIGITS),
                             lambda label: self._save(image, label))

    def _save(self, image: np.ndarray, label: int | None) -> None:
        if label is None or self.run_dir is None:
            return
        classes = self.class_names or DIGITS
        try:
            count = save_drawing(self.run_dir, image, label, num_classes=len(classes))
        except (MnistTuiError, ValueError) as exc:
            self.notify(str(exc), severity="error")
            return
        folder = drawings_paths(self.run_dir)[0].parent
        self.notify(f"saved as {classes[label]}: {count} drawing{'s' if count != 1 else ''} "
                    f"in {folder}")
