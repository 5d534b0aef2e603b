"""Plot data helpers (no Textual import: the headless mode uses them too)."""

from __future__ import annotations

from collections.abc import Sequence


def downsample(xs: Sequence[float], ys: Sequence[float], buckets: int) -> tuple[list, list]:
    """At most ``buckets`` points: the mean of each run of consecutive points."""
    n = len(xs)
    if n <= buckets or buckets <= 0:
        return list(xs), list(ys)
    out_x, out_y = [], []
    for b in range(buckets):
        lo, hi = b * n // buckets, (b + 1) * n // buckets
        if hi > lo:
            out_x.append(xs[hi - 1])
            out_y.append(sum(ys[lo:hi]) / (hi - lo))
    return out_x, out_y


def nice_ticks(low: float, high: float, most: int = 5) -> list[int]:
    """Whole-number ticks from ``low`` to ``high`` at a 1, 2 or 5 x 10^k step, about
    ``most`` of them (plotext's own can come out as 39137.5)."""
    import math

    span = max(high - low, 1)
    raw = span / max(most, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(int(step), 1)
    first = math.ceil(low / step) * step
    return list(range(int(first), int(high) + 1, step))


RECENT_TESTS = 10  # the zoomed view: the last ten tests (never the one before training)
SMOOTHING = (0.0, 0.6, 0.9, 0.99)  # TensorBoard's slider, in steps: o goes to the next


def smooth(ys: Sequence[float], weight: float, start: Sequence[float] = ()) -> list[float]:
    """TensorBoard's smoothing: an exponential moving average, debiased so that the
    first points are not pulled towards 0. ``start`` is the smoothed beginning of the
    same series (computed earlier with the same weight): only the rest is computed."""
    out = list(start)
    if weight <= 0:
        return list(ys)
    n = len(out)
    # The running average before debiasing, recovered from the last smoothed point.
    last = out[-1] * (1 - weight ** n) if n else 0.0
    for i in range(n, len(ys)):
        last = last * weight + (1 - weight) * ys[i]
        out.append(last / (1 - weight ** (i + 1)))
    return out


def recent_start(test_x: Sequence[float], keep: int = RECENT_TESTS) -> float:
    """Where the zoomed view starts on the x axis: at the oldest of the last ``keep``
    tests, leaving out the test before training (at chance, ~10 %) as soon as two
    later tests exist; 0 (the whole run) before that."""
    first = max(1, len(test_x) - keep)
    return test_x[first] if len(test_x) - first >= 2 else 0


# ---------------------------------------------------------------- the y axis, row by row
#
# plotext draws a value v on a canvas of R rows spanning lo..hi at row
# floor(0.5 + (R - 1) * (v - lo) / (hi - lo)) from the bottom: each row k stands for the
# value lo + k * step (step = (hi - lo) / (R - 1)) and a point goes to the row whose
# value is nearest its own. Its ticks go through the same formula, but a tick that falls
# between two rows lands on one of them, and its label is rounded for width: so a label
# could name a row that stands for another value (86.03 % drawn beside "92.1").
#
# The rule here: limits and ticks are chosen together so that every label sits on a row
# that stands for exactly the labelled value; then a point is on the row nearest its
# value, and on a labelled row, that label is the nearest to it.

NICE_STEPS = (1.0, 2.0, 2.5, 5.0)


def _decimals(value: float) -> int:
    """The fewest decimals that write ``value`` exactly (a nice step: 0.25 -> 2)."""
    for d in range(0, 12):
        if abs(round(value, d) - value) <= abs(value) * 1e-9:
            return d
    return 12


class RowAxis:
    """A y axis fitted to R canvas rows: row k stands for ``lo + k * step``; ``ticks``
    (values) and ``labels`` (their text) sit on rows only. ``log``: values are log10 of
    the real ones, labels the real ones."""

    def __init__(self, lo: float, hi: float, rows: int, ticks: list[float], labels: list[str],
                 log: bool = False):
        self.lo, self.hi, self.rows, self.ticks, self.labels, self.log = lo, hi, rows, ticks, labels, log

    @property
    def step(self) -> float:
        return (self.hi - self.lo) / max(self.rows - 1, 1)

    def row(self, value: float) -> int:
        """The row (from the bottom) plotext draws ``value`` on: the nearest, half-way up."""
        import math

        return min(max(math.floor(round(0.5 + (value - self.lo) / self.step, 8)), 0), self.rows - 1)

    def braille(self, values: Sequence[float]) -> list[float]:
        """Values that plotext's braille markers (four dots a row) draw on each value's
        nearest row, the dot within the row where the value lies in it: plotext maps
        braille dots over 4R - 1 steps, which can put a value near a row's edge on the
        row beside it."""
        import math

        out, dots = [], 4 * self.rows - 1
        for v in values:
            k = self.row(v)
            within = (v - self.lo) / self.step - k  # -0.5 .. 0.5 within row k
            dot = min(max(math.floor((within + 0.5) * 4), 0), 3)
            out.append(self.lo + (4 * k + dot) * (self.hi - self.lo) / dots)
        return out

    def __repr__(self) -> str:
        return f"RowAxis({self.lo!r}, {self.hi!r}, rows={self.rows}, labels={self.labels})"


def plot_rows(height: int, *, title: bool = True, xlabel: bool = False, xticks: bool = True) -> int:
    """The canvas rows of a plotext figure ``height`` lines tall, boxed (two axis
    lines): less the title, the x tick labels and the x label."""
    return height - 2 - int(title) - int(xticks) - int(xlabel)


def row_axis(lo: float, hi: float, rows: int, *, most: int = 5, floor: float | None = None,
             ceiling: float | None = None) -> RowAxis:
    """The tightest y axis holding ``lo``..``hi`` on ``rows`` rows whose labels (at most
    ``most``, at least two where the rows allow) are multiples of a 1, 2, 2.5 or 5 x 10^k
    step, each on the row that stands for it; not below ``floor`` nor, where the rows
    allow it, above ``ceiling``."""
    import math

    rows = max(rows, 2)
    if not hi > lo:
        lo, hi = lo - max(abs(lo) * 0.01, 1e-9), hi + max(abs(hi) * 0.01, 1e-9)
    span = hi - lo
    least = 3 if rows >= 5 else 2  # labels wanted, where the rows allow
    best = None
    for power in range(math.floor(math.log10(span / (rows - 1))) - 1, math.ceil(math.log10(span)) + 2):
        for nice in NICE_STEPS:
            label_step = nice * 10.0 ** power
            for m in range(1, rows):  # rows from one label to the next
                step = label_step / m
                if step * (rows - 1) < span * (1 - 1e-9):
                    continue
                start = math.floor(lo / step + 1e-9) * step
                if floor is not None and start < floor - 1e-12:
                    start = math.ceil(floor / step - 1e-9) * step
                top = start + step * (rows - 1)
                if top < hi - span * 1e-9:
                    continue
                if ceiling is not None and top > ceiling:  # down, as far as the data allow
                    k = math.floor(min(top - ceiling, top - hi) / step + 1e-9)
                    if floor is not None:
                        k = min(k, math.floor((start - floor) / step + 1e-9))
                    start, top = start - k * step, top - k * step
                first = math.ceil(start / label_step - 1e-9)
                ticks = []
                while first * label_step <= top + step * 1e-6:
                    ticks.append(first * label_step)
                    first += 1
                n = len(ticks)
                over = max(0, n - most)
                if ceiling is not None:
                    ticks = [t for t in ticks if t <= ceiling + step * 1e-6]
                    n = len(ticks)
                beyond = ceiling is not None and top > ceiling + step * 1e-6
                score = (n < 2, beyond, max(0, least - n), over, top - start, -n, m)
                if best is None or score < best[0]:
                    best = (score, start, top, ticks, label_step)
    _, start, top, ticks, label_step = best
    d = _decimals(label_step)
    labels = [f"{t:.{d}f}" for t in ticks]
    return RowAxis(start, top, rows, [t for t in ticks], labels)


def log_row_axis(lo: float, hi: float, rows: int, *, most: int = 5) -> RowAxis:
    """A log10 axis (``lo``, ``hi``: log10 of the values) whose rows are a whole number
    of rows a decade, labelled at the decades (1, 0.1, 0.01 ...); where fewer than two
    decades show, every few rows are labelled with as many digits as tell them apart
    from their neighbours (to a tenth of a row)."""
    import math

    rows = max(rows, 2)
    if not hi > lo:
        lo, hi = lo - 0.05, hi + 0.05
    per = max(1, math.floor((rows - 1) / (hi - lo)))  # rows a decade
    while True:
        step = 1 / per
        start = math.floor(lo / step + 1e-9) * step
        top = start + step * (rows - 1)
        if top >= hi - 1e-9 or per == 1:
            break
        per -= 1
    decades = [k for k in range(math.ceil(start - 1e-9), math.floor(top + 1e-9) + 1)]
    if len(decades) >= 3:
        every = max(1, math.ceil(len(decades) / most))
        ticks = [float(k) for k in decades[::every]]
        return RowAxis(start, top, rows, ticks, [_real(k) for k in ticks], log=True)
    # Fewer than three decades: every few rows labelled, in step with a decade's row,
    # each label with the digits that put it within a fiftieth of a row of its row's value.
    every = max(1, math.ceil(rows / most))
    anchor = round((decades[0] - start) / step) if decades else 0
    ticks = [start + k * step for k in range(anchor % every, rows, every)]
    labels = []
    for t in ticks:
        for digits in range(1, 8):
            text = f"{10 ** t:.{digits}g}"
            if abs(math.log10(float(text)) - t) < step / 50:
                break
        labels.append(_plain(text))
    return RowAxis(start, top, rows, ticks, labels, log=True)


def _plain(text: str) -> str:
    """A %g number without an exponent (1e-05 -> 0.00001)."""
    return f"{float(text):.12f}".rstrip("0").rstrip(".") if "e" in text else text


def _real(decade: float) -> str:
    value = 10.0 ** decade
    return f"{value:.{max(0, -int(decade))}f}" if decade < 0 else f"{value:g}"
