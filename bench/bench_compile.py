"""Would torch.compile (CPU) or torch.inference_mode make mnist-tui faster? Measured in
one process, interleaved, on the tutorial's network and data.

    python bench/bench_compile.py [--data-dir DIR] [--limit-train N] [--repeats 5]

1. The test pass (core.training.evaluate: the whole test set, batch 1000) under
   ``torch.no_grad`` (what mnist-tui does) and under ``torch.inference_mode``, alternating
   ``--repeats`` times; whether the two give bit-identical results (the tutorial's
   ``Test set`` line: loss sum and correct count).
2. A training epoch (core.training.train_epoch, batch 50) with the model as it is
   (eager) and with ``torch.compile(model)`` (inductor), from the same seed and weights:
   the compiled model's first epoch (with its compilation) and its steady epochs, and
   whether its losses are bit-identical to eager's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from core.datasets import load  # noqa: E402
from core.network import NeuralNet, configure_cpu_threads  # noqa: E402
from core.training import epoch_generator, evaluate, train_epoch  # noqa: E402


def test_pass(model, data, mode) -> tuple[float, int, float]:
    t0 = time.perf_counter()
    with mode():
        *_, end = evaluate(model, data, batch_size=1000)
    return end.avg_loss, end.correct, time.perf_counter() - t0


def one_epoch(model, data, epoch: int) -> tuple[list[float], float]:
    opt = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    t0 = time.perf_counter()
    losses = [ev.loss_tensor.item() for ev in train_epoch(model, opt, data, epoch=epoch, batch_size=50,
                                                         generator=epoch_generator(1, epoch))]
    return losses, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path("/usr/share/datasets/fashion-mnist"))
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--limit-train", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    threads = configure_cpu_threads()
    d = load(args.dataset, args.data_dir, allow_download=False)
    train = d.train.head(args.limit_train) if args.limit_train else d.train
    print(f"{len(train):,} train / {len(d.test):,} test digits, {threads} thread(s)")

    torch.manual_seed(1)
    model = NeuralNet()
    one_epoch(model, train, 1)  # a trained state, so the test pass is a real one
    times: dict[str, list[float]] = {"no_grad": [], "inference_mode": []}
    results = {}
    for _ in range(args.repeats):
        for name, mode in (("no_grad", torch.no_grad), ("inference_mode", torch.inference_mode)):
            loss, correct, s = test_pass(model, d.test, mode)
            times[name].append(s)
            results[name] = (loss, correct)
    same = results["no_grad"] == results["inference_mode"]
    a, b = statistics.median(times["no_grad"]), statistics.median(times["inference_mode"])
    print(f"test pass: no_grad {a * 1000:.1f} ms, inference_mode {b * 1000:.1f} ms "
          f"({b / a:.2f}x); results bit-identical: {same}")

    torch.manual_seed(1)
    eager = NeuralNet()
    torch.manual_seed(1)
    compiled_net = NeuralNet()
    compiled = torch.compile(compiled_net)
    t0 = time.perf_counter()
    try:
        c_losses, c_first = one_epoch(compiled, train, 1)
    except Exception as exc:  # no compiler, an unsupported platform: say so and stop
        print(f"torch.compile: failed ({type(exc).__name__}: {str(exc).splitlines()[0]})")
        return
    print(f"torch.compile: first epoch (with compilation) {time.perf_counter() - t0:.2f} s")
    e_losses, _ = one_epoch(eager, train, 1)
    print(f"torch.compile: epoch-1 losses bit-identical to eager: {c_losses == e_losses} "
          f"(largest difference {max(abs(x - y) for x, y in zip(c_losses, e_losses)):.3g})")
    e_t, c_t = [], []
    for ep in range(2, 2 + args.repeats):
        e_t.append(one_epoch(eager, train, ep)[1])
        c_t.append(one_epoch(compiled, train, ep)[1])
    e, c = statistics.median(e_t), statistics.median(c_t)
    print(f"training epoch: eager {e:.2f} s, compiled {c:.2f} s ({c / e:.2f}x), medians of "
          f"{args.repeats} alternating")


if __name__ == "__main__":
    main()
