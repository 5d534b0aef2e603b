"""How fast `mnist-tui runs` lists many run folders.

Makes N folders (default 500) shaped like full tutorial runs (25 epochs of 60,000
images: 12 train rows an epoch, 26 tests with their confusion matrices, ~90 kB of
metrics.jsonl, checkpoint-sized files), then times, in this one invocation:

- baseline: reading and parsing each folder's config.json only (the least any listing does);
- scan with summary.json (what a run writes when it ends);
- scan without it (older folders, or runs still going: metrics.jsonl is read);
- the plain output of `mnist-tui runs` as a command (a fresh process, start-up included).

It prints times and ratios against the baseline; it asserts nothing about time.

    python bench/bench_runs.py [N]
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.runs import SUMMARY, scan, write_summary  # noqa: E402


def make_run(d: Path, rng: random.Random) -> None:
    d.mkdir(parents=True)
    hp = {"lr": rng.choice([0.2, 0.1, 0.05]), "momentum": 0.9, "batch_size": 50,
          "test_batch_size": 1000, "epochs": 25, "seed": rng.randint(1, 5), "hidden": [100, 50],
          "activation": rng.choice(["sigmoid", "relu"]), "optimizer": "sgd"}
    (d / "config.json").write_text(json.dumps({"format": "mnist-tui-run", "dataset": "mnist",
                                               "data_dir": "/data", "device": "cpu",
                                               "limit_train": None, "limit_test": None,
                                               "hparams": hp}, indent=2))
    rows = [{"kind": "start", "epoch": 0, "step": 0, "hparams": hp, "device": "cpu",
             "n_train": 60000, "n_test": 10000, "n_params": 84060,
             "architecture": "784-100-50-10 sigmoid", "classes": [str(i) for i in range(10)]}]
    step = 0

    def test(epoch: int) -> dict:
        cm = [[rng.randint(0, 1000) for _ in range(10)] for _ in range(10)]
        correct = rng.randint(9000, 9800)
        return {"kind": "test", "epoch": epoch, "step": step, "seen": step * 50,
                "loss": rng.random(), "accuracy": correct / 100, "correct": correct,
                "total": 10000, "confusion": cm, "per_class_correct": [r[0] for r in cm],
                "per_class_total": [sum(r) for r in cm]}

    rows.append(test(0))
    for epoch in range(1, 26):
        for batch in range(0, 1200, 100):
            step = (epoch - 1) * 1200 + batch + 1
            rows.append({"kind": "train", "epoch": epoch, "step": step, "seen": step * 50,
                         "loss": rng.random(), "batch": batch, "batches": 1200,
                         "batch_size": 50, "epoch_samples": (batch + 1) * 50,
                         "n_train": 60000, "samples_per_sec": 30000.0})
        step = epoch * 1200
        rows.append({"kind": "epoch", "epoch": epoch, "step": step, "seen": step * 50,
                     "loss": rng.random(), "seconds": 2.0})
        rows.append(test(epoch))
    rows.append({"kind": "end", "status": "finished", "epoch": 25, "step": step,
                 "best_accuracy": 98.0, "best_epoch": 20})
    (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for name, size in (("checkpoint-last.pt", 700_000), ("checkpoint-best.pt", 700_000),
                       ("test-last.json", 90_000), ("metrics.csv", 40_000)):
        (d / name).write_bytes(b"\0" * size)


def baseline(root: Path) -> int:
    n = 0
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        json.loads((d / "config.json").read_bytes())
        n += 1
    return n


def best_of(fn, repeat: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    rng = random.Random(1)
    with tempfile.TemporaryDirectory(prefix="bench-runs-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        for i in range(n):
            make_run(root / f"run-{i:04d}", rng)
        made = time.perf_counter() - t
        size = sum(f.stat().st_size for f in root.glob("*/metrics.jsonl")) / n
        print(f"{n} run folders made in {made:.1f} s (metrics.jsonl {size / 1000:.0f} kB each)")

        base, count = best_of(lambda: baseline(root))
        print(f"baseline, config.json only      : {base:6.3f} s  ({count} folders)  1.0x")
        for d in root.iterdir():
            write_summary(d)
        with_summary, runs = best_of(lambda: scan(root))
        assert len(runs) == n and all(r.status == "finished" for r in runs)
        print(f"scan, with summary.json         : {with_summary:6.3f} s  "
              f"{with_summary / base:5.1f}x baseline")
        for d in root.iterdir():
            (d / SUMMARY).unlink()
        without, runs = best_of(lambda: scan(root))
        print(f"scan, metrics.jsonl read (old)  : {without:6.3f} s  {without / base:5.1f}x baseline")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for d in root.iterdir():
            write_summary(d)

        def command():
            subprocess.run([sys.executable, "-m", "tui.cli", "runs", str(root), "--plain"],
                           check=True, stdout=subprocess.DEVNULL, env=env, cwd=ROOT)

        cmd, _ = best_of(command)
        print(f"`mnist-tui runs --plain` command: {cmd:6.3f} s  {cmd / base:5.1f}x baseline "
              f"(a fresh process: Python start-up and imports included)")


if __name__ == "__main__":
    main()
