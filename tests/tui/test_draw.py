"""Draw a digit and ask the network: `mnist-tui draw` on a checkpoint of a short real run,
driven with the mouse and the keys through Textual's Pilot."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from textual.widgets import Input, Static

from core import checkpoint
from core.config import Hyperparameters
from core.datasets import MNISTDataset
from core.drawing import drawings_paths
from core.network import build_model
from core.training import predict
from tests.helpers import write_split
from tests.tui.conftest import FIXED_DATA
from tui import cli
from tests.tui.waiting import workers_done
from tui.draw.app import DrawApp, resolve
from tui.draw.screen import DrawingPredicted, DrawScreen, LabelScreen
from tui.widgets.canvas import DrawingCanvas

DRAW_DATA = FIXED_DATA.parent / "split-5000-500"
FIXED_RUN = FIXED_DATA.parent / "draw-run-5000-3-epochs"  # a fixed path: it is shown on screen


@pytest.fixture(scope="session")
def draw_data() -> Path:
    if not (DRAW_DATA / "t10k-labels-idx1-ubyte.gz").exists():
        write_split(DRAW_DATA, 5000, 500)
    return DRAW_DATA


@pytest.fixture(scope="session")
def draw_run(draw_data) -> Path:
    """A run folder trained 3 epochs (seed 1) on 5,000 real digits, made once (~88%)."""
    if not (FIXED_RUN / "checkpoint-last.pt").exists():
        with contextlib.redirect_stdout(io.StringIO()):
            code = cli.main(["--headless", "--no-plot", "--data-dir", str(draw_data), "--epochs", "3",
                             "--run-dir", str(FIXED_RUN)])
        assert code == 0
    return FIXED_RUN


@pytest.fixture
def run_copy(draw_run, tmp_path) -> Path:
    """The run folder copied, for tests that save drawings into it."""
    import shutil

    return Path(shutil.copytree(draw_run, tmp_path / "run"))


@pytest.fixture(scope="session")
def reference(draw_run, draw_data):
    """The model as core rebuilds it from the checkpoint, and the test digits."""
    state = checkpoint.load(draw_run / "checkpoint-last.pt")
    model = build_model(Hyperparameters.from_dict(state["hparams"]))
    model.load_state_dict(state["model"])
    test = MNISTDataset(draw_data / "t10k-images-idx3-ubyte.gz", draw_data / "t10k-labels-idx1-ubyte.gz")
    return model, test, state


def shown(widget: Static) -> str:
    from rich.console import Console

    console = Console(width=200, color_system=None, file=io.StringIO())
    with console.capture() as cap:
        console.print(widget.content)
    return cap.get()


class Answers:
    """Counts the answers delivered to the screen (Textual's ``message_hook``: every
    message as it is dispatched)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, message) -> None:
        self.count += isinstance(message, DrawingPredicted)


def answer_line(screen: DrawScreen) -> str:
    return shown(screen.query_one("#draw-answer", Static)).strip()


async def ready(pilot) -> DrawScreen:
    """The checkpoint loaded, every answer asked for delivered and shown."""
    await workers_done(pilot.app)
    await pilot.pause()
    await workers_done(pilot.app)
    await pilot.pause()
    return pilot.app.screen


def paint_digit(canvas: DrawingCanvas, digit: np.ndarray) -> None:
    """Paint a 28x28 test digit onto the canvas pixel by pixel, each as a k x k block."""
    k = canvas.side // 28
    top = left = (canvas.side - 28 * k) // 2
    pixels = np.zeros_like(canvas.pixels)
    for y in range(28):
        for x in range(28):
            pixels[top + y * k: top + (y + 1) * k, left + x * k: left + (x + 1) * k] = digit[y, x] / 255
    canvas.set_pixels(pixels)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_a_painted_test_digit_gets_the_prediction_predict_gave_it(draw_run, reference, size):
    model, test, state = reference
    refs = predict(model, test, range(60))
    wrong = [p for p in refs if not p.correct][:2]
    right = [p for p in refs if p.correct][:3]
    assert wrong, "the 3-epoch model gets some of these wrong: the answer is the model's, not the label"
    app = DrawApp(resolve(draw_run))
    async with app.run_test(size=size) as pilot:
        screen = await ready(pilot)
        assert screen.canvas.side // 28 >= 1
        for ref in wrong + right:
            paint_digit(screen.canvas, test.images[ref.index].numpy().reshape(28, 28))
            await ready(pilot)
            np.testing.assert_array_equal(screen.image, test.images[ref.index].numpy().reshape(28, 28))
            got = np.array(screen.answer.probs)
            assert int(got.argmax()) == ref.pred
            np.testing.assert_allclose(got, ref.probs, atol=1e-5)
            assert answer_line(screen) == f"prediction: {ref.pred} ({ref.confidence * 100:.1f}%)"
            assert (screen.answer.epoch, screen.answer.step) == (state["epoch"], state["step"])


