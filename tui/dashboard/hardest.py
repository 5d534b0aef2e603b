"""The hardest test examples: those with the highest loss after the latest test, each
with a bar chart of its 10 softmax probabilities."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding

from core.events import Prediction
from tui.screens.common import is_compact, test_title
from tui.screens.paged import PagedCardsScreen
from tui.widgets.probcard import card_size, prob_card


class HardestScreen(PagedCardsScreen):
    BINDINGS = [Binding("escape,h,q", "close", "Back", key_display="q")]
    EMPTY = "The hardest examples appear after the first test."

    def _scale(self) -> int:
        return 2 if is_compact(self.app.size) else 1

    def items(self) -> tuple[Prediction, ...]:
        test = self.app.view.last_test
        return test.hardest if test is not None else ()

    def card_size(self) -> tuple[int, int]:
        return card_size(self.app.view.class_names, self._scale())

    def card(self, p: Prediction, rank: int):
        app = self.app
        return prob_card(app.view.test_images[p.index].reshape(28, 28), p, app.view.class_names,
                         ascii=app.ascii, scale=self._scale(), rank=rank)

    def heading(self) -> Text:
        """The longest that fits one line with the page (" · page 1/4 (n/p)"): narrow,
        the words go before the numbers."""
        test = self.app.view.last_test
        room = self.app.size.width - 2 - 18
        for name, legend in ((" (highest loss)", " · t: true class, p: predicted"),
                             ("", " · t: true, p: predicted"), ("", "")):
            if len(f"Hardest examples{name} · {test_title(test)}{legend}") <= room:
                break
        return Text.assemble(("Hardest examples", "bold"), f"{name} · {test_title(test)}{legend}")
