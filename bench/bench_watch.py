"""`mnist-tui watch` on a long run: how long until the whole backlog is on screen.

    python bench/bench_watch.py [--steps 1000000] [--app]

Writes a run folder shaped like the tutorial's run carried on for ``--steps`` steps
(1,200 steps an epoch, a train row every 100 steps as the run folder keeps them, a test
with its confusion matrix and a layers row after each epoch, layers rows every 100
steps), then times, in this one invocation:

1. baseline: reading metrics.jsonl and ``json.loads`` of every line (the least any
   reader must do);
2. follower: ``tui.engine.watch.FolderTransport`` from start to the run's end row, every row
   checked and turned into the dashboard's events (ReadProgress on the way);
3. with ``--app``: the whole dashboard in Textual's headless mode, from start until it
   shows the run as finished.

Prints each time and its ratio to the baseline. Also prints the metrics file's size and
rows: the numbers behind keeping every 100th step (the tutorial's log interval) rather
than every step.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STEPS_PER_EPOCH = 1200
LOG_INTERVAL = 100


def write_run(folder: Path, steps: int) -> tuple[int, int]:
    from core.config import Hyperparameters

    epochs = -(-steps // STEPS_PER_EPOCH)
    hp = Hyperparameters(epochs=epochs).to_dict()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({
        "format": "mnist-tui-run", "dataset": "mnist", "data_dir": str(folder / "no-data"),
        "device": "cpu", "limit_train": None, "limit_test": None, "hparams": hp}))
    rnd = random.Random(1)
    layers = lambda: [{"name": f"layers.{i}", "shape": s, "weight_norm": rnd.random() * 10,  # noqa: E731
                       "grad_norm": rnd.random(), "update_ratio": rnd.random() * 1e-3,
                       "activation_mean": rnd.random(), "saturated": rnd.random()}
                      for i, s in ((0, [100, 784]), (2, [50, 100]), (4, [10, 50]))]
    cm = [[100 if t == p else 1 for p in range(10)] for t in range(10)]
    rows = [{"kind": "start", "epoch": 0, "step": 0, "hparams": hp, "device": "cpu",
             "n_train": 60000, "n_test": 10000, "n_params": 84060,
             "architecture": "784-100-50-10 sigmoid", "classes": [str(i) for i in range(10)]}]
    step = 0
    for epoch in range(1, epochs + 1):
        for b in range(STEPS_PER_EPOCH):
            step += 1
            if b % LOG_INTERVAL == 0:
                rows.append({"kind": "train", "epoch": epoch, "step": step, "seen": step * 50,
                             "loss": 1 / step ** 0.3, "batch": b, "batches": STEPS_PER_EPOCH,
                             "batch_size": 50, "epoch_samples": (b + 1) * 50, "n_train": 60000,
                             "samples_per_sec": 30000.0})
                rows.append({"kind": "layers", "epoch": epoch, "step": step, "seen": step * 50,
                             "layers": layers()})
            if step >= steps:
                break
        rows.append({"kind": "epoch", "epoch": epoch, "step": step, "seen": step * 50,
                     "loss": 0.1, "seconds": 2.0})
        rows.append({"kind": "test", "epoch": epoch, "step": step, "seen": step * 50,
                     "loss": 0.1, "accuracy": 97.0, "correct": 9700, "total": 10000,
                     "confusion": cm, "per_class_correct": [100] * 10,
                     "per_class_total": [110] * 10})
        rows.append({"kind": "layers", "epoch": epoch, "step": step, "seen": step * 50,
                     "layers": layers()})
    rows.append({"kind": "end", "status": "finished", "epoch": epochs, "step": step,
                 "best_accuracy": 97.0, "best_epoch": epochs})
    text = "".join(json.dumps(r) + "\n" for r in rows)
    (folder / "metrics.jsonl").write_text(text)
    return len(rows), len(text)


def baseline(folder: Path) -> float:
    t0 = time.perf_counter()
    for line in (folder / "metrics.jsonl").read_bytes().split(b"\n"):
        if line:
            json.loads(line)
    return time.perf_counter() - t0


def follower(folder: Path) -> tuple[float, int]:
    from core.events import RunFinished
    from tui.engine.protocol import ReadProgress
    from tui.engine.watch import FolderTransport

    t0 = time.perf_counter()
    engine = FolderTransport(folder)
    engine.start()
    progress = 0
    try:
        while not isinstance(ev := engine.get(timeout=600), RunFinished):
            progress += isinstance(ev, ReadProgress)
    finally:
        engine.close()
    return time.perf_counter() - t0, progress


async def whole_app(folder: Path) -> float:
    from core.session import RunSpec
    from tui.dashboard.app import MnistTuiApp

    over = asyncio.Event()

    class Timed(MnistTuiApp):
        def set_state(self, state) -> None:
            super().set_state(state)
            if self.state in ("finished", "error"):
                over.set()

    t0 = time.perf_counter()
    app = Timed(RunSpec(), watch=str(folder), show_eta=False)
    async with app.run_test(size=(120, 40)):
        await over.wait()
        seconds = time.perf_counter() - t0
        app.shutdown()
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=1_000_000)
    p.add_argument("--app", action="store_true", help="also the whole dashboard (Textual, headless)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "long-run"
        n_rows, n_bytes = write_run(folder, args.steps)
        print(f"run of {args.steps:,} steps: metrics.jsonl {n_bytes / 1e6:.1f} MB, {n_rows:,} rows "
              f"({n_bytes // max(n_rows, 1)} bytes a row; every step would be ~"
              f"{args.steps * 300 / 1e6:,.0f} MB)")
        base = min(baseline(folder) for _ in range(3))
        print(f"baseline (read + json.loads every line): {base:.2f} s")
        t, progress = follower(folder)
        print(f"watch follower to the end row:           {t:.2f} s  ({t / base:.1f}x baseline, "
              f"{progress} progress updates)")
        if args.app:
            t = asyncio.run(whole_app(folder))
            print(f"watch dashboard, until it shows finished: {t:.2f} s  ({t / base:.1f}x baseline)")


if __name__ == "__main__":
    main()
