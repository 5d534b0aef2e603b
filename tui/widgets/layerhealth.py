"""Per-layer health over time: one row per Linear layer, a sparkline per statistic
(weight norm, gradient norm, update-to-weight ratio on a log scale with the ~1e-3 rule
of thumb marked, mean activation, saturation) and its latest value."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

from core.events import LayerStat, LayerStats

BLOCKS = "▁▂▃▄▅▆▇█"
ASCII_BLOCKS = "_.-:=+*#"
HISTORY = 400
#: the update ratio's fixed log scale: 8 levels of half a decade, 1e-3 starts level 5 (▅)
UPDATE_LO, UPDATE_HI = 1e-5, 1e-1
RULE = 1e-3


def spark(values: Sequence[float | None], width: int, *, lo: float | None = None,
          hi: float | None = None, log: bool = False, ascii: bool = False) -> str:
    """The last ``width`` values as a sparkline (one character each, padded on the left);
    ``None`` is a blank. ``lo`` / ``hi`` default to the values' range."""
    blocks = ASCII_BLOCKS if ascii else BLOCKS
    vals = list(values)[-width:] if width > 0 else []

    def f(v: float) -> float:
        return math.log10(v) if log else v

    ok = [f(v) for v in vals if v is not None and (v > 0 or not log) and math.isfinite(v)]
    a = f(lo) if lo is not None else (min(ok) if ok else 0.0)
    b = f(hi) if hi is not None else (max(ok) if ok else 1.0)
    out = []
    for v in vals:
        if v is None or not math.isfinite(v) or (log and v <= 0):
            out.append(" ")
            continue
        t = 0.5 if b <= a else (f(v) - a) / (b - a)
        t = min(max(t, 0.0), 1.0) if t == t else 0.5  # a range that overflowed: inf or NaN
        out.append(blocks[min(len(blocks) - 1, int(t * len(blocks)))])
    return " " * (width - len(out)) + "".join(out)


def update_style(v: float | None) -> str:
    """Within a decade of the rule of thumb: green; faster: yellow; slower: blue."""
    if v is None:
        return "dim"
    return "green" if RULE / 10 <= v <= RULE * 10 else ("yellow" if v > RULE * 10 else "blue")


def _num(v: float | None, kind: str) -> str:
    if v is None:
        return "—"
    if kind == "pct":
        return f"{100 * v:.0f}%"
    if kind == "exp":
        return f"{v:.1e}"
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"


COLUMNS = (  # attribute, heading, compact heading, number format, log scale
    ("weight_norm", "‖W‖", "‖W‖", "num", False),
    ("grad_norm", "‖∇W‖ (log)", "‖∇W‖", "exp", True),
    ("update_ratio", "‖ΔW‖/‖W‖ log ▅≥1e-3", "ΔW/W ▅1e-3", "exp", True),
    ("activation_mean", "mean act.", "act", "num", False),
    ("saturated", "saturated", "sat", "pct", False),
)


class LayerHealth(Widget):
    DEFAULT_CSS = """
    LayerHealth { height: auto; }
    """

    def __init__(self, *, ascii: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ascii = ascii
        self.activation = "sigmoid"
        self.order: list[str] = []
        self.shapes: dict[str, tuple[int, int]] = {}
        self.history: dict[str, deque[LayerStat]] = {}
        self.last: LayerStats | None = None

    def add(self, ev: LayerStats) -> None:
        names = [s.name for s in ev.layers]
        if names != self.order or any(self.shapes.get(s.name) != s.shape for s in ev.layers):
            self.clear()  # another network (a restart): start over
            self.order = names
        self.activation = ev.activation
        for s in ev.layers:
            self.shapes[s.name] = s.shape
            self.history.setdefault(s.name, deque(maxlen=HISTORY)).append(s)
        self.last = ev
        self.refresh(layout=True)

    def clear(self) -> None:
        self.order, self.shapes, self.history, self.last = [], {}, {}, None
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:
        return 1 + max(len(self.order), 1)

    def render(self) -> Text:
        width = self.size.width or 80
        compact = width < 100
        if not self.order:
            return Text("Layer health · no statistics yet (every 100 steps and after each test)",
                        "dim", no_wrap=True, overflow="ellipsis")
        labels = {n: self._label(n, i, compact) for i, n in enumerate(self.order)}
        name_w = max(len(v) for v in labels.values()) + 1
        col_w = max(8, (width - name_w) // len(COLUMNS))
        val_w = 7 if compact else 8
        spark_w = col_w - val_w - 2  # a cell between two columns at least, always
        if spark_w < 2:  # too narrow for a sparkline worth reading: the values alone
            spark_w, val_w = 0, col_w - 2
        t = Text(no_wrap=True, overflow="crop")
        t.append("Layer health".ljust(name_w)[:name_w] if not compact else "".ljust(name_w), "bold")
        for _, head, short, _, _ in COLUMNS:
            h = (short if compact else head).replace("▅", (ASCII_BLOCKS if self.ascii else BLOCKS)[4])
            if len(h) > col_w - 1 or not spark_w:  # no sparkline, no scale to mark: the name
                h = short.split()[0]
            t.append(h[:col_w - 1].ljust(col_w), "bold")
        lo_hi = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}.get(self.activation, (None, None))
        for name in self.order:
            t.append("\n")
            t.append(labels[name].ljust(name_w))
            rows = list(self.history[name])
            is_last = name == self.order[-1]
            for attr, _, _, fmt, log in COLUMNS:
                vals = [getattr(s, attr) for s in rows]
                kw: dict = {"log": log, "ascii": self.ascii}
                if attr == "update_ratio":
                    kw.update(lo=UPDATE_LO, hi=UPDATE_HI)
                elif attr == "saturated":
                    kw.update(lo=0.0, hi=1.0)
                elif attr == "activation_mean" and not is_last:
                    kw.update(lo=lo_hi[0], hi=lo_hi[1])
                line = spark(vals, spark_w, **kw) if spark_w else ""
                latest = next((v for v in reversed(vals) if v is not None), None)
                if attr == "update_ratio":
                    pad = spark_w - min(len(vals), spark_w)
                    t.append(line[:pad])
                    for ch, v in zip(line[pad:], vals[-spark_w:] if spark_w else []):
                        t.append(ch, update_style(v))
                    t.append(" " + _num(latest, fmt).rjust(val_w), update_style(latest))
                else:
                    t.append(line, "cyan")
                    t.append(" " + _num(latest, fmt).rjust(val_w))
                t.append(" " * (col_w - spark_w - 1 - val_w))
        return t

    def _label(self, name: str, i: int, compact: bool) -> str:
        out, inp = self.shapes[name]
        return f"{inp}→{out}" if compact else f"{name} {inp}→{out}"
