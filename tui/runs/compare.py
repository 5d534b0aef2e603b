"""The selected runs' curves side by side: loss and accuracy, one colour per run."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Static

from core.runs import Curves
from tui.widgets.compareplot import (
    EPOCHS, SEEN, CompareAccuracyPlot, CompareLossPlot, legend, x_high,
)
from tui.widgets.footer import KeyFooter


class CompareScreen(Screen[None]):
    DEFAULT_CSS = """
    CompareScreen > #compare-title { height: auto; padding: 0 1; background: $panel; }
    CompareScreen > #compare-note { height: auto; padding: 0 1; color: $warning; }
    CompareScreen > #compare-legend { height: auto; padding: 0 1; }
    CompareScreen > Horizontal { height: 1fr; }
    CompareScreen CompareLossPlot, CompareScreen CompareAccuracyPlot { width: 1fr; height: 1fr; }
    CompareScreen.narrow > Horizontal { layout: vertical; }
    """
    BINDINGS = [
        Binding("x", "toggle_x", "Examples seen / epochs"),
        Binding("escape,q,c", "close", "Back", key_display="q"),
    ]

    def __init__(self, runs: Sequence[tuple[str, Curves]]) -> None:
        super().__init__()
        self.runs = list(runs)
        self.x_axis = SEEN
        problems = [f"{name}: {c.problem}" for name, c in self.runs if c.problem]
        problems += [f"{name}: nothing to plot yet" for name, c in self.runs
                     if not (c.train_seen or c.test_seen)]
        self.notes = "; ".join(problems)

    def compose(self) -> ComposeResult:
        yield Static(f"Comparing {len(self.runs)} run{'s' if len(self.runs) != 1 else ''}",
                     id="compare-title")
        yield Static(self.notes, id="compare-note")
        yield Static(legend([name for name, _ in self.runs]), id="compare-legend")
        with Horizontal():
            yield CompareLossPlot()
            yield CompareAccuracyPlot()
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#compare-note").display = bool(self.notes)

    def on_resize(self) -> None:
        self.set_class(self.size.width < 100, "narrow")
        self.query_one("#compare-legend", Static).update(
            legend([name for name, _ in self.runs], self.size.width - 2))
        self.call_after_refresh(self.replot)

    def replot(self) -> None:
        high = x_high(self.runs, self.x_axis)  # one x range for both plots
        with self.app.batch_update():
            self.query_one(CompareLossPlot).replot(self.runs, self.x_axis, high)
            self.query_one(CompareAccuracyPlot).replot(self.runs, self.x_axis, high)

    def action_toggle_x(self) -> None:
        self.x_axis = EPOCHS if self.x_axis == SEEN else SEEN
        self.replot()

    def action_close(self) -> None:
        self.dismiss(None)
