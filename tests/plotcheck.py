"""Reading a drawn plot back: which value each row stands for, by its labels.

The rule every plot keeps (tui/plotdata.py): each y label sits on the row that stands
for exactly the labelled value (rows evenly spaced), and each point is drawn on the row
whose value is nearest its own; so a point on a labelled row is nearest that label.
"""

from __future__ import annotations

import math
import re

LABEL = re.compile(r"^\s*(-?\d[\d.]*)\s*┤")
BRAILLE = range(0x2801, 0x2900)


def canvas_rows(text: str) -> tuple[list[str], int]:
    """The lines between the plot's top and bottom borders, and the column of its
    left border (the y axis)."""
    lines = text.splitlines()
    top = next(i for i, line in enumerate(lines) if "┌" in line)
    bottom = next(i for i, line in enumerate(lines) if "└" in line and i > top)
    return lines[top + 1:bottom], lines[top].index("┌")


def row_values(text: str, *, log: bool = False) -> tuple[list[float], float]:
    """The value each canvas row (top first) stands for, from the labels, and the
    step from one row to the next; asserts that every label is on the row that
    stands for it (the labels lie on one evenly spaced scale)."""
    rows, _ = canvas_rows(text)
    labelled = []
    for i, line in enumerate(rows):
        m = LABEL.match(line)
        if m:
            value = float(m.group(1))
            labelled.append((i, math.log10(value) if log else value))
    assert len(labelled) >= 2, f"fewer than two y labels:\n{text}"
    # The scale through the labels (least squares), then each label's distance from it:
    # linear labels are exact, a log axis's labels between decades within 1/50 of a row.
    n = len(labelled)
    mi = sum(i for i, _ in labelled) / n
    mv = sum(v for _, v in labelled) / n
    slope = sum((i - mi) * (v - mv) for i, v in labelled) / sum((i - mi) ** 2 for i, _ in labelled)
    step = -slope  # value per row, going down
    assert step > 0
    i0, v0 = 0, mv - slope * mi  # the value of the top row
    for i, v in labelled:
        assert abs(v0 - step * i - v) < step * (0.02 if log else 1e-3), \
            f"the label {v} is not on the row that stands for it:\n{text}"
    return [v0 - step * (i - i0) for i in range(len(rows))], step


def marks(text: str, marker: str) -> list[tuple[int, int]]:
    """(column, canvas row) of each ``marker`` right of the y axis, left to right."""
    rows, axis = canvas_rows(text)
    return sorted((col, i) for i, line in enumerate(rows)
                  for col, ch in enumerate(line) if ch == marker and col > axis)


def assert_points_on_nearest_rows(text: str, values: list[float], marker: str = "●",
                                  *, log: bool = False) -> None:
    """Each of ``values`` (in x order, one column each) drawn on its nearest row."""
    rows, step = row_values(text, log=log)
    found = marks(text, marker)
    assert len(found) == len(values), f"{len(found)} marks for {len(values)} values:\n{text}"
    for (col, row), value in zip(found, values):
        v = math.log10(value) if log else value
        nearest = min(range(len(rows)), key=lambda r: abs(rows[r] - v))
        # The nearest row (a value half-way between two rows goes up, as plotext rounds).
        assert abs(rows[row] - v) <= step / 2 + step * 1e-6, (
            f"{value} drawn on the row of {rows[row]:.4g}, nearest is {rows[nearest]:.4g} "
            f"(column {col}):\n{text}")


def braille_rows(text: str, column: int) -> set[int]:
    """The canvas rows holding a braille dot in ``column``."""
    rows, _ = canvas_rows(text)
    return {i for i, line in enumerate(rows) if column < len(line) and ord(line[column]) in BRAILLE}
