"""What the network gets wrong, from one test's results: per-class accuracy, the most
confused pairs, and the confusion matrix as plain text (``--report``) or a dict (JSON).

Pure Python over ``TestEnd``'s counts: the dashboard draws the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.events import TestEnd

Matrix = Sequence[Sequence[int]]


def class_accuracy(correct: Sequence[int], total: Sequence[int]) -> list[float | None]:
    """Percent correct per class; None for a class with no test examples."""
    return [100.0 * c / t if t else None for c, t in zip(correct, total)]


def most_confused(confusion: Matrix, k: int = 5) -> list[tuple[int, int, int]]:
    """The ``k`` largest off-diagonal cells as (true, predicted, count), largest first;
    ties in row-major order; empty cells never listed."""
    cells = [(count, t, p) for t, row in enumerate(confusion) for p, count in enumerate(row)
             if t != p and count > 0]
    cells.sort(key=lambda c: (-c[0], c[1], c[2]))
    return [(t, p, count) for count, t, p in cells[:k]]


def short_name(name: str, width: int) -> str:
    return name if len(name) <= width else name[: max(width - 1, 1)] + "."


def confusion_text(confusion: Matrix, classes: Sequence[str]) -> str:
    """The matrix as a grid of counts: rows are the true class, columns the predicted
    class (by index; the row labels give the names), with row and column totals."""
    n = len(confusion)
    names = [f"{i} {short_name(c, 12)}" if c != str(i) else str(i) for i, c in enumerate(classes)]
    label_w = max(len("true \\ pred"), *(len(s) for s in names))
    cell_w = max(5, len(str(max((sum(r) for r in confusion), default=0))) + 1)
    head = "true \\ pred".ljust(label_w) + "".join(f"{p:>{cell_w}}" for p in range(n)) + f"{'total':>{cell_w + 1}}"
    lines = [head]
    for t, row in enumerate(confusion):
        lines.append(names[t].ljust(label_w) + "".join(f"{c:>{cell_w}}" for c in row)
                     + f"{sum(row):>{cell_w + 1}}")
    cols = [sum(confusion[t][p] for t in range(n)) for p in range(n)]
    lines.append("total".ljust(label_w) + "".join(f"{c:>{cell_w}}" for c in cols)
                 + f"{sum(cols):>{cell_w + 1}}")
    return "\n".join(lines)


def bar(fraction: float, width: int, *, ascii: bool = False) -> str:
    """A horizontal bar ``width`` cells wide filled to ``fraction`` (eighths of a cell
    with block characters; ``#`` when ``ascii``). NaN is an empty bar."""
    fraction = min(max(fraction, 0.0), 1.0) if fraction == fraction else 0.0
    if ascii:
        n = round(fraction * width)
        return "#" * n + " " * (width - n)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "")
    return text + " " * (width - len(text))


def per_class_text(correct: Sequence[int], total: Sequence[int], classes: Sequence[str],
                   *, width: int = 30) -> str:
    names = [f"{i} {c}" if c != str(i) else str(i) for i, c in enumerate(classes)]
    label_w = max(len(s) for s in names)
    lines = []
    for name, c, t, acc in zip(names, correct, total, class_accuracy(correct, total)):
        shown = "   -  " if acc is None else f"{acc:6.2f}%"
        lines.append(f"{name.ljust(label_w)} {bar((acc or 0) / 100, width, ascii=True)} "
                     f"{shown} ({c}/{t})")
    return "\n".join(lines)


def report_text(test: TestEnd, classes: Sequence[str], *, pairs: int = 5) -> str:
    """``--report``: the confusion matrix, per-class accuracy and the most confused pairs."""
    when = "before training" if test.epoch == 0 else f"after epoch {test.epoch}"
    parts = [
        f"Confusion matrix (test {when}; rows: true class, columns: predicted class)",
        confusion_text(test.confusion, classes),
        "",
        f"Per-class accuracy (overall {test.accuracy:.2f}%, {test.correct}/{test.total})",
        per_class_text(test.per_class_correct, test.per_class_total, classes),
    ]
    confused = most_confused(test.confusion, pairs)
    if confused:
        parts += ["", "Most confused (true -> predicted: count)"]
        parts += [f"{classes[t]} -> {classes[p]}: {n}" for t, p, n in confused]
    return "\n".join(parts)


def report_dict(test: TestEnd, classes: Sequence[str], *, pairs: int = 5) -> dict[str, Any]:
    return {
        "epoch": test.epoch,
        "classes": list(classes),
        "accuracy": test.accuracy,
        "correct": test.correct,
        "total": test.total,
        "avg_loss": test.avg_loss,
        "confusion": [list(r) for r in test.confusion],
        "per_class": [{"class": name, "correct": c, "total": t, "accuracy": acc}
                      for name, c, t, acc in zip(classes, test.per_class_correct,
                                                 test.per_class_total,
                                                 class_accuracy(test.per_class_correct,
                                                                test.per_class_total))],
        "most_confused": [{"true": classes[t], "predicted": classes[p], "count": n}
                          for t, p, n in most_confused(test.confusion, pairs)],
    }