async def test_nothing_drawn_asks_nothing_and_says_so(draw_run):
    app = DrawApp(resolve(draw_run))
    answers = Answers()
    async with app.run_test(size=(120, 40), message_hook=answers) as pilot:
        screen = await ready(pilot)
        assert screen.image is None and screen.answer is None
        assert "nothing drawn" in answer_line(screen)
        await pilot.press("space")  # a dot: it is answered
        screen = await ready(pilot)
        assert answers.count == 1 and answer_line(screen).startswith("prediction: ")
        await pilot.press("c")
        screen = await ready(pilot)
        assert not screen.canvas.pixels.any() and screen.image is None
        assert "nothing drawn" in answer_line(screen)
        assert answers.count == 1  # nothing more was asked


async def test_mouse_drag_paints_and_right_button_or_shift_erases(draw_run):
    app = DrawApp(resolve(draw_run))
    answers = Answers()
    async with app.run_test(size=(120, 40), message_hook=answers) as pilot:
        screen = await ready(pilot)
        canvas = screen.canvas
        ox, oy = canvas._origin()
        # cell (col, row) of the canvas is at widget offset (ox + 1 + col, oy + 1 + row)
        at = lambda col, row: (ox + 1 + col, oy + 1 + row)  # noqa: E731
        await pilot.mouse_down(canvas, offset=at(30, 5))
        await pilot.hover(canvas, offset=at(30, 15))
        await pilot.hover(canvas, offset=at(40, 25))
        await pilot.mouse_up(canvas, offset=at(40, 25))
        screen = await ready(pilot)
        p = canvas.pixels
        # the pixels under the path, between the points the mouse reported too
        assert p[2 * 5 + 1, 30] == 1 and p[2 * 10 + 1, 30] == 1 and p[2 * 20 + 1, 35] == 1
        assert p[2 * 25, 40] == 1
        assert not p[:, :20].any() and not p[2 * 30:].any()
        assert answers.count >= 1 and answer_line(screen).startswith("prediction: ")
        ink = p.sum()
        await pilot.hover(canvas, offset=at(30, 30))  # no button held: nothing happens
        assert canvas.pixels.sum() == ink

        await pilot.mouse_down(canvas, offset=at(30, 5), button=3)  # right button: erase
        await pilot.hover(canvas, offset=at(30, 12))
        await pilot.mouse_up(canvas, offset=at(30, 12))
        assert canvas.pixels[2 * 5 + 1: 2 * 12 + 1, 28:33].max() == 0
        assert canvas.pixels[2 * 20 + 1, 35] == 1  # the rest stays

        await pilot.mouse_down(canvas, offset=at(40, 25), shift=True)  # shift: erase too
        await pilot.mouse_up(canvas, offset=at(40, 25))
        assert canvas.pixels[2 * 25, 40] == 0
        assert canvas.pixels[2 * 20 + 1, 35] == 1


