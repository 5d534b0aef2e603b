"""Generated metrics.jsonl rows that no run writes: every field of every row kind set to
NaN, infinities, huge and negative numbers and values of the wrong type, fields of the
wrong shape, and lines that are not rows at all (for `watch`'s robustness tests)."""

from __future__ import annotations

import copy
import json
from typing import Any

NUMBERS = [float("nan"), float("inf"), float("-inf"), 1e308, -1e308, 10**30, 2**63, -1, -10**9,
           0]
WRONG_TYPES = ["x", [], {}, None, True, [1, 2]]
GARBAGE_LINES = [b"\x00\xff\xfe garbage", b"[]", b"{}", b"null", b'{"kind": 5}',
                 b'{"kind": "train"', b"[" * 50_000 + b"]" * 50_000, b"1e999999", b'"x"',
                 b'{"kind": "test", "epoch": ' + b"9" * 5000 + b"}"]


def templates(classes: int = 10) -> dict[str, dict[str, Any]]:
    """One well-formed row of each kind, as a run writes it."""
    confusion = [[5 if i == j else 0 for j in range(classes)] for i in range(classes)]
    layer = {"name": "layers.0", "shape": [100, 784], "weight_norm": 5.7, "grad_norm": 0.1,
             "update_ratio": 0.001, "activation_mean": 0.5, "saturated": 0.1}
    hp = {"lr": 0.2, "momentum": 0.9, "batch_size": 50, "test_batch_size": 1000, "epochs": 1,
          "seed": 1, "hidden": [100, 50], "activation": "sigmoid", "optimizer": "sgd"}
    return {
        "start": {"kind": "start", "epoch": 0, "step": 0, "hparams": hp, "device": "cpu",
                  "n_train": 500, "n_test": 50, "n_params": 84060, "architecture": "784-100-50-10",
                  "classes": [str(i) for i in range(classes)]},
        "train": {"kind": "train", "epoch": 1, "step": 1, "seen": 50, "loss": 2.3, "batch": 0,
                  "batches": 10, "batch_size": 50, "epoch_samples": 50, "n_train": 500,
                  "samples_per_sec": 2818.5},
        "test": {"kind": "test", "epoch": 1, "step": 10, "seen": 500, "loss": 1.2,
                 "accuracy": 100.0, "correct": 5 * classes, "total": 5 * classes,
                 "confusion": confusion, "per_class_correct": [5] * classes,
                 "per_class_total": [5] * classes},
        "layers": {"kind": "layers", "epoch": 1, "step": 10, "seen": 500,
                   "layers": [layer, {**layer, "name": "layers.2", "shape": [50, 100]}]},
        "edit": {"kind": "edit", "epoch": 1, "step": 10, "seen": 500, "effect": "now",
                 "applied": True, "changes": {"lr": [0.2, 0.1]}},
        "epoch": {"kind": "epoch", "epoch": 1, "step": 10, "seen": 500, "loss": 2.0,
                  "seconds": 0.5},
        "end": {"kind": "end", "status": "finished", "epoch": 1, "step": 10,
                "best_accuracy": 100.0, "best_epoch": 1},
    }


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    """Every leaf's path in a row (into dicts and lists, the first two items of a list)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _paths(v, path + (k,))]
    if isinstance(value, list) and value:
        return [p for i, v in enumerate(value[:2]) for p in _paths(v, path + (i,))]
    return [path]


def _set(row: dict, path: tuple, value: Any) -> dict:
    row = copy.deepcopy(row)
    target = row
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return row


def hostile_rows(kind: str) -> list[dict[str, Any]]:
    """``kind``'s row with each field (nested ones too) set to each bad value in turn,
    and the row with fields of the wrong shape."""
    good = templates()[kind]
    rows = [_set(good, path, value) for path in _paths(good) if path != ("kind",)
            for value in NUMBERS + WRONG_TYPES]
    big = templates(classes=3)[kind]  # a 3-class row in a 10-class run
    rows.append(big)
    if kind == "test":
        rows.append({**good, "per_class_correct": [0] * 1000, "per_class_total": [1] * 1000})
        rows.append({**good, "confusion": [[0] * 3] * 3})
        rows.append({**good, "confusion": [[1] * 1000] * 1000, "total": 10**6, "correct": 0})
    if kind == "layers":
        rows.append({**good, "layers": [good["layers"][0]] * 1000})
        rows.append({**good, "layers": []})
    if kind == "start":
        rows.append({**good, "classes": [str(i) for i in range(1000)]})
    return rows


def dumps(row: dict[str, Any]) -> bytes:
    return json.dumps(row).encode() + b"\n"
