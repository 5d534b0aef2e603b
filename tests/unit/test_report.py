"""What the network gets wrong: the report's numbers against an independent computation
on the real MNIST test set, and the report's text read back."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.config import Hyperparameters
from core.datasets import DIGITS, MNISTDataset
from core.events import TestEnd
from core.report import bar, class_accuracy, confusion_text, most_confused, report_dict, report_text
from core.training import Run
from tests.helpers import need_full_t10k, write_split



def read_grid(text: str) -> tuple[list[list[int]], list[int], list[int]]:
    """Parse confusion_text back: (matrix, row totals, column totals)."""
    lines = text.splitlines()
    assert lines[0].split()[-1] == "total"
    rows, totals = [], []
    for line in lines[1:-1]:
        numbers = [int(v) for v in line.split()[-11:]]
        rows.append(numbers[:10])
        totals.append(numbers[10])
    cols = [int(v) for v in lines[-1].split()[1:]]
    return rows, totals, cols


def test_most_confused_orders_by_count_then_position_and_skips_the_diagonal():
    m = [[0] * 4 for _ in range(4)]
    m[0][0] = 99
    m[2][1] = 5
    m[1][2] = 5
    m[3][0] = 7
    assert most_confused(m, 5) == [(3, 0, 7), (1, 2, 5), (2, 1, 5)]
    assert most_confused(m, 1) == [(3, 0, 7)]
    assert most_confused([[3, 0], [0, 4]]) == []


def test_class_accuracy_and_bars():
    assert class_accuracy([5, 0, 1], [10, 0, 4]) == [50.0, None, 25.0]
    assert bar(0.5, 10, ascii=True) == "#####     "
    assert bar(1.0, 4) == "████" and bar(0.0, 3) == "   "
    assert bar(0.5, 1) == "▌" and bar(1 / 8, 1) == "▏" and len(bar(0.37, 12)) == 12


@pytest.fixture(scope="module")
def t10k_result():
    """A network trained one epoch on the first 5,000 real test digits, tested on the
    other 5,000: the TestEnd, the model and the data, for an independent recount."""
    t10k = need_full_t10k()
    full = MNISTDataset(t10k / "t10k-images-idx3-ubyte.gz", t10k / "t10k-labels-idx1-ubyte.gz")
    train = full.head(5000)
    test = MNISTDataset.from_tensors(full.images[5000:], full.labels[5000:])
    run = Run(Hyperparameters(epochs=1), train, test, hardest=20)
    last = [ev for ev in run.events() if isinstance(ev, TestEnd)][-1]
    return last, run.model, test


def test_report_numbers_match_an_independent_computation_on_t10k(t10k_result):
    result, model, test = t10k_result
    with torch.no_grad():
        logits = model(test.images.float() / 255).double().numpy()
    labels = test.labels.numpy()
    pred = logits.argmax(1)
    cm = np.zeros((10, 10), dtype=np.int64)
    np.add.at(cm, (labels, pred), 1)
    assert result.total == 5000 and cm.sum() == 5000
    assert [list(r) for r in result.confusion] == cm.tolist()
    # per-class accuracy and the most confused pairs, recomputed with numpy
    acc = 100 * np.diag(cm) / cm.sum(1)
    assert class_accuracy(result.per_class_correct, result.per_class_total) == pytest.approx(acc.tolist())
    off = cm.copy()
    np.fill_diagonal(off, 0)
    order = sorted(((int(off[t, p]), t, p) for t in range(10) for p in range(10) if off[t, p]),
                   key=lambda c: (-c[0], c[1], c[2]))
    assert most_confused(result.confusion, 5) == [(t, p, n) for n, t, p in order[:5]]
    # the hardest examples: the highest cross-entropy, from a log-softmax in numpy
    log_probs = logits - logits.max(1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(1, keepdims=True))
    losses = -log_probs[np.arange(len(labels)), labels]
    expected = np.argsort(-losses, kind="stable")[:20]
    assert [p.index for p in result.hardest] == expected.tolist()
    for p in result.hardest:
        assert p.loss == pytest.approx(losses[p.index], rel=1e-4)
        assert sum(p.probs) == pytest.approx(1.0, abs=1e-5)
        assert p.probs[p.pred] == pytest.approx(p.confidence) and p.label == labels[p.index]

    # the report shows those numbers
    text = report_text(result, DIGITS)
    grid, totals, cols = read_grid(confusion_text(result.confusion, DIGITS))
    assert grid == cm.tolist() and totals == cm.sum(1).tolist() and cols == cm.sum(0).tolist() + [5000]
    for c in range(10):
        assert f"{acc[c]:6.2f}% ({cm[c, c]}/{cm[c].sum()})" in text
    for n, t, p in order[:5]:
        assert f"\n{t} -> {p}: {n}" in text
    d = report_dict(result, DIGITS)
    assert d["confusion"] == cm.tolist() and d["correct"] == int(np.trace(cm))
    assert [c["accuracy"] for c in d["per_class"]] == pytest.approx(acc.tolist())


def test_the_grid_names_fashion_classes_and_keeps_columns_aligned():
    classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")
    cm = [[(t * 7 + p * 3) % 13 * (100 if t == p else 1) for p in range(10)] for t in range(10)]
    text = confusion_text(cm, classes)
    lines = text.splitlines()
    assert lines[1].startswith("0 T-shirt/top") and lines[10].startswith("9 Ankle boot")
    assert len({len(line) for line in lines}) == 1  # a rectangle: every column lines up
    grid, totals, _ = read_grid(text)
    assert grid == cm and totals == [sum(r) for r in cm]


def test_headless_report_is_printed_and_written_to_the_run_folder(tmp_path, capsys):
    from tui.cli import main

    data = write_split(tmp_path / "d", 1000, 400)
    run_dir = tmp_path / "run"
    code = main(["--headless", "--data-dir", str(data), "--epochs", "1", "--no-plot", "--report",
                 "--run-dir", str(run_dir)])
    out, err = capsys.readouterr()
    assert code == 0, err
    written = (run_dir / "report.txt").read_text()
    assert written.strip() in out
    assert written.startswith("Confusion matrix (test after epoch 1; rows: true class, "
                              "columns: predicted class)")
    report = json.loads((run_dir / "report.json").read_text())
    block = written.split("\n\n")[0].split("\n", 1)[1]
    grid, totals, cols = read_grid(block)
    assert grid == report["confusion"] and cols[-1] == 400 == sum(totals)
    last_test = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()
                 if '"test"' in line][-1]
    assert report["correct"] == last_test["correct"] == sum(grid[i][i] for i in range(10))
    assert f"Per-class accuracy (overall {last_test['accuracy']:.2f}%, {last_test['correct']}/400)" in written
