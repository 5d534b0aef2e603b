"""Screens as a user sees them: fixed seed, small real data, no clock, no cursor blink.
The runs are recorded once and replayed (conftest's ``replay``): the screens are what is
tested here, not the training.

Update after looking at the report: pytest tests/tui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import asyncio

from textual.widgets import Input


async def _finished(pilot) -> None:
    await asyncio.wait_for(pilot.app.wait_for_state("finished"), 120)
    await pilot.pause()
    for field in pilot.app.query(Input):
        field.cursor_blink = False


def test_main_screen_120x40(snap_compare, replay):
    assert snap_compare(replay(epochs=8), terminal_size=(120, 40), run_before=_finished)


def test_main_screen_80x24(snap_compare, replay):
    assert snap_compare(replay(epochs=8), terminal_size=(80, 24), run_before=_finished)


def test_help_screen(snap_compare, replay):
    async def before(pilot):
        await _finished(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(replay(), terminal_size=(120, 40), run_before=before)


def test_edit_form_with_a_refused_value(snap_compare, replay):
    async def before(pilot):
        await _finished(pilot)
        await pilot.press("e")
        await pilot.pause()
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        pilot.app.screen.query_one("#f-lr", Input).value = "-1"
        await pilot.pause()

    assert snap_compare(replay(), terminal_size=(120, 40), run_before=before)


def test_confusion_matrix_80x24(snap_compare, replay):
    async def before(pilot):
        await _finished(pilot)
        await pilot.press("c", "down", "down", "down", "right", "right", "right", "right", "right")
        await pilot.pause()

    assert snap_compare(replay(epochs=8), terminal_size=(80, 24), run_before=before)


def test_confusion_cell_digits_80x24(snap_compare, replay):
    async def before(pilot):
        await _finished(pilot)
        await pilot.press("c", "down", "down", "down", "right", "right", "right", "right", "right",
                          "enter")
        await pilot.pause()

    assert snap_compare(replay(epochs=8), terminal_size=(80, 24), run_before=before)


def test_hardest_examples_120x40(snap_compare, replay):
    async def before(pilot):
        await _finished(pilot)
        await pilot.press("h")
        await pilot.pause()

    assert snap_compare(replay(epochs=8), terminal_size=(120, 40), run_before=before)


def test_digits_pane_80x24(snap_compare, replay):
    """80x24: v puts the test digits where the plots were."""
    async def before(pilot):
        await _finished(pilot)
        await pilot.press("v")
        await pilot.pause()

    assert snap_compare(replay(epochs=8), terminal_size=(80, 24), run_before=before)


def test_help_scrolled_to_its_end_80x24(snap_compare, replay):
    async def before(pilot):
        await _finished(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.press("end")
        await pilot.pause()

    assert snap_compare(replay(), terminal_size=(80, 24), run_before=before)
