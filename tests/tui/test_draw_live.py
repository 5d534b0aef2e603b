"""`d` in the dashboard: the drawing asked of the network being trained, through the
engine's command queue, again after each epoch, and training none the worse for it."""

from __future__ import annotations

import asyncio
import queue

import numpy as np

from core.config import Hyperparameters
from core.events import TestEnd
from core.training import predict
from tests.tui.test_draw import answer_line, paint_digit
from tui.engine.bridge import RunSpec, ThreadTransport, engine_loop
from tui.engine.protocol import Drawn, ImagePredicted, PauseChanged, PredictImage, Quit
from tui.draw.screen import DrawScreen


async def _until(app, kind, done) -> None:
    """Wait for engine events of ``kind`` until ``done()`` (checked before each wait, and
    the waiter registered at once: nothing handled in between is missed)."""
    while not done():
        await asyncio.wait_for(app.next_event(kind), 60)


async def test_d_asks_the_live_network_and_again_after_each_epoch(make):
    app = make(epochs=500)
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.wait_for_state("training"), 60)
        paused = app.next_event(PauseChanged)
        await pilot.press("space")
        await asyncio.wait_for(paused, 60)
        await pilot.press("d")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DrawScreen)
        assert "nothing drawn" in answer_line(screen)
        answered: list[int] = []  # request ids answered
        deliver = screen.predictor.deliver
        screen.predictor.deliver = lambda r: (answered.append(r.request_id), deliver(r))
        digit = app.view.test_images[0].reshape(28, 28)
        paint_digit(screen.canvas, digit)
        await _until(app, ImagePredicted, lambda: answered)
        await pilot.pause()
        run = app.engine.run
        first = screen.answer
        assert (first.epoch, first.step) == (run.epoch, run.step)  # the paused network

        asked, tests = screen.predictor.latest, []
        app.on_handled.append(lambda ev: isinstance(ev, TestEnd) and tests.append(ev))
        app.action_toggle_pause()  # (space on this screen paints)
        await _until(app, TestEnd, lambda: len(tests) >= 2)
        paused = app.next_event(PauseChanged)
        app.action_toggle_pause()
        await asyncio.wait_for(paused, 60)
        assert screen.predictor.latest == asked + len(tests)  # asked again after each test
        await _until(app, ImagePredicted, lambda: screen.predictor.latest in answered)
        await pilot.pause()
        # (paused during a test, the first test after resuming is of the epoch just done)
        assert screen.answer.epoch >= tests[-1].epoch > first.epoch
        assert screen.answer.step > first.step
        e = screen.answer.epoch
        assert f"network after {e} epochs" in str(screen.query_one("#draw-model").content)
        # asked now, the answer is what core's predict says of it with the paused network
        screen.ask()
        await _until(app, ImagePredicted, lambda: screen.predictor.latest in answered)
        await pilot.pause()
        assert screen.answer.step == run.step
        ref = predict(run.model, run.test_data, [0])[0]
        np.testing.assert_allclose(screen.answer.probs, ref.probs, atol=1e-5)
        assert answer_line(screen) == f"prediction: {ref.pred} ({ref.confidence * 100:.1f}%)"
        await pilot.press("escape")
        assert not isinstance(app.screen, DrawScreen)


async def test_d_is_off_while_another_view_is_open(make):
    app = make(epochs=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.wait_for_state("finished"), 120)
        await pilot.press("question_mark", "d")
        assert not isinstance(app.screen, DrawScreen)


def _test_results(tui_data, run_dir, ask: bool) -> tuple[list[tuple], list[ImagePredicted]]:
    """Every TestEnd of a 2-epoch run (loss, accuracy, all predictions), asking the
    network about an image after every engine event when ``ask``."""
    # batch size 5: 200 steps an epoch, so that questions come in the middle of epochs too
    spec = RunSpec(hparams=Hyperparameters(epochs=2, batch_size=5), data_dir=str(tui_data),
                   allow_download=False, hardest=4, run_dir=str(run_dir))
    events: queue.Queue = queue.Queue()
    commands: queue.Queue = queue.Queue()
    commands.put(Drawn())  # (no screen: training need not wait for one)
    image = np.zeros((28, 28), np.uint8)
    image[4:24, 12:16] = 255
    tests, answers, n = [], [], 0

    def emit(ev) -> None:
        nonlocal n
        if isinstance(ev, TestEnd):
            tests.append((ev.avg_loss, ev.correct, ev.predictions, ev.confidences))
        if isinstance(ev, ImagePredicted):
            answers.append(ev)
        elif ask:
            n += 1
            commands.put(PredictImage(n, image.tobytes()))
        if type(ev).__name__ == "RunFinished":
            commands.put(Quit())

    engine_loop(spec, emit, commands)
    return tests, answers


def test_asking_changes_nothing_in_training(tui_data, tmp_path):
    plain, none = _test_results(tui_data, tmp_path / "plain", ask=False)
    asked, answers = _test_results(tui_data, tmp_path / "asked", ask=True)
    assert not none and len(answers) >= 5
    assert any(a.step % 200 for a in answers)  # some were asked in the middle of an epoch
    assert asked == plain  # bit for bit: losses, accuracies, every prediction


def test_thread_engine_answers_predict_image(tui_data, tmp_path):
    engine = ThreadTransport(RunSpec(hparams=Hyperparameters(epochs=1), data_dir=str(tui_data),
                                  allow_download=False, run_dir=str(tmp_path / "run")))
    engine.start()
    try:
        engine.send(PredictImage(7, bytes(784)))
        while True:
            ev = engine.get(timeout=60)
            if isinstance(ev, ImagePredicted):
                break
        assert ev.request_id == 7 and len(ev.probs) == 10
        assert abs(sum(ev.probs) - 1) < 1e-5
    finally:
        engine.close()
