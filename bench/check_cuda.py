"""The prepared check of ``--device cuda`` (issue 24), for a machine with an NVIDIA GPU.

    python bench/check_cuda.py --data-dir DIR [--epochs 2] [--device cuda]

Three runs of the tutorial's network on the same data, with the tutorial's settings:

1. the engine (``core.training.Run``) on the CPU: the reference Test lines;
2. the engine on ``--device``, in this process, with PyTorch's sync debug mode on while
   it trains (``torch.cuda.set_sync_debug_mode``), counting every host sync between the
   first and the last step of each epoch;
3. the real command, ``mnist-tui --headless --device DEVICE``, whose Test lines must be
   those of run 2 (the same engine, the same seed).

It prints each run's Test lines and seconds per epoch, then one verdict line per check
and exits 1 if one failed: the command's Test lines differ from the engine's; an
accuracy more than 0.5 points from the CPU's (a GPU's kernels round differently, so the
lines need not be bit-identical to the CPU's); training syncing with the host more than
once every 20 steps (the engine reads its losses back once every 100 steps on an
accelerator; fewer syncs than those read-backs would mean the count itself failed).
Without the device: one line, exit 2. ``--device cpu`` runs the same checks here (the
sync count is CUDA's only), which is how the test suite keeps this script working on
machines without a GPU.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import runner  # noqa: E402  (the installed command, as the other benches run it)
import torch  # noqa: E402

from core.config import Hyperparameters  # noqa: E402
from core.datasets import load  # noqa: E402
from core.errors import MnistTuiError  # noqa: E402
from core.metrics import LOG_INTERVAL  # noqa: E402
from core.events import BatchEnd, EpochEnd, EpochStarted, TestEnd, format_test  # noqa: E402
from core.training import Run  # noqa: E402

#: most host syncs a training step may cost, on average (the engine's: 1 per 100 steps)
MAX_SYNCS_PER_STEP = 0.05
#: most an accuracy may differ from the CPU's, in points
MAX_ACCURACY_GAP = 0.5


def engine(data, epochs: int, device: str, count_syncs: bool):
    """Test lines, accuracies, epoch seconds, and (on CUDA) host syncs and steps in the
    epochs."""
    run = Run(Hyperparameters(epochs=epochs), data.train, data.test, device=device)
    lines, accuracies, seconds = [], [], []
    syncs = steps = 0
    training = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for ev in run.events():
            if isinstance(ev, EpochStarted) and count_syncs:
                caught.clear()
                torch.cuda.set_sync_debug_mode("warn")
                training = True
            elif isinstance(ev, BatchEnd):
                steps += 1
            elif isinstance(ev, EpochEnd):
                if training:
                    torch.cuda.set_sync_debug_mode("default")
                    training = False
                    syncs += sum("synchroniz" in str(w.message) for w in caught)
                seconds.append(ev.seconds)
            elif isinstance(ev, TestEnd):
                lines.append(format_test(ev))
                accuracies.append(100.0 * ev.correct / ev.total)
    if training:
        torch.cuda.set_sync_debug_mode("default")
    return lines, accuracies, seconds, (syncs if count_syncs else None), steps


def command(data_dir: Path, epochs: int, device: str) -> list[str]:
    """The Test lines of ``mnist-tui --headless --device DEVICE``."""
    with tempfile.TemporaryDirectory(prefix="check-cuda-") as tmp:
        done = subprocess.run([str(runner.EXE), "--headless", "--no-plot",
                               "--data-dir", str(data_dir), "--epochs", str(epochs),
                               "--device", device, "--run-dir", str(Path(tmp) / "run")],
                              capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"check_cuda: mnist-tui --headless --device {device} exited "
                         f"{done.returncode}: {done.stderr.strip()[-500:]}")
    return [ln for ln in done.stdout.splitlines() if ln.startswith("Test set:")]


def show(name: str, lines: list[str], seconds: list[float]) -> None:
    print(f"{name}: {', '.join(f'{s:.2f}' for s in seconds)} s per epoch")
    for ln in lines:
        print(f"  {ln}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--device", default="cuda")
    a = ap.parse_args(argv)
    is_cuda = a.device.split(":")[0] == "cuda"
    if is_cuda and not torch.cuda.is_available():
        print(f"check_cuda: --device {a.device}: this machine has no CUDA device "
              f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'})",
              file=sys.stderr)
        return 2
    if is_cuda:
        print(f"device: {torch.cuda.get_device_name(a.device)}, torch {torch.__version__}, "
              f"CUDA {torch.version.cuda}")
    try:
        data = load("mnist", a.data_dir, allow_download=False)
    except MnistTuiError as e:
        print(f"check_cuda: {e}", file=sys.stderr)
        return 2

    t0 = time.perf_counter()
    cpu_lines, cpu_acc, cpu_s, _, _ = engine(data, a.epochs, "cpu", False)
    show("engine on the CPU", cpu_lines, cpu_s)
    dev_lines, dev_acc, dev_s, syncs, steps = engine(data, a.epochs, a.device, is_cuda)
    show(f"engine on {a.device}", dev_lines, dev_s)
    cmd_lines = command(a.data_dir, a.epochs, a.device)
    print(f"mnist-tui --headless --device {a.device}: {len(cmd_lines)} Test lines")

    failed = []
    same = cmd_lines == dev_lines
    print(f"the command's Test lines are the engine's: {'yes' if same else 'NO'}")
    if not same:
        failed.append("command")
        for mine, theirs in zip(dev_lines, cmd_lines):
            if mine != theirs:
                print(f"  engine:  {mine}\n  command: {theirs}")
    gap = max((abs(x - y) for x, y in zip(dev_acc, cpu_acc)), default=0.0)
    bit = dev_lines == cpu_lines
    print(f"accuracy on {a.device} vs the CPU: at most {gap:.2f} points apart "
          f"(Test lines {'bit-identical' if bit else 'not bit-identical'})")
    if gap > MAX_ACCURACY_GAP or len(dev_acc) != len(cpu_acc):
        failed.append("accuracy")
    ratio = sum(cpu_s) / max(sum(dev_s), 1e-9)
    print(f"seconds per epoch: CPU {sum(cpu_s) / len(cpu_s):.2f}, {a.device} "
          f"{sum(dev_s) / len(dev_s):.2f} ({ratio:.2f}x the CPU's speed)")
    if syncs is None:
        print("host syncs while training: not counted (CUDA only)")
    else:
        per = syncs / max(steps, 1)
        print(f"host syncs while training: {syncs} in {steps} steps ({per:.3f} per step, "
              f"at most {MAX_SYNCS_PER_STEP} allowed)")
        if per > MAX_SYNCS_PER_STEP:
            failed.append("syncs")
        if syncs < steps // LOG_INTERVAL:  # the engine's own loss read-backs are syncs
            print(f"  fewer than the engine's own {steps // LOG_INTERVAL} loss read-backs: "
                  f"the count itself does not work with this torch")
            failed.append("sync count")
    print(f"checked in {time.perf_counter() - t0:.0f} s: "
          + ("all passed" if not failed else "FAILED: " + ", ".join(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
