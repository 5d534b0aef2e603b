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


def fit_range(values: Sequence[float], *, pad: float = 0.08, least: float = 0.0) -> tuple[float, float]:
    """A y range holding every value with a margin, at least ``least`` tall."""
    lo, hi = min(values), max(values)
    span = max(hi - lo, least, abs(hi) * 1e-3, 1e-9)
    mid = (lo + hi) / 2
    lo, hi = min(lo, mid - span / 2), max(hi, mid + span / 2)
    margin = (hi - lo) * pad
    return lo - margin, hi + margin


def log_ticks(lo: float, hi: float, most: int = 5) -> tuple[list[float], list[str]]:
    """Ticks for a log10 axis spanning 10**lo .. 10**hi: positions (log10) and labels
    in the real unit, at 1, 2 and 5 x 10^k when those fit, else evenly spaced."""
    import math

    values = [m * 10 ** k for k in range(math.floor(lo) - 1, math.ceil(hi) + 1) for m in (1, 2, 5)]
    inside = [v for v in values if lo <= math.log10(v) <= hi]
    if len(inside) > most:
        inside = [v for v in inside if f"{v:g}".lstrip("0.").startswith("1")] or inside
    if len(inside) < 2:
        inside = [10 ** (lo + (hi - lo) * i / (most - 1)) for i in range(most)]
    return [math.log10(v) for v in inside], [f"{v:.3g}" for v in inside]
