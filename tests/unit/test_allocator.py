"""The training process keeps its step buffers: glibc's malloc tuned at the start of a
CPU run (core.network.configure_cpu_allocator), so that a CNN step does not hand its
feature maps back to the kernel and fault them in again at the next step."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.network import configure_cpu_allocator

ROOT = Path(__file__).resolve().parents[2]
GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# A fresh interpreter (malloc's thresholds are per process, and this one's have been
# raised by whatever ran before): 12 CNN steps on random digits, the page faults of each.
STEPS = textwrap.dedent("""
    import json, resource
    import torch
    from core.config import Hyperparameters
    from core.datasets import MNISTDataset
    from core.events import BatchEnd
    from core.training import Run

    g = torch.Generator().manual_seed(0)
    data = MNISTDataset.from_tensors(
        torch.randint(0, 256, (64 * 12, 784), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (64 * 12,), generator=g))
    run = Run(Hyperparameters.defaults("cnn").with_changes(epochs=1), data, data.head(64))
    run.tested_initial = True  # steps only
    faults = [resource.getrusage(resource.RUSAGE_SELF).ru_minflt
              for ev in run.events() if isinstance(ev, BatchEnd)]
    print(json.dumps([b - a for a, b in zip(faults, faults[1:])]))
""")


def step_faults() -> list[int]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("MALLOC_") and k not in ("LD_PRELOAD", "GLIBC_TUNABLES")}
    out = subprocess.run([sys.executable, "-c", STEPS], cwd=ROOT, capture_output=True,
                         text=True, env={**clean, "PYTHONPATH": str(ROOT)}, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median(xs: list[int]) -> float:
    return sorted(xs)[len(xs) // 2]


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc only")
def test_cnn_steps_stop_faulting_their_buffers_in():
    # A step's feature maps are ~15 MB (~3,700 pages). Left to glibc, most steps fault
    # thousands of pages in anew (on the code before this: a median of 6,304 a step;
    # with MALLOC_PERTURB_=0, a user's setting that mnist-tui leaves alone, 4,000-7,000
    # here, sometimes none for a few steps: it depends on where the heap and the
    # mappings land, so it is not asserted); tuned, none after the first steps.
    tuned = step_faults()
    assert median(tuned[2:]) < 100, tuned


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc only")
@pytest.mark.parametrize("name, value", [("MALLOC_TRIM_THRESHOLD_", "1000000"),
                                         ("MALLOC_MMAP_THRESHOLD_", "1000000"),
                                         ("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1"),
                                         ("LD_PRELOAD", "libjemalloc.so.2")])
def test_a_users_allocator_settings_are_left_alone(monkeypatch, name, value):
    for k in list(os.environ):
        if k.startswith("MALLOC_") or k in ("LD_PRELOAD", "GLIBC_TUNABLES"):
            monkeypatch.delenv(k)
    assert configure_cpu_allocator() is True
    monkeypatch.setenv(name, value)
    assert configure_cpu_allocator() is False


@pytest.mark.skipif(GLIBC, reason="elsewhere than glibc")
def test_no_glibc_no_tuning():
    assert configure_cpu_allocator() is False