async def test_keyboard_cursor_pen_erase_and_clear(draw_run):
    app = DrawApp(resolve(draw_run))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        canvas = screen.canvas
        side = canvas.side
        assert canvas.cursor == (side // 2, side // 4)  # the centre
        assert canvas.has_focus
        await pilot.press("up", "up", "left")
        assert canvas.cursor == (side // 2 - 1, side // 4 - 2)
        assert not canvas.pixels.any()  # moving with the pen up paints nothing
        await pilot.press("p", *["down"] * 10, "p", "right", "right", "right")
        col, row = canvas.cursor
        assert (col, row) == (side // 2 + 2, side // 4 + 8)
        line = canvas.pixels[:, side // 2 - 1]
        assert (line[2 * (side // 4 - 2) + 1: 2 * (side // 4 + 8) + 1] == 1).all()  # a stroke
        assert canvas.pixels[2 * row + 1, col] < 1  # the pen went up before moving right
        await pilot.press("space")
        assert canvas.pixels[2 * row + 1, col] == 1
        screen = await ready(pilot)
        assert answer_line(screen).startswith("prediction: ")
        await pilot.press("x")
        assert canvas.pixels[2 * row + 1, col] == 0
        assert canvas.pixels[2 * (side // 4) + 1, side // 2 - 1] == 1  # the stroke stays
        for _ in range(200):  # the cursor stops at the edge
            await pilot.press("left")
        assert canvas.cursor[0] == 0
        await pilot.press("c")
        assert not canvas.pixels.any()


async def test_s_saves_the_drawing_with_the_label_typed(run_copy):
    app = DrawApp(resolve(run_copy))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await pilot.press("s")  # nothing drawn: nothing to save, no form
        assert pilot.app.screen is screen
        await pilot.press("p", *["down"] * 12, "p")
        screen = await ready(pilot)
        await pilot.press("s")
        assert isinstance(pilot.app.screen, LabelScreen)
        pilot.app.screen.query_one(Input).cursor_blink = False
        await pilot.press("1", "2", "enter")  # not a class: refused at the field
        assert isinstance(pilot.app.screen, LabelScreen)
        assert "not a class" in shown(pilot.app.screen.query_one("#label-error", Static))
        await pilot.press("backspace", "backspace", "1", "enter")
        await pilot.pause()
        assert pilot.app.screen is screen
        await pilot.press("s", "escape")  # cancelled: nothing saved
        await pilot.pause()
        ds = MNISTDataset(*drawings_paths(run_copy))
        assert ds.labels.tolist() == [1]
        np.testing.assert_array_equal(ds.images[0].numpy().reshape(28, 28), screen.image)
        await pilot.press("s", "7", "enter")
        await pilot.pause()
        assert MNISTDataset(*drawings_paths(run_copy)).labels.tolist() == [1, 7]
        await pilot.press("c")
        await pilot.pause()
        screen.canvas.action_paint()  # s straight after a stroke, before its Changed arrives
        screen.action_save()
        await pilot.pause()
        assert isinstance(pilot.app.screen, LabelScreen)


@pytest.mark.parametrize("key", ["escape", "q"])
async def test_escape_or_q_leaves(draw_run, key):
    app = DrawApp(resolve(draw_run))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press(key)
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


async def test_q_in_the_label_dialog_is_a_letter_of_the_label(run_copy):
    app = DrawApp(resolve(run_copy))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("p", *["down"] * 6, "p")  # a stroke
        await ready(pilot)
        await pilot.press("s")  # save it: the label dialog
        assert isinstance(app.screen, LabelScreen)
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running and app.screen.query_one(Input).value == "q"


def test_a_checkpoint_cut_short_is_refused_before_any_screen(tmp_path):
    from core.checkpoint import CheckpointError

    (tmp_path / "checkpoint-last.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        resolve(tmp_path)


async def test_a_damaged_checkpoint_is_a_message_on_screen(tmp_path):
    """A whole archive whose contents PyTorch cannot read: found out while loading, in
    the screen's worker, and said there."""
    import zipfile

    with zipfile.ZipFile(tmp_path / "checkpoint-last.pt", "w") as z:
        z.writestr("archive/data.pkl", b"not a pickle")
    app = DrawApp(resolve(tmp_path))
    answers = Answers()
    async with app.run_test(size=(120, 40), message_hook=answers) as pilot:
        screen = await ready(pilot)
        assert "not a readable checkpoint" in answer_line(screen)
        await pilot.press("space")  # drawing still works; nothing is asked
        screen = await ready(pilot)
        assert answers.count == 0 and "cannot ask the network" in answer_line(screen)
        await pilot.press("escape")
        await pilot.pause()
    assert app.return_code == 2


def test_a_checkpoint_file_works_as_well_as_its_folder(draw_run):
    src = resolve(draw_run / "checkpoint-best.pt")
    assert src.run_dir == draw_run and src.dataset == "mnist"
    assert resolve(draw_run).checkpoint == draw_run / "checkpoint-last.pt"


@pytest.mark.parametrize("args,problem", [
    (["--checkpoint", "/no/such/run"], "no such checkpoint file or run folder"),
    (["--checkpoint", "/"], "no checkpoint-last.pt in this folder"),
    ([], "required: --checkpoint"),
])
def test_a_bad_checkpoint_argument_is_one_line_and_exit_2(args, problem, capsys):
    with pytest.raises(SystemExit) if not args else contextlib.nullcontext():
        code = cli.main(["draw", *args])
        assert code == 2
    err = capsys.readouterr().err
    assert problem in err and err.count("\n") == 1


def test_the_draw_screen_imports_no_pytorch():
    code = ("import sys, tui.draw.screen, tui.widgets.canvas, tui.draw.app, core.drawing\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------- snapshots

def _drawn(index: int):
    async def before(pilot):
        screen = await ready(pilot)
        images = MNISTDataset(DRAW_DATA / "t10k-images-idx3-ubyte.gz",
                              DRAW_DATA / "t10k-labels-idx1-ubyte.gz").images
        paint_digit(screen.canvas, images[index].numpy().reshape(28, 28))
        await pilot.press("up", "up", "up")
        await ready(pilot)
    return before


def test_snapshot_draw_120x40(snap_compare, draw_run, draw_data):
    assert snap_compare(DrawApp(resolve(draw_run)), terminal_size=(120, 40), run_before=_drawn(0))


def test_snapshot_draw_80x24(snap_compare, draw_run, draw_data):
    assert snap_compare(DrawApp(resolve(draw_run)), terminal_size=(80, 24), run_before=_drawn(3))



@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_checkpoint_whose_weights_are_not_finite_is_refused_before_the_screen(
        bad, run_copy, capsys, monkeypatch):
    import torch

    state = checkpoint.load(run_copy / "checkpoint-last.pt")
    state["model"]["layers.0.weight"][3, 5] = bad
    torch.save(state, run_copy / "checkpoint-last.pt")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)  # as in a terminal
    opened = []
    monkeypatch.setattr(DrawApp, "run", lambda self: opened.append(self))
    assert cli.main(["draw", "--checkpoint", str(run_copy)]) == 2
    err = capsys.readouterr().err
    assert not opened and err.count("\n") == 1
    assert "model.layers.0.weight: holds NaN or infinite values" in err
