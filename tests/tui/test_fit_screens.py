"""Screens that fit every size from 60x20 up (issue 21): notifications that hide
nothing, ..."""

from __future__ import annotations

import asyncio

import pytest
from textual.geometry import Region


SIZES = [(120, 40), (80, 24), (60, 20)]


def lines_of(widget) -> list[str]:
    """What ``widget`` shows, a line a row (its own region, as drawn)."""
    r = widget.region
    return [strip.text for strip in widget.render_lines(Region(0, 0, r.width, r.height))]


@pytest.mark.parametrize("size", SIZES)
async def test_a_notification_hides_no_pane_and_wraps_at_spaces(replay, size):
    app = replay()
    path = "/a/rather/long/folder/name/for/a/run/checkpoint-last.pt"
    async with app.run_test(size=size, notifications=True) as pilot:
        await pilot.pause()
        log = app.screen.query_one("#log")
        before = log.region
        app.notify(f"Checkpoint saved: {path} and a few more words to wrap at a space")
        await pilot.pause()
        await pilot.pause()
        toast = app.screen.query_one("Toast")
        # At the top, in the layout: no pane under it; the log as tall as before.
        assert toast.region.y == 0 and toast.region.right <= size[0]
        for pane in app.screen.query("#log, #plots, StatusBar, ProgressRow"):
            if pane.display and pane.region:
                assert not pane.region.overlaps(toast.region), pane
        assert log.region.height == before.height and log.region.bottom == before.bottom
        shown = " ".join(line.strip(" ▌") for line in lines_of(toast))
        assert path in shown.split()  # the path whole, on one line


def test_help_says_when_every_field_takes_effect_from_cores_rule():
    from core.config import EFFECT_WORDS, FIELD_NAMES, effect_of
    from tui.dashboard.help import FOOT, KEYS

    said = {}
    for clause in FOOT.removeprefix("Edits take effect: ").rstrip(".").split("; "):
        when, names = clause.rstrip(")").split(" (")
        said.update((name, when) for name in names.split(", "))
    # Every field (the CNN's model and lr_step_gamma too), as core's rule says.
    assert said == {name: EFFECT_WORDS[effect_of(name)] for name in FIELD_NAMES}
    assert sorted(k for k, _ in KEYS) == sorted(set(k for k, _ in KEYS))  # each key once


@pytest.mark.parametrize("key", ["c", "h", "w"])
async def test_the_views_footers_say_q_back(replay, key):
    app = replay()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(key)
        await pilot.pause()
        shown = {(b.key_display or b.key, b.description) for _, b, _, _ in
                 app.screen.active_bindings.values() if b.show}
        assert ("q", "Back") in shown
        await pilot.press("q")
        await pilot.pause()
        assert type(app.screen).__name__ == "DashboardScreen"


@pytest.mark.parametrize("size", SIZES)
async def test_the_draw_screens_footer_keeps_help_quit_and_esc(replay, size):
    from tui.widgets.footer import KeyFooter

    app = replay()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        await pilot.pause()
        assert type(app.screen).__name__ == "DrawScreen"
        footer = app.screen.query_one(KeyFooter)
        shown = [(display, what) for display, what, *_ in footer.shown_keys()]
        actions = {k[2] for k in footer.shown_keys()}
        assert {"help", "quit_app", "leave", "paint"} <= actions, shown
        keys = [w for w in footer.query("FooterKey") if w.display]
        assert sum(w.region.width for w in keys) <= size[0]


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_a_refusal_is_said_in_the_form_and_gone_after_a_good_apply(replay, size):
    from textual.widgets import Input

    from tui.dashboard.edit import EditScreen

    app = replay()
    async with app.run_test(size=size, notifications=True) as pilot:
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, EditScreen)
        form.query_one("#f-lr", Input).value = "-1"
        await pilot.press("enter")
        await pilot.pause()
        title = form.query_one("#edit-title")
        assert app.screen is form and "1 value refused" in str(title.render())
        form.query_one("#f-lr", Input).value = "0.1"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is not form
        assert not [t for t in app.screen.query("Toast") if "refused" in str(t.render())]
        await pilot.press("e")  # open again: no refusal left in it
        await pilot.pause()
        assert "refused" not in str(app.screen.query_one("#edit-title").render())


async def test_watch_of_a_stopped_run_shows_no_eta(tui_data, tmp_path):
    from core.events import RunFinished
    from tui.engine.protocol import Tick
    from tests.run_folders import real_run, rewrite_end
    from tests.tui.waiting import WatchedApp
    from tui.engine.bridge import RunSpec
    from tui.widgets.progress import TrainingProgress

    run_dir = tmp_path / "run"
    real_run(run_dir, tui_data, epochs=2)
    rewrite_end(run_dir, status="stopped")
    app = WatchedApp(RunSpec(), watch=str(run_dir))  # show_eta: as a user sees it
    ticked = app.next_event(Tick)
    ended = app.next_event(RunFinished)
    async with app.run_test(size=(80, 24)) as pilot:
        assert (await asyncio.wait_for(ticked, 60)).samples_per_sec > 0
        await asyncio.wait_for(ended, 60)
        await pilot.pause()
        rows = app.screen.query_one(TrainingProgress)
        for name in ("epoch", "run"):
            text = rows.row(name).plain
            assert "ETA" not in text and text.endswith("stopped"), text


