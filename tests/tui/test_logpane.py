"""The log pane writes training's lines a few at a time (``LogPane.write_soon``): each
line written grows the log, and Textual lays the whole screen out again for it; on the
8k/2k split a test every 0.13 s made the log ask for 82 of a 25-epoch run's 84 full
layouts. The first line after a quiet spell is written at once, the ones that follow
within ``FLUSH_SECONDS`` together; any other line is written at once, after them."""

from __future__ import annotations

import asyncio

from textual.app import App

from tui.widgets.logpane import LogPane


class Log(App):
    def compose(self):
        yield LogPane(id="log", wrap=True, markup=False, auto_scroll=True)


def shown(log: LogPane) -> list[str]:
    return [strip.text.rstrip() for strip in log.lines]


async def test_training_lines_within_the_window_wait_for_the_next_write(monkeypatch):
    monkeypatch.setattr(LogPane, "FLUSH_SECONDS", 3600.0)
    app = Log()
    async with app.run_test(size=(80, 10)) as pilot:
        log = app.query_one(LogPane)
        log.write_soon("Train Epoch: 1 [0/8000 (0%)]")  # the log was quiet: at once
        log.write_soon("Test set: Avg. loss: 0.5")      # within the window: held
        log.write_soon("Train Epoch: 2 [0/8000 (0%)]")
        await pilot.pause()
        assert shown(log) == ["Train Epoch: 1 [0/8000 (0%)]"]
        log.write("Paused at step 160")  # a line now: the held ones first, in order
        await pilot.pause()
        assert shown(log) == ["Train Epoch: 1 [0/8000 (0%)]", "Test set: Avg. loss: 0.5",
                              "Train Epoch: 2 [0/8000 (0%)]", "Paused at step 160"]
        log.clear()
        log.write_soon("dropped with the clear")
        log.clear()
        log.flush()
        assert shown(log) == []


async def test_held_lines_are_written_when_the_window_ends(monkeypatch):
    monkeypatch.setattr(LogPane, "FLUSH_SECONDS", 0.05)
    flushes: asyncio.Queue = asyncio.Queue()
    original = LogPane.flush

    def flush(self) -> None:
        original(self)
        flushes.put_nowait(shown(self))

    monkeypatch.setattr(LogPane, "flush", flush)
    app = Log()
    async with app.run_test(size=(80, 10)):
        log = app.query_one(LogPane)
        for i in range(4):
            log.write_soon(f"line {i}")
        assert await asyncio.wait_for(flushes.get(), 60) == ["line 0"]  # at once
        # then the timer, with the three held back together
        assert await asyncio.wait_for(flushes.get(), 60) == [f"line {i}" for i in range(4)]
