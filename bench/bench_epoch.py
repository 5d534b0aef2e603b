"""One epoch of the tutorial configuration on Fashion-MNIST, three ways, one process.

    python bench/bench_epoch.py [--data-dir DIR] [--repeats 2]

1. engine:   core.training.Run (uint8 pixels scaled per batch, events per step)
2. floor:    a bare loop over preloaded float tensors with index slicing
3. tutorial: DataLoader over a Dataset's __getitem__ (collated item by item)

Each is run ``--repeats`` times, interleaved, same seed and thread count; the best
time of each is kept and the ratios to the floor are printed. Also prints the time to
load the data from .gz and the peak memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from core.config import Hyperparameters  # noqa: E402
from core.datasets import load  # noqa: E402
from core.events import BatchEnd  # noqa: E402
from core.network import NeuralNet, configure_cpu_threads  # noqa: E402
from core.training import Run  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def engine(d) -> float:
    run = Run(Hyperparameters(epochs=1), d.train, d.test)
    events = run.events()
    for ev in events:  # skip the initial test: time the epoch only
        if isinstance(ev, BatchEnd):
            break
    t0 = time.perf_counter()
    for ev in events:
        if not isinstance(ev, BatchEnd):
            break
    return time.perf_counter() - t0


def floor(d) -> float:
    x_all = d.train.images.float() / 255
    y_all = d.train.labels
    torch.manual_seed(1)
    model = NeuralNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    perm = torch.randperm(len(y_all))
    t0 = time.perf_counter()
    for lo in range(0, len(y_all), 50):
        idx = perm[lo:lo + 50]
        x, y = x_all[idx], y_all[idx]
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
    return time.perf_counter() - t0


class TutorialDataset(torch.utils.data.Dataset):
    """As the tutorial writes it: one (image, label) per __getitem__."""

    def __init__(self, images, labels):
        self.images, self.labels = images.float() / 255, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], self.labels[i]


def tutorial(d) -> float:
    loader = torch.utils.data.DataLoader(TutorialDataset(d.train.images, d.train.labels),
                                         batch_size=50, shuffle=True)
    torch.manual_seed(1)
    model = NeuralNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    t0 = time.perf_counter()
    for x, y in loader:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    threads = configure_cpu_threads()
    base = peak_mb()
    t0 = time.perf_counter()
    d = load("fashion-mnist", args.data_dir, allow_download=False)
    load_s = time.perf_counter() - t0
    print(f"data: {len(d.train):,} + {len(d.test):,} images loaded from .gz in {load_s:.2f} s "
          f"(peak memory +{peak_mb() - base:.0f} MB); torch threads: {threads}")
    ways = {"engine": engine, "floor": floor, "tutorial": tutorial}
    best = {k: float("inf") for k in ways}
    for r in range(args.repeats):
        for name, fn in ways.items():
            best[name] = min(best[name], fn(d))
    for name in ways:
        print(f"{name:9s} {best[name]:6.2f} s/epoch  {best[name] / best['floor']:.2f} x floor")
    print(f"peak memory of the process: {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
