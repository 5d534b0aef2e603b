"""The speed benches still run end to end (issue 24: bench_tui.py broke silently once).

Tiny data and one round: what is checked is that each bench runs the real command in
both modes and prints its ratios, never how fast anything was.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


def bench(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_bench_tui_runs_headless_and_dashboard_and_prints_ratios(tiny_data):
    out = bench("bench_tui.py", "--data-dir", str(tiny_data), "--epochs", "1", "--rounds", "1",
                "--presses", "1")
    headless = re.search(r"^headless:\s+([\d.]+), ([\d.]+) s", out, re.M)
    dashboard = re.search(r"^dashboard:\s+([\d.]+) s", out, re.M)
    assert headless and dashboard, out
    assert float(dashboard.group(1)) > 0  # epoch seconds read back from the dashboard's own run
    assert re.search(r"speed of the dashboard runs: [\d.]+ x", out), out
    assert re.search(r"key press to screen: median \d+ ms", out), out


def test_bench_tui_control_puts_headless_runs_in_the_dashboards_place(tiny_data):
    """--control: the same comparison with no dashboard at all (this machine's noise)."""
    out = bench("bench_tui.py", "--data-dir", str(tiny_data), "--epochs", "1", "--rounds", "1",
                "--control")
    control = re.search(r"^control \(headless\):\s+([\d.]+) s of training; CPU in the epochs [\d.]+ s$",
                        out, re.M)
    assert control and float(control.group(1)) > 0, out
    assert "UI process" not in out and "dashboard" not in out, out
    assert re.search(r"speed of the control \(headless\) runs: [\d.]+ x", out), out
    assert "key press" not in out, out


def test_bench_cnn_runs_the_three_ways_and_prints_ratios(tiny_data):
    out = bench("bench_cnn.py", "--data-dir", str(tiny_data), "--limit-train", "128",
                "--limit-test", "100", "--rounds", "1")
    assert re.search(r"^round 1: wall examples [\d.]+ s, headless [\d.]+ s, dashboard [\d.]+ s",
                     out, re.M), out
    for ratio in ("headless / examples", "dashboard / headless", "CPU, one epoch, engine / examples",
                  "CPU, whole command, dashboard"):
        assert re.search(rf"{re.escape(ratio)}.*median [\d.]+ x", out), out


def test_bench_tui_drift_reads_one_processs_epochs(tiny_data):
    """--drift: one headless run, its epochs after the first compared with each other."""
    out = bench("bench_tui.py", "--data-dir", str(tiny_data), "--epochs", "4", "--drift")
    epochs = re.search(r"^one headless process, epochs 2-4: ([\d.]+), ([\d.]+), ([\d.]+) s \(CPU ", out, re.M)
    assert epochs and all(float(s) > 0 for s in epochs.groups()), out
    assert re.search(r"one epoch / the one before it: [\d.]+, [\d.]+ x; \d of 2 more than 5 % apart",
                     out), out
    assert "dashboard" not in out and "key press" not in out, out


def test_bench_tui_drift_refuses_too_few_epochs(tiny_data):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_tui.py"), "--data-dir",
                           str(tiny_data), "--epochs", "2", "--drift"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 1 and "--drift needs --epochs 3 or more" in done.stderr, done.stderr
