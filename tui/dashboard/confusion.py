"""What the network gets wrong: the confusion matrix with per-class accuracy and the most
confused pairs (ConfusionScreen), and the digits of one cell (PairScreen)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from core.events import TestEnd
from core.report import bar, most_confused
from tui.screens.common import RunSignals, follow, is_compact, test_title
from tui.dashboard.hardest import HardestScreen
from tui.screens.paged import PagedCardsScreen
from tui.widgets.confusion import ConfusionMatrix
from tui.widgets.footer import KeyFooter
from tui.widgets.gallery import digit_card

PAIRS = 5


class ConfusionScreen(Screen):
    DEFAULT_CSS = """
    ConfusionScreen { padding: 0 1; }
    ConfusionScreen > #cm-title { height: 1; background: $primary-background; padding: 0 1;
                                  margin: 0 -1; }
    ConfusionScreen > ConfusionMatrix { margin-top: 1; }
    ConfusionScreen > #cm-cell { height: 1; margin-top: 1; }
    ConfusionScreen > #cm-pairs { height: auto; margin-top: 1; }
    ConfusionScreen.-compact > ConfusionMatrix, ConfusionScreen.-compact > #cm-cell,
    ConfusionScreen.-compact > #cm-pairs { margin-top: 0; }
    """
    BINDINGS = [
        Binding("escape,c,q", "close", "Back", key_display="q"),
        Binding("h", "hardest", "Hardest"),
    ]

    def __init__(self, signals: RunSignals | None = None) -> None:
        super().__init__()
        self.run_signals = signals  # the dashboard's run, followed test by test

    def compose(self) -> ComposeResult:
        yield Static(id="cm-title")
        yield ConfusionMatrix(ascii=self.app.ascii)
        yield Static(id="cm-cell")
        yield Static(id="cm-pairs")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(ConfusionMatrix).focus()
        self.on_resize()
        self.show_test(self.app.view.last_test)
        follow(self.run_signals and self.run_signals.test, self, self.show_test)

    def on_resize(self) -> None:
        compact = is_compact(self.app.size)
        self.set_class(compact, "-compact")
        self.query_one(ConfusionMatrix).set_compact(compact)
        if self.is_mounted:  # the pairs and the cell line are fitted to the size
            self.show_test(self.app.view.last_test)

    def show_test(self, test: TestEnd | None) -> None:
        """The latest test (and each test after it while this screen is open)."""
        classes = self.app.view.class_names
        self.query_one("#cm-title", Static).update(Text.assemble(
            ("Confusion matrix", "bold"), f" · {test_title(test)}",
            "" if is_compact(self.app.size) else " · rows: true class, columns: predicted"))
        if test is None or not test.confusion:
            return
        self.query_one(ConfusionMatrix).show(test.confusion, classes)
        self._describe_cell(*self.query_one(ConfusionMatrix).cursor)
        self.query_one("#cm-pairs", Static).update(self._pairs_text(test, classes))

    def _pairs_text(self, test: TestEnd, classes) -> Text:
        """The most confused pairs: as many as the height leaves (all PAIRS from 24
        rows), each on one line: narrow, the bar shortens, then "of <class>" goes (the
        heading says the share is of the true class)."""
        width, height = self.app.size
        room = width - 2
        n_classes = len(test.confusion)
        used = 1 + (n_classes + 2) + 1 + 1 + 1  # title, matrix, cell line, heading, footer
        if not is_compact(self.app.size):
            used += 3  # the margins above the matrix, the cell line and the pairs
        pairs = most_confused(test.confusion, max(1, min(PAIRS, height - used)))
        text = Text("Most confused (true → predicted)", style="bold", no_wrap=True,
                    overflow="ellipsis")
        if not pairs:
            text.append("\n  none: every test digit is classified correctly", "dim")
            return text
        top = pairs[0][2]
        width = max(len(f"{classes[t]} → {classes[p]}") for t, p, _ in pairs)
        longest = max(len(classes[t]) for t, _, _ in pairs)
        bar_w, of_class = 12, True
        fixed = 2 + width + 1 + 5 + 2 + 1 + 5  # "  a → b  count  bar 18.7%"
        if fixed + bar_w + 4 + longest > room:
            of_class = False
            text.append(" · % of the true class", "dim")
        bar_w = max(3, min(12, room - fixed - (4 + longest if of_class else 0)))
        for t, p, n in pairs:
            row_total = sum(test.confusion[t])
            text.append(f"\n  {f'{classes[t]} → {classes[p]}':<{width}} {n:>5}  ")
            text.append(bar(n / top, bar_w, ascii=self.app.ascii), "red")
            text.append(f" {100 * n / row_total:4.1f}%" + (f" of {classes[t]}" if of_class else ""),
                        "dim")
        return text

    def _describe_cell(self, t: int, p: int) -> None:
        test = self.app.view.last_test
        if test is None or not test.confusion:
            return
        classes = self.app.view.class_names
        count, row = test.confusion[t][p], sum(test.confusion[t])
        share = f" ({100 * count / row:.1f}% of true {classes[t]})" if row else ""
        what = "correct" if t == p else "wrong"
        hint = "  · Enter: show them" if count else ""
        room = self.app.size.width - 2
        head = f"▶ true {classes[t]}, predicted {classes[p]}: {count:,} {what}"
        if len(head + share + hint) > room:  # narrow: the hint goes (the footer has ⏎), then
            hint = ""                        # the class named twice
            if len(head + share) > room and row:
                share = f" ({100 * count / row:.1f}%)"
            if len(head + share) > room:
                share = ""
        self.query_one("#cm-cell", Static).update(Text.assemble(
            ("▶ ", "bold"), f"true {classes[t]}, predicted {classes[p]}: ",
            (f"{count:,}", "bold"), f" {what}{share}", (hint, "dim"),
            no_wrap=True, overflow="ellipsis"))

    def on_confusion_matrix_moved(self, message: ConfusionMatrix.Moved) -> None:
        self._describe_cell(message.true, message.pred)

    def on_confusion_matrix_selected(self, message: ConfusionMatrix.Selected) -> None:
        test = self.app.view.last_test
        if test is not None and test.confusion and test.confusion[message.true][message.pred]:
            self.app.push_screen(PairScreen(message.true, message.pred, self.run_signals))
        else:
            self.notify("No test digits in that cell.", timeout=3)

    def action_close(self) -> None:
        self.dismiss()

    def action_hardest(self) -> None:
        self.app.push_screen(HardestScreen(self.run_signals))


class PairScreen(PagedCardsScreen):
    """The test digits of one confusion-matrix cell, most confident first."""

    EMPTY = "No test digits in this cell after the latest test."

    def __init__(self, true: int, pred: int, signals: RunSignals | None = None) -> None:
        super().__init__(signals)
        self.true, self.pred = true, pred
        self.indices: list[int] = []

    def update_items(self, test: TestEnd | None) -> None:
        app = self.app
        self.indices = []
        if test is not None and test.predictions:
            members = [i for i, (y, p) in enumerate(zip(app.view.test_labels, test.predictions))
                       if y == self.true and p == self.pred]
            self.indices = sorted(members, key=lambda i: -test.confidences[i])

    def items(self) -> list[int]:
        return self.indices

    def card_size(self) -> tuple[int, int]:
        return (15, 8) if is_compact(self.app.size) else (29, 16)

    def card(self, i: int, rank: int):
        app, test, names = self.app, self.app.view.last_test, self.app.view.class_names
        return digit_card(app.view.test_images[i].reshape(28, 28), names[app.view.test_labels[i]],
                          names[test.predictions[i]], test.confidences[i], ascii=app.ascii,
                          scale=2 if is_compact(app.size) else 1, index=i)

    def heading(self) -> Text:
        names = self.app.view.class_names
        what = "correct" if self.true == self.pred else f"predicted as {names[self.pred]}"
        return Text.assemble((f"true {names[self.true]} {what}", "bold"),
                             f": {len(self.indices):,} digits, most confident first · "
                             f"{test_title(self.app.view.last_test)}")
