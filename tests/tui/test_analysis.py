"""The analysis views driven through Pilot: confusion matrix, a cell's digits, the hardest
examples; what they show is read back and checked against the test results."""

from __future__ import annotations

import asyncio
import re

import pytest
from core.events import TestEnd
from tui.engine.protocol import PauseChanged
from core.report import class_accuracy, most_confused
from tests.tui.test_app import LONG, finished, shown
from tui.dashboard.confusion import ConfusionScreen, PairScreen
from tui.dashboard.hardest import HardestScreen
from tui.widgets.confusion import ConfusionMatrix
from tui.widgets.digitgrid import DigitGrid, GridCard


def matrix_rows(widget: ConfusionMatrix) -> tuple[list[list[int]], list[float]]:
    """The counts and the per-class accuracy the widget draws, read from its text."""
    lines = widget.render().plain.splitlines()
    assert lines[0].split()[1:11] == [str(i) for i in range(10)]
    rows, accs = [], []
    for line in lines[1:11]:
        cells = re.findall(r"\[\s*(\d+|·)\]|(?<![\d.])(\d+|·)(?![\d.%])", line[10:])
        values = [a or b for a, b in cells][:11]
        rows.append([0 if v == "·" else int(v) for v in values[:10]])
        accs.append(float(re.search(r"(\d+\.\d)%$", line).group(1)))
    return rows, accs


def cards(screen) -> list[str]:
    return [shown(c) for c in screen.query_one(DigitGrid).query(GridCard) if c.display]


async def test_confusion_matrix_shows_the_latest_test_and_drills_into_a_cell(make):
    app = make(epochs=2)
    async with app.run_test(size=(120, 40)) as pilot:
        assert not app.dashboard.check_action("confusion", ())  # nothing to show before a test
        await finished(app)
        await pilot.press("c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConfusionScreen)
        test = app.view.last_test
        rows, accs = matrix_rows(screen.query_one(ConfusionMatrix))
        assert rows == [list(r) for r in test.confusion]
        expected = class_accuracy(test.per_class_correct, test.per_class_total)
        assert accs == pytest.approx([round(a, 1) for a in expected], abs=0.051)
        pairs = shown(screen.query_one("#cm-pairs"))
        for t, p, n in most_confused(test.confusion, 5):
            assert re.search(rf"{t} → {p}\s+{n}\b", pairs)
        # Arrows move the cursor (wrapping); the line below names the cell.
        t, p, n = most_confused(test.confusion, 1)[0]
        await pilot.press(*["down"] * t, *["right"] * p)
        assert screen.query_one(ConfusionMatrix).cursor == (t, p)
        assert f"true {t}, predicted {p}: {n} wrong" in shown(screen.query_one("#cm-cell"))
        await pilot.press("up", "left", "down", "right")
        assert screen.query_one(ConfusionMatrix).cursor == (t, p)
        # Enter: that cell's digits, each drawn with its confidence.
        await pilot.press("enter")
        await pilot.pause()
        pair = app.screen
        assert isinstance(pair, PairScreen) and (pair.true, pair.pred) == (t, p)
        members = [i for i, (y, q) in enumerate(zip(app.view.test_labels, test.predictions))
                   if y == t and q == p]
        assert sorted(pair.indices) == members and len(members) == n
        confs = [test.confidences[i] for i in pair.indices]
        assert confs == sorted(confs, reverse=True)
        captions = [c.splitlines()[-1] for c in cards(pair)]
        assert len(captions) == min(n, pair.query_one(DigitGrid).capacity())
        for caption, i in zip(captions, pair.indices):
            assert f"✗ {t} → {p} ({test.confidences[i] * 100:.0f}%)" in caption
        await pilot.press("escape")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.dashboard


async def test_open_views_follow_each_new_test(make):
    app = make(epochs=LONG)
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.wait_for_state("training"), 60)
        paused = app.next_event(PauseChanged)
        await pilot.press("space")  # hold training while the view opens
        await asyncio.wait_for(paused, 30)
        await pilot.press("c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConfusionScreen)
        first = app.view.last_test
        when = "before training" if first.epoch == 0 else f"after epoch {first.epoch}"
        assert when in shown(screen.query_one("#cm-title"))
        new_test = app.next_event(TestEnd)
        await pilot.press("space")  # training goes on with the view open
        paused = app.next_event(PauseChanged)
        assert (await asyncio.wait_for(new_test, 60)).epoch == first.epoch + 1
        await pilot.press("space")
        await asyncio.wait_for(paused, 30)
        later = app.view.last_test  # the latest test handled (training is fast: maybe a later one)
        assert later.epoch > first.epoch
        assert f"after epoch {later.epoch}:" in shown(screen.query_one("#cm-title"))
        assert matrix_rows(screen.query_one(ConfusionMatrix))[0] == [list(r) for r in later.confusion]
        # keys that act on the dashboard are not offered here
        offered = {b.action for _, b, _, _ in screen.active_bindings.values()}
        assert not {"next_digits", "restart"} & offered and "edit" in offered  # the run's keys are


async def test_hardest_examples_show_their_softmax_probabilities(replay):
    app = replay()  # the fixture keeps the 4 hardest; the snapshots' recorded run, replayed
    async with app.run_test(size=(120, 40)) as pilot:
        await finished(app)
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, HardestScreen)
        hardest = app.view.last_test.hardest
        shown_cards = cards(app.screen)
        assert len(hardest) == 4 and len(shown_cards) == 4
        losses = [p.loss for p in hardest]
        assert losses == sorted(losses, reverse=True)
        for rank, (text, p) in enumerate(zip(shown_cards, hardest), start=1):
            assert f"{rank}. {'✓' if p.correct else '✗'} {p.label} → {p.pred}" in text
            assert f"loss {p.loss:.2f} · #{p.index}" in text
            bars = [line for line in text.splitlines() if re.search(r"\d+%$", line)]
            assert len(bars) == 10
            for c, line in enumerate(bars):
                assert line.endswith(f"{p.probs[c] * 100:4.0f}%")
                mark = ("t" if c == p.label else " ") + ("p" if c == p.pred else " ")
                assert line[29:34] == f"{mark} {c} "  # after the 28-cell digit and a space
        await pilot.press("escape")
        assert app.screen is app.dashboard


async def test_the_views_are_usable_at_80x24(replay):
    app = replay()  # the snapshots' recorded run, replayed
    async with app.run_test(size=(80, 24)) as pilot:
        await finished(app)
        await pilot.press("c")
        await pilot.pause()
        screen = app.screen
        matrix = screen.query_one(ConfusionMatrix)
        assert matrix.region.right <= 80 and matrix.region.height == 12
        pairs = screen.query_one("#cm-pairs")
        assert pairs.region.bottom <= 23  # above the footer
        assert matrix_rows(matrix)[0] == [list(r) for r in app.view.last_test.confusion]
        cm = app.view.last_test.confusion
        t, p = max(((t, p) for t in range(10) for p in range(10)), key=lambda c: cm[c[0]][c[1]])
        assert cm[t][p] >= 10
        await pilot.press(*["down"] * t, *["right"] * p, "enter")
        await pilot.pause()
        assert isinstance(app.screen, PairScreen) and len(cards(app.screen)) == 10  # 5 x 2
        await pilot.press("escape")
        await pilot.press("h")
        await pilot.pause()
        grid = app.screen.query_one(DigitGrid)
        assert len(cards(app.screen)) == 4 and grid.region.bottom <= 23
        for card in grid.query(GridCard):
            assert card.region.right <= 80 and card.region.bottom <= 23
