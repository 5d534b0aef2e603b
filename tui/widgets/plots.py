"""The tutorial's figure in the terminal: train loss, test loss and accuracy."""

from __future__ import annotations

from collections.abc import Sequence

from textual_plotext import PlotextPlot

from tui.plotdata import downsample, nice_ticks

X_LABEL = "number of training examples seen"


class LossPlot(PlotextPlot):
    """Train loss as a line, test loss as points, a mark where a hyperparameter changed."""

    DEFAULT_CSS = "LossPlot { min-height: 5; }"

    def replot(self, train_x: Sequence[int], train_y: Sequence[float],
               test_x: Sequence[int], test_y: Sequence[float], marks: Sequence[int]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("Loss")
        if self.size.height >= 12:
            plt.xlabel(X_LABEL)
        width = max(self.size.width, 20)
        if train_x:
            x, y = downsample(train_x, train_y, 2 * width)
            plt.plot(x, y, label="train", marker="braille")
        if test_x:
            plt.scatter(list(test_x), list(test_y), label="test", marker="●")
        for m in marks:
            plt.vline(m, "orange")
        xs = [*train_x[-1:], *test_x[-1:]]
        if xs:
            plt.xticks(nice_ticks(0, max(xs), max(3, self.size.width // 8)))
        self.refresh()


class AccuracyPlot(PlotextPlot):
    """Test accuracy after each test; the best and its epoch in the title."""

    DEFAULT_CSS = "AccuracyPlot { min-height: 5; }"

    def replot(self, test_x: Sequence[int], acc: Sequence[float], best: tuple[float, int]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        best_acc, best_epoch = best
        plt.title(f"Accuracy %  best {best_acc:.2f} (epoch {best_epoch})"
                  if best_epoch >= 0 else "Accuracy %")
        if self.size.height >= 12:
            plt.xlabel(X_LABEL)
        if test_x:
            plt.scatter(list(test_x), list(acc), marker="●")
            plt.ylim(max(0, min(acc) - 5), 100)
            plt.xticks(nice_ticks(0, max(test_x), max(3, self.size.width // 8)))
        self.refresh()
