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
