"""Inside the network: the first layer's weights as tiles, per-layer health over time,
and one digit through the network.

Fed by plain method calls -- ``show_stats(LayerStats)`` (the weights come with the stats
after each test), ``show_weights(array)`` and ``show_digit(DigitTrace, image)`` -- which
the dashboard's run signals (``RunSignals``: the live run and `watch` alike) call once
the screen follows them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from core.events import DigitTrace, LayerStats
from tui.screens.common import RunSignals, follow, is_compact
from tui.widgets.digittrace import DigitTraceView
from tui.widgets.footer import KeyFooter
from tui.widgets.layerhealth import LayerHealth
from tui.widgets.weights import WeightTiles


def first_weights(ev: LayerStats) -> np.ndarray | None:
    """The first layer's weights carried by ``ev`` (units x inputs), if any."""
    if not ev.first_weights:
        return None
    return np.frombuffer(ev.first_weights, dtype=np.float32).reshape(ev.first_shape)


def when(ev: LayerStats) -> str:
    if ev.after_test:
        return "before training" if ev.epoch == 0 else f"after epoch {ev.epoch}"
    return f"epoch {ev.epoch}, step {ev.step:,}"


class InsideScreen(Screen):
    DEFAULT_CSS = """
    InsideScreen { padding: 0 1; }
    InsideScreen > #in-title { height: 1; background: $primary-background; padding: 0 1;
                               margin: 0 -1; }
    InsideScreen > LayerHealth { margin-top: 1; }
    InsideScreen > DigitTraceView { margin-top: 1; }
    InsideScreen.-compact > LayerHealth, InsideScreen.-compact > DigitTraceView { margin-top: 0; }
    """
    BINDINGS = [
        Binding("escape,w,q", "close", "Back", key_display="q"),
        Binding("right,pagedown", "page(1)", "Next tiles"),
        Binding("left,pageup", "page(-1)", "Prev tiles"),
        Binding("x", "scale", "Scale"),
        Binding("z", "zoom", "Tile size"),
        Binding("n", "next_digit", "Next digit"),
    ]

    class DigitWanted(Message):
        """The screen wants test example ``index`` traced (whoever owns the model does it)."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, *, ascii: bool = False, stats: Sequence[LayerStats] = (),
                 architecture: str = "", digit: int = 0, watching: bool = False,
                 follow: RunSignals | None = None, name: str | None = None) -> None:
        """``follow``: the dashboard's run (the stats so far, then each new one);
        without it, ``stats`` and what is shown by calling the show_ methods."""
        super().__init__(name=name)
        self.run_signals = follow
        self.watching = watching  # following a run folder: no model here, statistics only
        self.digit = digit  # the test example traced
        self.ascii = ascii
        self.architecture = architecture
        self._waiting: list[tuple] = [(self.show_stats, ev) for ev in stats]  # until mounted
        self._ready = False
        self._zoom_chosen = False
        self.latest: LayerStats | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="in-title")
        yield WeightTiles(ascii=self.ascii, placeholder=(
            "the first layer's weights appear after the run's next test" if self.watching else ""))
        yield LayerHealth(ascii=self.ascii)
        yield DigitTraceView(ascii=self.ascii, placeholder=(
            "a digit traced needs the model: not in the run folder (watch)" if self.watching else ""))
        yield KeyFooter()

    def on_mount(self) -> None:
        self.on_resize()
        self._ready = True
        signals = self.run_signals
        if signals is not None:  # all kept so far, then each new one: nothing missed between
            self._waiting[:0] = [(self.show_stats, ev) for ev in signals.layer_stats()]
            follow(signals.stats, self, self._followed_stats)
            follow(signals.weights, self, lambda shown: self.show_weights(*shown))
            follow(signals.trace, self, lambda shown: self.show_digit(*shown))
        for method, *args in self._waiting:
            method(*args)
        self._waiting = []
        self._title()
        self.post_message(self.DigitWanted(self.digit))

    def on_resize(self) -> None:
        if self._ready:
            self._title()
        compact = is_compact(self.app.size)
        self.set_class(compact, "-compact")
        tiles = self.query_one(WeightTiles)
        if not self._zoom_chosen:
            tiles.zoom = 2 if compact else 1
            tiles.refresh()
        self.query_one(DigitTraceView).set_compact(compact)

    # ------------------------------------------------------------ fed by the app
    def show_stats(self, ev: LayerStats) -> None:
        """A new LayerStats: the health rows, and the tiles when it brings weights."""
        if not self._ready:
            self._waiting.append((self.show_stats, ev))
            return
        self.latest = ev
        self.query_one(LayerHealth).add(ev)
        w = first_weights(ev)
        if w is not None:
            self.show_weights(w, when(ev))
        self._title()

    def _followed_stats(self, ev: LayerStats) -> None:
        self.show_stats(ev)
        if ev.after_test:  # the traced digit follows training too
            self.post_message(self.DigitWanted(self.digit))

    def show_weights(self, weights: np.ndarray, when: str = "") -> None:
        if not self._ready:
            self._waiting.append((self.show_weights, weights, when))
            return
        self.query_one(WeightTiles).show(weights, when)

    def show_digit(self, trace: DigitTrace, image: np.ndarray | None = None,
                   classes: Sequence[str] | None = None) -> None:
        if not self._ready:
            self._waiting.append((self.show_digit, trace, image, classes))
            return
        if trace.index >= 0:
            self.digit = trace.index
        self.query_one(DigitTraceView).show(trace, image, classes)

    def _title(self) -> None:
        """Narrow, "Inside" for "Inside the network", then no architecture (the
        dashboard's header says it): the time of the statistics stays."""
        room = self.app.size.width - 2
        latest = f" · {when(self.latest)}" if self.latest is not None else ""
        arch = f" · {self.architecture}" if self.architecture else ""
        for name, middle in (("Inside the network", arch), ("Inside", arch), ("Inside", "")):
            if len(name + middle + latest) <= room:
                break
        t = Text.assemble((name, "bold"), middle, latest, no_wrap=True, overflow="ellipsis")
        self.query_one("#in-title", Static).update(t)

    # ------------------------------------------------------------ keys
    def action_close(self) -> None:
        self.dismiss()

    def action_page(self, pages: int) -> None:
        self.query_one(WeightTiles).page_by(pages)

    def action_scale(self) -> None:
        self.query_one(WeightTiles).toggle_scale()

    def action_next_digit(self) -> None:
        self.digit += 1
        self.post_message(self.DigitWanted(self.digit))

    def action_zoom(self) -> None:
        if self.query_one(WeightTiles).toggle_zoom():
            self._zoom_chosen = True
        else:
            self.notify("Full-size tiles do not fit in this window's height.", timeout=3)
