"""The "Inside the network" view, mounted in a tiny app and fed with real statistics of
a short real run (1,000 + 500 MNIST digits); what it shows is read back and checked."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from textual.app import App

from core.config import Hyperparameters
from core.datasets import load
from core.events import LayerStats, TestEnd
from core.inspect import trace_test_digit
from core.training import Run
from tui.render import weightart
from tui.dashboard.inside import InsideScreen, first_weights, when
from tui.widgets.digittrace import DigitTraceView
from tui.widgets.layerhealth import LayerHealth, spark
from tui.widgets.weights import WeightTiles


def _collect(data_dir, **hp):
    d = load("mnist", data_dir, allow_download=False)
    run = Run(Hyperparameters(**{"epochs": 3, "batch_size": 10, **hp}), d.train, d.test)
    stats = [e for e in run.events() if isinstance(e, LayerStats)]
    trace = trace_test_digit(run.model, run.test_data, 0)
    image = run.test_data.images[0].reshape(28, 28).numpy()
    return stats, trace, image, run.hp.architecture()


@pytest.fixture(scope="module")
def real(tui_data):
    return _collect(tui_data)


@pytest.fixture(scope="module")
def cnn(tui_data):
    """A CNN's statistics and trace, collected once for the sizes that show them."""
    return _collect(tui_data, model="cnn", optimizer="adadelta", lr=1.0, epochs=1, batch_size=64)


class InsideApp(App):
    """The screen alone, fed the way the dashboard feeds it."""

    def __init__(self, stats, trace, image, architecture, *, ascii=False, feed_live=False):
        super().__init__()
        self.data = stats, trace, image, architecture
        self.ascii, self.feed_live = ascii, feed_live

    def on_mount(self) -> None:
        stats, trace, image, arch = self.data
        screen = InsideScreen(ascii=self.ascii, architecture=arch,
                              stats=() if self.feed_live else stats)
        self.push_screen(screen)
        if self.feed_live:
            for ev in stats:
                screen.show_stats(ev)
        screen.show_digit(trace, image)


def text_of(widget) -> str:
    r = widget.render()
    return r.plain if hasattr(r, "plain") else str(r)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_the_view_shows_real_statistics(real, size):
    stats, trace, image, arch = real
    app = InsideApp(*real)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, InsideScreen)
        title = str(screen.query_one("#in-title").render())
        assert "Inside the network" in title and "after epoch 3" in title
        # tiles: the last test's first-layer weights, as many as fit, paged
        tiles = screen.query_one(WeightTiles)
        w = first_weights(stats[-1])
        assert np.array_equal(tiles.weights, w) and tiles.weights.shape == (100, 784)
        cols, rows = tiles.grid()
        per = cols * rows
        assert 1 <= per < 100
        assert f"units 1-{per} of 100 · page 1/{-(-100 // per)}" in tiles.heading().plain
        # every tile fits: no cell of the grid beyond the widget
        assert tiles.render().width <= tiles.size.width
        await pilot.press("right")
        assert tiles.start == per and f"units {per + 1}-" in tiles.heading().plain
        await pilot.press("left", "left")
        assert tiles.start == 0
        await pilot.press("x")
        assert tiles.shared and "scale: shared" in tiles.heading().plain
        if size == (120, 40):
            await pilot.press("z")  # half-size tiles: more of them
            assert tiles.shown_zoom == 2 and tiles.per_page > per
        # health: one row per Linear layer, latest values of the last LayerStats
        health = screen.query_one(LayerHealth)
        lines = text_of(health).splitlines()
        assert len(lines) == 4 and health.region.bottom <= size[1]
        last = stats[-1].layers
        for line, s in zip(lines[1:], last):
            assert f"{s.shape[1]}→{s.shape[0]}" in line
            assert f"{s.grad_norm:.1e}" in line and f"{s.update_ratio:.1e}" in line
            assert f"{100 * s.saturated:.0f}%" in line if s.saturated is not None else "—" in line
        assert len(health.history["layers.0"]) == len(stats)
        import re
        for width in (56, 44):  # 60x20 and narrower: each value apart from the next column
            health.styles.width = width
            await pilot.pause()
            for line, s in zip(text_of(health).splitlines()[1:], last):
                assert len(line) <= width or width < 48  # (under 48: the last column cut)
                for num in (f"{s.grad_norm:.1e}", f"{s.update_ratio:.1e}"):
                    assert re.search(rf"{re.escape(num)}(\s|$)", line), line
        health.styles.width = None
        await pilot.pause()
        # the digit: its prediction and the two hidden layers' strips
        view = screen.query_one(DigitTraceView)
        shown = str(view.query_one("#trace-text").render())
        pred = int(np.argmax(trace.probs))
        assert f"predicted {pred}" in shown and f"true {trace.label}" in shown
        rows = shown.splitlines()
        if size == (80, 24):
            assert rows[1].startswith("100 ") and " 50 " in shown
        else:
            assert "layers.0 (100 sigmoid)" in shown and "layers.2 (50 sigmoid)" in shown
        assert rows[-1].startswith("output 0") and f"{pred}" in rows[-1]
        assert view.region.bottom <= size[1] - 1  # above the footer
        await pilot.press("w")
        assert not isinstance(app.screen, InsideScreen)