@pytest.mark.parametrize("width", [60, 70, 80, 120])
async def test_the_epoch_and_run_bars_are_one_length(width):
    from textual.app import App

    from tui.widgets.progress import TrainingProgress

    class Rows(App):
        def compose(self):
            yield TrainingProgress()

    app = Rows()
    async with app.run_test(size=(width, 6)) as pilot:
        rows = app.query_one(TrainingProgress)
        rows.row("epoch").set("Epoch 102/400", 3150, 8000,
                              "3,150/8,000 · 24,862 samples/s · ETA 0:00")
        rows.row("run").set("Run", 101.4, 400, "101/400 epochs · step 16,160 · ETA 1:44")
        await pilot.pause()
        bars = []
        for name in ("epoch", "run"):
            text = rows.row(name).plain
            assert len(text) <= width - 2 and "ETA" in text, text
            bars.append((text.index("━"), text.rindex("━")))
        assert bars[0] == bars[1]


@pytest.mark.parametrize("width", [60, 80])
async def test_the_log_wraps_long_lines_at_its_width_and_again_after_a_resize(width):
    from textual.app import App

    from tui.widgets.logpane import LogPane

    line = ("Edit at step 12,345: lr 0.2 → 0.05, momentum 0.9 → 0.5 (now); batch_size 50 → 64 "
            "(next epoch); hidden 100,50 → 200,100 (on restart)")

    class Log(App):
        def compose(self):
            yield LogPane(id="log", wrap=True, markup=False, auto_scroll=True)

    app = Log()
    async with app.run_test(size=(120, 10)) as pilot:
        log = app.query_one(LogPane)
        log.write(line)
        await pilot.pause()
        for size in ((width, 10), (width - 15, 10), (120, 10)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            await pilot.pause()
            shown = lines_of(log)
            assert max(len(s.rstrip()) for s in shown) <= size[0]
            assert " ".join(" ".join(s.split()) for s in shown if s.strip()) == line, shown


FASHION_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot")


@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("diagonal", [83, 1135])  # 1,000 or 10,000 test digits
async def test_the_confusion_matrix_fits_with_every_column_whole(width, diagonal):
    from textual.app import App

    from tui.widgets.confusion import ConfusionMatrix

    matrix = [[diagonal if t == p else (t * 7 + p * 3) % 23 for p in range(10)] for t in range(10)]

    class One(App):
        CSS = "Screen { padding: 0 1; }"  # as ConfusionScreen

        def compose(self):
            yield ConfusionMatrix()

    app = One()
    async with app.run_test(size=(width, 20)) as pilot:
        cm = app.query_one(ConfusionMatrix)
        cm.show(matrix, FASHION_NAMES)
        await pilot.pause()
        rows = [line.rstrip() for line in lines_of(cm)]
        assert max(len(r) for r in rows) <= width - 2 and cm.region.right <= width - 1
        for t in range(10):
            cells = rows[1 + t].replace("[", " ").replace("]", " ").split()
            start = next(i for i, tok in enumerate(cells) if tok == str(t)) + 1
            if width >= 120:  # the names whole, never "T-shir."
                assert rows[1 + t].split()[1:2] == [FASHION_NAMES[t].split()[0]]
                start += len(FASHION_NAMES[t].split())
            want = [str(c) if c else "·" for c in matrix[t]]
            assert cells[start:start + 10] == want, rows[1 + t]
            assert "." not in rows[1 + t].split("%")[0].rsplit(None, 1)[0].replace("/", "")


def test_hardest_cards_name_every_class_whole():
    from core.events import Prediction
    from tui.widgets.probcard import prob_bars

    pred = Prediction(index=3, label=6, pred=3, confidence=0.9, loss=2.3,
                      probs=(0.01, 0, 0.02, 0.9, 0.01, 0, 0.06, 0, 0, 0))
    for scale in (1, 2):
        lines = prob_bars(pred, FASHION_NAMES, scale=scale, ascii=False).plain.splitlines()
        width = max(len(n) for n in FASHION_NAMES)
        assert [line[3:3 + width].strip() for line in lines] == list(FASHION_NAMES)


@pytest.mark.parametrize("size", [(60, 20), (80, 24)])
@pytest.mark.parametrize("key", ["c", "h", "w"])
async def test_the_views_fit_small_terminals(replay, size, key):
    """Nothing scrolls off or past the edge: titles, the matrix and its pairs, the
    layer-health heading."""
    app = replay()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.press(key)
        await pilot.pause()
        await pilot.pause()
        screen = app.screen
        assert screen.max_scroll_y == 0 and screen.max_scroll_x == 0
        for widget in screen.query("Static, ConfusionMatrix, LayerHealth"):
            if widget.display and widget.region.height:
                assert widget.region.right <= size[0]
                for line in lines_of(widget):
                    assert not line.rstrip().endswith("…"), (widget, line)
        if key == "w":
            import re

            from tui.widgets.layerhealth import COLUMNS

            heads = re.split(r"\s{2,}", lines_of(screen.query_one("LayerHealth"))[0].strip())
            whole = [{h, short, short.split()[0]} for _, h, short, _, _ in COLUMNS]
            assert len(heads) == len(COLUMNS) and all(h in w for h, w in zip(heads, whole)), heads


@pytest.mark.parametrize("size", [(120, 40), (80, 24), (60, 20)])
async def test_the_overlay_has_one_x_range_and_a_legend_line_a_run_when_narrow(size):
    from textual.app import App

    from core.runs import Curves
    from tui.runs.compare import CompareScreen
    from tui.widgets.compareplot import CompareAccuracyPlot, CompareLossPlot

    def run(epochs: int, stopped_at: float) -> Curves:
        n = 1000
        seen = [int(i * n / 10) for i in range(1, int(stopped_at * 10) + 1)]
        return Curves(train_seen=seen, train_epoch=[s / n for s in seen],
                      train_loss=[2.0 / (1 + s / 200) for s in seen],
                      test_seen=[e * n for e in range(epochs + 1)], test_epoch=list(range(epochs + 1)),
                      test_loss=[1.0 / (1 + e) for e in range(epochs + 1)],
                      test_accuracy=[10.0 + 20 * e for e in range(epochs + 1)])

    names = ["base: lr 0.2 epochs 3", "base-restart1: lr 0.05 epochs 2"]
    runs = [(names[0], run(3, 3.5)), (names[1], run(2, 2.6))]  # both stopped mid-epoch

    class Overlay(App):
        def on_mount(self):
            self.push_screen(CompareScreen(runs))

    app = Overlay()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.pause()
        screen = app.screen
        ticks = []
        for plot in (screen.query_one(CompareLossPlot), screen.query_one(CompareAccuracyPlot)):
            text = [line.rstrip() for line in lines_of(plot)]
            axis = next(i for i, line in enumerate(text) if "└" in line)
            ticks.append(text[axis + 1].split())  # the x labels
        assert ticks[0] == ticks[1] and ticks[0][-1] == "3500"
        legend = [line.strip() for line in lines_of(screen.query_one("#compare-legend")) if line.strip()]
        assert all(len(line) <= size[0] - 2 for line in legend)
        for name in names:  # each name whole, after its colour's mark, on one line
            assert any(line.endswith(name) or f"━━ {name}  " in line for line in legend), legend


@pytest.mark.parametrize("width", [60, 80])
async def test_watchs_header_keeps_lr_and_batch_size(width):
    from textual.app import App

    from tui.widgets.status import StatusBar

    class Header(App):
        def compose(self):
            yield StatusBar()

    app = Header()
    async with app.run_test(size=(width, 3)) as pilot:
        bar = app.query_one(StatusBar)
        bar.state, bar.dataset, bar.network = "stopped", "MNIST", "784-100-50-10 sigmoid"
        bar.optimizer, bar.short_optimizer = "SGD lr 0.2 momentum 0.9 · batch 50", "lr 0.2 · batch 50"
        bar.mode = "watching /tmp/a/rather/long/folder/runs/run5 (read-only)"
        await pilot.pause()
        text = str(bar.render())
        assert "lr 0.2 · batch 50" in text and "watching" in text and len(text) <= width - 2


@pytest.mark.parametrize("size", SIZES)
async def test_the_edit_forms_explanations_keep_their_two_lines_whole(size):
    """Each field's explanation (when it applies · what it is) is written for two lines
    of 26 cells (test_app: test_every_field_explains_itself_in_two_lines_of_the_form); at
    60x20 the form gave it 15, and 'now · learning rate of the optimizer' lost its end.
    Under 72 columns the names and values get narrower; every choice still shows whole."""
    import textwrap

    from textual.app import App
    from textual.widgets import Select

    from core import config as cfg
    from core.config import Hyperparameters
    from tui.dashboard.edit import CHOICES, EditScreen

    class FormApp(App):
        def on_mount(self) -> None:
            self.push_screen(EditScreen(Hyperparameters()))

    app = FormApp()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        form = app.screen
        for name in cfg.FIELD_NAMES:
            when = form.query_one(f"#when-{name}")
            text = str(when.render())
            assert len(textwrap.wrap(text, when.region.width)) <= 2, (name, when.region.width)
            label = when.parent.children[0]
            assert label.region.width >= len(name), name  # test_batch_size whole
        for select in form.query(Select):
            longest = max(len(c) for c in CHOICES[select.id.removeprefix("f-")])  # "adadelta"
            current = select.query_one("SelectCurrent")  # its text, then " ▼"
            assert current.content_region.width - 2 >= longest, (select.id, current.content_region)
