"""The engine never imports a UI package (harlequin-style proof, plus import-linter)."""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import core

CORE_MODULES = sorted(f"core.{m.name}" for m in pkgutil.iter_modules(core.__path__))
UI = ("textual", "rich", "plotext", "textual_plotext", "tui")


# One process imports the heavy dependencies that are not UI (numpy, PyTorch) once, then
# forks a child per core module: each child starts from that clean state, as a fresh
# interpreter would, imports its module and says which UI packages came with it (a
# process per module spent ~2 s each importing PyTorch again).
PROBE = """
import json, os, sys
UI = {ui!r}
def ui_loaded():
    return sorted(m for m in sys.modules if m.split('.')[0] in UI)
import numpy, torch
found = {{"": ui_loaded()}}
for module in sys.argv[1:]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            __import__(module)
            bad = ui_loaded()
        except BaseException as exc:
            bad = ["cannot import: " + repr(exc)]
        os.write(w, json.dumps(bad).encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as answer:
        found[module] = json.loads(answer.read() or b'["the child said nothing"]')
    os.waitpid(pid, 0)
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def ui_imported_by() -> dict[str, list[str]]:
    """For each core module, the UI modules loaded once it is imported ("": by numpy and
    PyTorch alone)."""
    import json

    out = subprocess.run([sys.executable, "-c", PROBE.format(ui=UI), *CORE_MODULES],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_no_ui(module, ui_imported_by):
    assert ui_imported_by[""] == []
    assert ui_imported_by[module] == []


def test_there_are_core_modules():
    assert {"core.idx", "core.datasets", "core.training", "core.events"} <= set(CORE_MODULES)


def test_import_linter_contract():
    exe = Path(sys.executable).with_name("lint-imports")
    exe = str(exe) if exe.exists() else shutil.which("lint-imports")
    assert exe, "import-linter is a dev dependency"
    out = subprocess.run([exe], capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert out.returncode == 0, out.stdout + out.stderr
    assert "core never imports the UI KEPT" in out.stdout


def test_the_dashboard_process_never_imports_pytorch():
    """Training runs in a child process; the screen's process stays light: importing
    PyTorch there cost 2.3 s of frozen screen at the first test result and made every
    full garbage collection 4x longer (bench/bench_tui.py)."""
    code = ("import sys, tui.dashboard.app, tui.engine.bridge, tui.engine.watch, tui.dashboard.confusion, tui.dashboard.hardest\n"
            "from core.events import format_test, format_max_accuracy, DownloadProgress\n"
            "import core.runfolder, core.report\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


ENTRY = """
import sys, tui.dashboard.app
def run(self, *args, **kwargs):  # instead of the screen: what this process has imported
    open(sys.argv[1], "w").write(str("torch" in sys.modules))
    if getattr(self, "engine", None) is not None:
        self.engine.close()
tui.dashboard.app.MnistTuiApp.run = run
from tui.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("args", [
    ["--data-dir", "{data}", "--epochs", "1", "--run-dir", "{tmp}/a"],
    ["--resume", "{tmp}/done"],
    ["watch", "{tmp}/done"],
], ids=["dashboard", "dashboard --resume", "watch"])
def test_the_dashboard_process_never_imports_pytorch_from_the_command(args, tmp_path, small_data):
    """From the command line's own entry point, on a terminal (a pty), up to the moment
    the screen would start: the dashboard and watch never load PyTorch themselves."""
    import os
    import pty

    from tui.cli import main as cli_main

    assert cli_main(["--headless", "--no-plot", "--data-dir", str(small_data), "--epochs", "1",
                     "--limit-train", "100", "--run-dir", str(tmp_path / "done")]) == 0
    argv = [a.format(data=small_data, tmp=tmp_path) for a in args]
    out = tmp_path / "torch.txt"
    pid, fd = pty.fork()
    if pid == 0:  # on the pty: stdout is a terminal, as for a user
        os.chdir(Path(__file__).parents[2])
        os.execv(sys.executable, [sys.executable, "-c", ENTRY, str(out), *argv])
    try:
        while True:
            try:
                if not os.read(fd, 4096):
                    break
            except OSError:
                break
    finally:
        os.close(fd)
        os.waitpid(pid, 0)
    assert out.read_text() == "False"