async def test_stats_fed_live_and_other_shapes(tui_data):
    data = _collect(tui_data, hidden=(30,), activation="relu", epochs=1)
    app = InsideApp(*data, feed_live=True, ascii=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        health = screen.query_one(LayerHealth)
        assert health.order == ["layers.0", "layers.2"]
        tiles = screen.query_one(WeightTiles)
        assert tiles.weights.shape == (30, 784)
        body = tiles.render().plain
        assert "▀" not in body and set(body) & set(weightart.ASCII_RAMP[:3] + weightart.ASCII_RAMP[4:])
        assert tiles.shown_zoom == 2 and len(tiles.render().lines) == 1 + 8
        await pilot.press("z")  # full-size tiles do not fit at 80x24: refused, said so
        assert tiles.shown_zoom == 2 and len(tiles.render().lines) == 1 + 8
        assert any("do not fit" in str(n.message) for n in app._notifications)


def test_weight_tiles_pure_functions():
    w = np.zeros((3, 784), np.float32)
    w[0, [0, 28]] = -2.0        # top-left: strongly negative (both pixel rows of the cell)
    w[0, [755, 783]] = 1.0     # bottom-right: half the largest, positive
    w[1, :] = 0.5
    lv = weightart.levels(w[0].reshape(28, 28), 2.0)
    assert lv[0, 0] == lv[1, 0] == -weightart.LEVELS and lv[27, 27] == weightart.LEVELS // 2 and lv[5, 5] == 0
    assert list(weightart.scales(w, shared=False)) == [2.0, 0.5, 0.0]
    assert list(weightart.scales(w, shared=True)) == [2.0, 2.0, 2.0]
    art = weightart.page(w, 0, 2, 1, ascii=True)
    lines = art.plain.splitlines()
    assert lines[0].startswith("#1 ±2.00") and "#2 ±0.50" in lines[0]
    assert len(lines) == 1 + 14 and all(len(line) == 28 + 1 + 28 for line in lines[1:])
    assert lines[1][0] == "=" and lines[14][27] == "+"   # sign kept by the ramp
    assert set(lines[5][29:]) == {"#"}                   # unit 2: all at its own max
    assert weightart.page(w, 0, 2, 1, ascii=True, shared=True).plain.splitlines()[5][29] == "."
    half = weightart.page(w, 2, 4, 1, zoom=2)
    assert half.width == 14 and len(half.lines) == 1 + 7  # only unit 3 left on that page
    assert weightart.fit(80, 9, 2) == (5, 1) and weightart.fit(120, 16, 1) == (4, 1)


def test_weight_tiles_of_a_diverged_run():
    """NaN and infinite weights (issue 25: --ascii's tiles indexed their ramp with a NaN
    cast to an integer): a weight with no level is level 0; inf on a finite scale the top."""
    assert weightart.levels(np.array([np.inf, -np.inf, np.nan, 1.0]), 2.0).tolist() == [
        weightart.LEVELS, -weightart.LEVELS, 0, weightart.LEVELS // 2]
    assert weightart.levels(np.array([np.inf, np.nan, 1.0]), np.inf).tolist() == [0, 0, 0]
    w = np.full((2, 784), np.inf, np.float32)
    w[1] = np.nan
    for ascii in (True, False):
        art = weightart.page(w, 0, 2, 1, ascii=ascii)
        assert len(art.plain.splitlines()) == 1 + 14


def test_sparklines():
    assert spark([0, 1, 2, 3], 4) == "▁▃▆█"
    assert spark([1, None], 4) == "  ▅ "  # one value: mid-height; None: a blank
    assert spark([1e-5, 1e-3, 1e-1], 3, lo=1e-5, hi=1e-1, log=True) == "▁▅█"
    assert spark([0.5], 1, lo=0, hi=1, ascii=True) == "="


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot(snap_compare, real, size):
    async def before(pilot):
        await pilot.pause()

    assert snap_compare(InsideApp(*real), terminal_size=size, run_before=before)


# ------------------------------------------------------------- in the dashboard and watch

async def test_w_opens_the_view_on_the_live_dashboard_and_it_follows_training(make):
    from core.events import DigitTrace
    from tests.tui.test_app import LONG
    from tui.engine.protocol import FirstWeights, PauseChanged  # noqa: F401

    app = make(epochs=LONG)
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.wait_for_state("training"), 60)
        traced = app.next_event(DigitTrace)
        await pilot.press("w")
        screen = app.screen
        assert isinstance(screen, InsideScreen)
        trace = await asyncio.wait_for(traced, 60)
        assert trace.index == screen.digit and len(trace.probs) == 10
        for _ in range(3):  # a few epochs with the view open
            await asyncio.wait_for(app.next_event(TestEnd), 60)
        tests = [s for s in app.view.layer_stats if s.after_test]
        assert len(tests) >= 4 and tests[-1].epoch >= 3
        tiles = screen.query_one(WeightTiles)
        assert np.array_equal(tiles.weights, first_weights(tests[-1]))  # after each test
        paused = app.next_event(FirstWeights)
        await pilot.press("space")
        await asyncio.wait_for(paused, 60)
        await pilot.pause()
        # Paused: the tiles show the weights exactly as training left them.
        now = app.engine.run.model.layers[0].weight.detach().numpy()
        assert np.array_equal(tiles.weights, now) and tiles.weights.shape == (100, 784)
        health = screen.query_one(LayerHealth)
        assert list(health.history["layers.0"]) == [s.layers[0] for s in app.view.layer_stats]
        assert str(screen.query_one("#in-title").render()).endswith(when(app.view.layer_stats[-1]))
        run = app.engine.run
        assert f"paused at epoch {run.epoch + 1}, step {run.step:,}" in tiles.heading().plain
        nxt = app.next_event(DigitTrace)
        await pilot.press("n")  # the next test digit, traced while paused
        assert (await asyncio.wait_for(nxt, 60)).index == trace.index + 1
        await pilot.pause()
        assert f"test digit #{trace.index + 1}" in str(screen.query_one("#trace-text").render())
        await pilot.press("w")
        assert not isinstance(app.screen, InsideScreen)


def test_watch_turns_layers_rows_into_events(tmp_path):
    from core.metrics import row_for
    from tui.engine.watch import _Translator

    ev = LayerStats(2, 240, 12000, ())
    row = {"kind": "layers", "epoch": 2, "step": 240, "seen": 12000, "layers": [
        {"name": "layers.0", "shape": [100, 784], "weight_norm": 11.5, "grad_norm": 0.2,
         "update_ratio": 0.001, "activation_mean": 0.4, "saturated": 0.05},
        {"name": "layers.4", "shape": [10, 50], "weight_norm": 8.0, "grad_norm": None,
         "update_ratio": None, "activation_mean": None, "saturated": None}]}
    got = list(_Translator(tmp_path, {"hparams": {"activation": "tanh"}}).translate(
        [row, {"kind": "layers", "epoch": 2}]))  # the second one is malformed: skipped
    assert len(got) == 1 and isinstance(got[0], LayerStats)
    assert (got[0].epoch, got[0].step, got[0].seen, got[0].activation) == (2, 240, 12000, "tanh")
    assert got[0].layers[0].shape == (100, 784) and got[0].layers[1].grad_norm is None
    assert row_for(got[0]) == row and row_for(ev)["layers"] == []


async def test_a_network_without_hidden_layers(tui_data):
    data = _collect(tui_data, hidden=(), activation="tanh", epochs=1)
    async with InsideApp(*data).run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = pilot.app.screen
        assert screen.query_one(LayerHealth).order == ["layers.0"]
        assert screen.query_one(WeightTiles).weights.shape == (10, 784)  # the output layer
        rows = str(screen.query_one("#trace-text").render()).splitlines()
        assert len(rows) == 2 and rows[1].startswith("output 0")


def test_watch_gets_the_first_layer_weights_from_the_run_folder(tui_data, tmp_path):
    """A run writes its first layer's weights after each test; watch turns the layers
    row that follows a test into stats with those weights, so its tiles follow training."""
    import numpy as np

    from core.runfolder import FIRST_WEIGHTS
    from tui.cli import main
    from tui.engine.watch import FolderTransport

    r = tmp_path / "r"
    assert main(["--headless", "--no-plot", "--data-dir", str(tui_data), "--epochs", "1",
                 "--limit-train", "200", "--run-dir", str(r)]) == 0
    saved = np.load(r / FIRST_WEIGHTS)
    assert saved.shape == (100, 784) and saved.dtype == np.float32
    engine = FolderTransport(r)
    engine.start()
    try:
        with_weights = []
        while not with_weights or with_weights[-1].epoch < 1:
            ev = engine.get(timeout=60)
            if isinstance(ev, LayerStats) and ev.first_weights:
                with_weights.append(ev)
    finally:
        engine.close()
    last = np.frombuffer(with_weights[-1].first_weights, np.float32).reshape(with_weights[-1].first_shape)
    np.testing.assert_array_equal(last, saved)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_the_cnn_filters_feature_maps_and_conv_rows(cnn, size):
    """--model cnn: the first convolution's 32 filters as tiles, the feature maps of the
    digit after each convolution, a health row for each conv and Linear layer."""
    data = cnn
    stats, trace, _, arch = data
    async with InsideApp(*data).run_test(size=size) as pilot:
        await pilot.pause()
        screen = pilot.app.screen
        tiles = screen.query_one(WeightTiles)
        assert tiles.weights.shape == (32, 9) and tiles.side == 3
        assert "3x3 filters 1-" in tiles.heading().plain and "of 32" in tiles.heading().plain
        assert tiles.render().width <= tiles.size.width
        health = screen.query_one(LayerHealth)
        assert health.order == ["layers.conv1", "layers.conv2", "layers.fc1", "layers.fc2"]
        lines = text_of(health).splitlines()
        assert "9→32" in lines[1] and "288→64" in lines[2] and "9216→128" in lines[3]
        shown = str(screen.query_one("#trace-text").render())
        rows = shown.splitlines()
        if size == (120, 40):
            assert "layers.conv1 (32 maps 26x26 relu, first " in shown
            assert "layers.conv2 (64 maps 24x24 relu, first " in shown
            assert "layers.fc1 (128 relu)" in shown
        else:
            assert rows[1].startswith(" 32 ") and any(r.startswith(" 64 ") for r in rows)
        assert rows[-1].startswith("output 0")
        view = screen.query_one(DigitTraceView)
        assert view.region.bottom <= size[1] - 1  # all of it above the footer
        maps = [r for r in rows if "▀" in r]
        assert maps and max(len(r) for r in maps) <= view.query_one("#trace-text").size.width


def test_small_filter_tiles_and_feature_maps_pure_functions():
    from tui.widgets.digittrace import feature_maps

    w = np.zeros((2, 9), np.float32)
    w[0, 0], w[0, 8] = -1.0, 1.0  # top-left negative, bottom-right positive
    art = weightart.page(w, 0, 2, 1, ascii=True)
    lines = art.plain.splitlines()
    assert weightart.tile_size(1, 3) == (12, 7) and weightart.tile_size(2, 3) == (6, 4)
    assert len(lines) == 1 + 6 and all(len(line) == 12 + 1 + 12 for line in lines[1:])
    assert lines[1][:4] == "====" and lines[6][8:12] == "####"  # each weight a 4x4 block
    assert weightart.fit(80, 5, 2, side=3) == (11, 1)
    maps = np.zeros((3, 4, 4), np.float32)
    maps[1, 0, 0] = 2.0
    text, shown = feature_maps(maps.ravel().tolist(), (3, 4, 4), 7, factor=2, ascii=True)
    # two 2x2 maps fit in 7 cells; map 2's top-left block averages 0.5 / 2 of the max,
    # and its two pixel rows average again for one character
    assert shown == 2 and text.plain == "   . "
    text, shown = feature_maps(maps.ravel().tolist(), (3, 4, 4), 80, factor=1, ascii=True)
    assert shown == 3 and text.plain.splitlines()[0] == "    " + " " + "+   " + " " + "    "
