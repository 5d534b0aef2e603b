"""bench/check_cuda.py, the prepared check for a GPU machine, keeps working where there
is none: its checks run on the CPU (``--device cpu``), and asking for CUDA without it is
one line and exit 2. What it checks on a GPU is described in the script."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "check_cuda.py"


def check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)


def test_its_checks_pass_on_the_cpu(tiny_data):
    done = check("--data-dir", str(tiny_data), "--device", "cpu", "--epochs", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    blocks = re.findall(r"^engine on (?:the CPU|cpu): [\d.]+, [\d.]+ s per epoch\n"
                        r"((?:  Test set: .*\n){3})", out, re.M)
    assert len(blocks) == 2 and blocks[0] == blocks[1], out  # 3 tests: before, after 1, after 2
    assert "mnist-tui --headless --device cpu: 3 Test lines" in out
    assert "the command's Test lines are the engine's: yes" in out
    assert "at most 0.00 points apart (Test lines bit-identical)" in out
    assert out.rstrip().endswith("all passed"), out


def test_missing_data_is_one_line(tmp_path):
    done = check("--data-dir", str(tmp_path / "none"), "--device", "cpu")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and str(tmp_path / "none") in done.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_it_says_so_in_one_line(tiny_data):
    done = check("--data-dir", str(tiny_data))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (f"check_cuda: --device cuda: this machine has no CUDA device "
                           f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'})\n")
