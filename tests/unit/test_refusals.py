"""Refused means untouched, and no traceback, no hang (issue 19): a harness of generated
cases, each run under a deadline, each refusal followed by a byte-for-byte comparison of
the run folder with what it was before.

Classes of cases (a few hundred in all, in this process where the process boundary does
not matter, so that they take seconds):

- damaged checkpoints: optimizer state of the wrong shapes, types, kind; NaN / inf in
  the weights or the optimizer's buffers;
- obstacles where a resumed run will write (a folder, a named pipe, a link);
- files that are not regular files where a reader looks (named pipes, a link to an
  endless device, a file far too large), for every command that reads a run folder;
- summary.json with forged facts;
- folders that cannot be read or searched (mode 000 ...; simulated when the tests run
  as root, whom permissions do not stop);
- bad --data-dir and --device values; paths holding control characters;
- SIGTERM / SIGINT while the program's modules and PyTorch load (in subprocesses).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from core.errors import one_line
from core.runfolder import (
    BEST, CONFIG, FIRST_WEIGHTS, LAST, LOCK, METRICS_CSV, METRICS_JSONL, REPORT_JSON, REPORT_TXT,
    RUN_FILES, SUMMARY, TEST_LAST,
)
from tests.helpers import ROOT, write_split

#: the files a resumed run writes (config.json too, but only into a new folder)
RESUME_WRITES = tuple(name for name in RUN_FILES if name != CONFIG)
DEADLINE = 60.0  # seconds for one case: far more than any takes; a hang is forever
ROOT_USER = os.geteuid() == 0
RNG = random.Random(19)


class Hung(BaseException):
    """A case still running at its deadline (BaseException: nothing swallows it)."""


@contextlib.contextmanager
def deadline(what: str, seconds: float = DEADLINE):
    """Interrupt the main thread after ``seconds`` (SIGALRM ends a blocking open or read
    of a named pipe too), failing the case as a hang."""
    def on_alarm(signum, frame):  # noqa: ARG001
        raise Hung(f"{what}: still running after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry under ``folder`` (links not followed): kind, mode, and for files the
    size, modification time, inode and SHA-256 of the bytes."""
    out: dict[str, tuple] = {}
    st = os.lstat(folder)
    out["."] = ("dir", st.st_mode)
    for root, dirs, files in os.walk(folder):
        for name in sorted(dirs + files):
            p = Path(root) / name
            st = os.lstat(p)
            rel = str(p.relative_to(folder))
            if stat.S_ISREG(st.st_mode):
                out[rel] = ("file", st.st_mode, st.st_size, st.st_mtime_ns, st.st_ino,
                            hashlib.sha256(p.read_bytes()).hexdigest())
            elif stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            else:
                out[rel] = (stat.S_IFMT(st.st_mode), st.st_mode)
    return out


def changes(before: dict, after: dict) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def run_cli(capsys, args: list[str], what: str) -> tuple[int, str, str]:
    """``mnist-tui ARGS`` in this process, under the deadline: (exit code, out, err)."""
    from tui.cli import main

    capsys.readouterr()
    with deadline(what):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse's exit
            code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean(code: int, out: str, err: str, what: str) -> None:
    """No traceback; a failure is exactly one line on stderr, ``mnist-tui: error: ...``."""
    assert "Traceback" not in out + err, f"{what}: {err}"
    if code != 0:
        assert err.count("\n") == 1 and err.startswith("mnist-tui: error: "), f"{what}: {err!r}"


# ------------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_split(tmp_path_factory.mktemp("rf19-data"), 600, 200)


@pytest.fixture(scope="module")
def base(data, tmp_path_factory):
    """A real, finished two-epoch run folder (SGD with momentum)."""
    from tui.cli import main

    folder = tmp_path_factory.mktemp("rf19-base") / "run"
    assert main(["--headless", "--no-plot", "--data-dir", str(data), "--epochs", "2",
                 "--limit-test", "150", "--run-dir", str(folder)]) == 0
    return folder


@pytest.fixture
def folder(base, tmp_path):
    """A copy of the base run, alone in a folder of its own (``folder.parent`` for runs)."""
    target = tmp_path / "root" / "run"
    shutil.copytree(base, target, symlinks=True)
    return target


def resume_refused(capsys, folder: Path, says: str | None = None) -> str:
    """--resume FOLDER is refused: exit 2, one line (holding ``says``), and the folder
    byte for byte as it was."""
    before = snapshot(folder)
    code, out, err = run_cli(capsys, ["--headless", "--no-plot", "--resume", folder],
                             f"--resume {folder.name}")
    assert_clean(code, out, err, "--resume")
    assert code == 2, (out, err)
    if says is not None:
        assert says in err, err
    assert changes(before, snapshot(folder)) == [], err
    return err


# ------------------------------------------------------------- damaged checkpoints

def _sgd_group_keys() -> list[str]:
    from core.config import Hyperparameters
    from core.network import build_model, build_optimizer

    hp = Hyperparameters()
    return list(build_optimizer(build_model(hp), hp).state_dict()["param_groups"][0])


def _adam_state() -> dict:
    """The optimizer state of an Adam run of the same network, after one step."""
    from core.config import Hyperparameters
    from core.network import build_model, build_optimizer

    hp = Hyperparameters(optimizer="adam")
    model = build_model(hp)
    opt = build_optimizer(model, hp)
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    opt.step()
    return opt.state_dict()


BAD_SETTINGS = ["x", {}, [], None, -1, math.nan, math.inf, [1, 2]]
BAD_FLAGS = ["x", 1.5, {}, 2]


def _group_cases() -> list[tuple[str, object]]:
    cases = []
    for key in _sgd_group_keys():
        if key == "params":
            values = [[0, 1], "x", [5, 4, 3, 2, 1, 0], list(range(7)), None]
        elif key in ("nesterov", "maximize", "differentiable", "foreach", "fused"):
            values = BAD_FLAGS
        else:
            values = BAD_SETTINGS
        cases += [(f"param_groups.{key}={v!r}", (key, v)) for v in values]
    return cases


GROUP_CASES = _group_cases()


@pytest.mark.parametrize("name, change", GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
def test_an_optimizer_setting_of_the_wrong_type_is_refused(capsys, folder, name, change):
    key, value = change
    state = torch.load(folder / LAST, weights_only=True)
    state["optimizer"]["param_groups"][0][key] = value
    torch.save(state, folder / LAST)
    resume_refused(capsys, folder, f"{LAST}: optimizer.param_groups")


def _buffer_cases() -> list[tuple[str, object]]:
    """Each of the six momentum buffers: wrong shapes, not tensors, NaN, inf."""
    cases = []
    for index in range(6):
        for label, make in [
            ("shape (3,)", lambda t: torch.zeros(3)),
            ("transposed", lambda t: t.t().contiguous() if t.dim() == 2 else t.repeat(2)),
            ("one more row", lambda t: torch.zeros(t.shape[0] + 1, *t.shape[1:])),
            ("a string", lambda t: "garbage"),
            ("a list", lambda t: t.tolist()),
            ("integers", lambda t: t.to(torch.int64)),
            ("NaN", lambda t: _poison(t, math.nan)),
            ("inf", lambda t: _poison(t, math.inf)),
            ("-inf", lambda t: _poison(t, -math.inf)),
        ]:
            cases.append((f"state.{index}.momentum_buffer {label}", (index, make)))
    return RNG.sample(cases, 24)


def _poison(t: torch.Tensor, value: float) -> torch.Tensor:
    t = t.clone()
    t.view(-1)[RNG.randrange(t.numel())] = value
    return t


BUFFER_CASES = _buffer_cases()


@pytest.mark.parametrize("name, change", BUFFER_CASES, ids=[c[0] for c in BUFFER_CASES])
def test_an_optimizer_buffer_of_the_wrong_shape_or_not_finite_is_refused(capsys, folder, name,
                                                                         change):
    index, make = change
    state = torch.load(folder / LAST, weights_only=True)
    buffers = state["optimizer"]["state"][index]
    buffers["momentum_buffer"] = make(buffers["momentum_buffer"])
    torch.save(state, folder / LAST)
    resume_refused(capsys, folder, f"{LAST}: optimizer.state.{index}")


def _optimizer_garbage() -> list[tuple[str, object]]:
    def setter(path, value):
        def change(state):
            target = state["optimizer"]
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        return change

    cases = [
        ("state a string", setter(["state"], "garbage")),
        ("state of strings", lambda s: s["optimizer"].__setitem__("state", {0: "x", 1: "y"})),
        ("a buffer of another optimizer", setter(["state", 0, "exp_avg"], torch.zeros(100, 784))),
        ("state for a seventh parameter", setter(["state", 6], {"momentum_buffer": torch.zeros(3)})),
        ("state keyed by a string", lambda s: s["optimizer"]["state"].__setitem__("0", {})),
        ("param_groups of strings", setter(["param_groups"], ["x"])),
        ("two param groups", lambda s: s["optimizer"]["param_groups"].append(
            dict(s["optimizer"]["param_groups"][0]))),
        ("no param groups", setter(["param_groups"], [])),
        ("weight decay a string", setter(["param_groups", 0, "weight_decay"], "0.1")),
        ("momentum missing", lambda s: s["optimizer"]["param_groups"][0].pop("momentum")),
        ("Adam's state under SGD hparams", lambda s: s.__setitem__("optimizer", _adam_state())),
        ("SGD's state under Adam hparams", lambda s: s["hparams"].__setitem__("optimizer", "adam")),
    ]
    for key in ("layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.4.bias"):
        for value in (math.nan, math.inf, -math.inf):
            cases.append((f"model.{key} holds {value}", lambda s, k=key, v=value: s["model"].__setitem__(
                k, _poison(s["model"][k], v))))
    return cases


GARBAGE_CASES = _optimizer_garbage()


@pytest.mark.parametrize("name, change", GARBAGE_CASES, ids=[c[0] for c in GARBAGE_CASES])
def test_a_checkpoint_of_garbage_another_kind_or_nan_is_refused(capsys, folder, name, change):
    state = torch.load(folder / LAST, weights_only=True)
    change(state)
    torch.save(state, folder / LAST)
    resume_refused(capsys, folder, f"{LAST}: ")


def test_the_checkpoint_harness_has_many_generated_cases():
    assert len(GROUP_CASES) + len(BUFFER_CASES) + len(GARBAGE_CASES) >= 100


# ------------------------------------------------- obstacles where the run will write

def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _obstacles():
    kinds = {
        "a folder": lambda p: p.mkdir(),
        "a named pipe": _fifo,
        "a link to nowhere": lambda p: p.symlink_to(p.parent / "nowhere"),
        "a link to /dev/null": lambda p: p.symlink_to("/dev/null"),
    }
    return [(f"{name} is {kind}", (name, make)) for name in RESUME_WRITES
            for kind, make in kinds.items()]


OBSTACLES = _obstacles()


@pytest.mark.parametrize("name, obstacle", OBSTACLES, ids=[c[0] for c in OBSTACLES])
def test_a_resume_that_could_not_write_a_file_is_refused_before_writing_any(capsys, folder, name,
                                                                           obstacle):
    target, make = obstacle
    (folder / target).unlink(missing_ok=True)
    make(folder / target)
    resume_refused(capsys, folder, target)


def test_every_file_a_resume_writes_is_checked():
    assert set(RESUME_WRITES) >= {METRICS_JSONL, METRICS_CSV, LAST, BEST, TEST_LAST,
                                  FIRST_WEIGHTS, SUMMARY, REPORT_TXT, REPORT_JSON}


# -------------------------------------------------- readers meet what is not a file

READ_FILES = [CONFIG, METRICS_JSONL, SUMMARY, TEST_LAST, LAST, FIRST_WEIGHTS, METRICS_CSV, LOCK]
NOT_FILES = {
    "a named pipe": _fifo,
    "a link to /dev/zero": lambda p: p.symlink_to("/dev/zero"),
}
COMMANDS = ("resume", "runs-json", "runs-plain", "draw", "watch", "watch-follow")
HANG_CASES = [(f"{cmd}: {name} is {kind}", (cmd, name, make))
              for name in READ_FILES for kind, make in NOT_FILES.items() for cmd in COMMANDS]
HANG_CASES += [(f"{cmd}: {CONFIG} of 2 MB", (cmd, CONFIG, lambda p: p.write_bytes(b" " * (2 << 20))))
               for cmd in COMMANDS]


def follow(folder: Path) -> list:
    """What `mnist-tui watch` reads from the folder, to the end (or its failure)."""
    from core.events import RunFinished
    from tui.engine.bridge import EngineFailed, EngineStopped, Loading
    from tui.engine.watch import FolderTransport

    engine = FolderTransport(folder)
    engine.start()
    seen = []
    no_metrics = not os.path.lexists(folder / METRICS_JSONL)
    try:
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            ev = engine.get(timeout=max(end - time.monotonic(), 0.1))
            seen.append(ev)
            if isinstance(ev, (RunFinished, EngineFailed, EngineStopped)):
                return seen
            if no_metrics and isinstance(ev, Loading) and ev.text.startswith("watching"):
                return seen  # nothing to read yet: it waits for rows
        raise AssertionError(f"watch did not finish reading {folder} in {DEADLINE:.0f} s")
    finally:
        engine.close()


@pytest.mark.parametrize("name, case", HANG_CASES, ids=[c[0] for c in HANG_CASES])
def test_readers_never_block_on_what_is_not_a_regular_file(capsys, folder, name, case):
    command, target, make = case
    (folder / target).unlink(missing_ok=True)
    make(folder / target)
    before = snapshot(folder)
    if command == "resume":
        code, out, err = run_cli(capsys, ["--headless", "--no-plot", "--resume", folder], name)
        assert_clean(code, out, err, name)
        if target != LOCK:  # (the lock is the writers' own: see r25's write side)
            assert code == 2 and target in err, err
            assert changes(before, snapshot(folder)) == []
    elif command.startswith("runs"):
        flag = "--json" if command == "runs-json" else "--plain"
        code, out, err = run_cli(capsys, ["runs", folder.parent, flag], name)
        assert_clean(code, out, err, name)
        assert code == 0
        if flag == "--json":
            [row] = json.loads(out)["runs"]
            if target in (CONFIG, METRICS_JSONL):
                assert row["status"] == "damaged" and target in row["reason"], row
            elif target in (SUMMARY, TEST_LAST, FIRST_WEIGHTS, METRICS_CSV, LAST):
                assert row["status"] == "finished", row  # not what the table reads
        assert changes(before, snapshot(folder)) == []
    elif command in ("draw", "watch"):
        args = ["draw", "--checkpoint", folder] if command == "draw" else ["watch", folder]
        code, out, err = run_cli(capsys, args, name)
        assert_clean(code, out, err, name)
        assert code == 2  # the file named, or: it needs a terminal (these tests have none)
        assert changes(before, snapshot(folder)) == []
    else:
        from tui.engine.bridge import EngineFailed

        with deadline(name):
            seen = follow(folder)
        failures = [e.message for e in seen if isinstance(e, EngineFailed)]
        assert not any(m.startswith("watch: ") for m in failures), failures  # internal
        if target in (CONFIG, METRICS_JSONL) and "2 MB" not in name:
            assert failures and target in failures[0], failures


def test_the_reading_harness_has_many_generated_cases():
    assert len(HANG_CASES) >= 90 and len(FORGED) >= 50


# --------------------------------------------------------- forged summary.json facts

FACTS = ["best_accuracy", "last_test_loss", "best_epoch", "epochs_done", "epochs_planned",
         "starts", "edited", "hparams", "end", "n_train", "cut_short"]
def _forged() -> list[tuple[str, tuple]]:
    """Each fact with values of the wrong type for it (a plausible number in a number's
    place cannot be told from the truth, and is not forged here)."""
    from core.runs import _FACTS

    values = ("x", {}, [1], None, 1.5, -1, True, {"status": 5})
    return [(f"{key}={value!r}", (key, value)) for key in FACTS for value in values
            if not _FACTS[key](value)]


FORGED = _forged()


@pytest.mark.parametrize("name, forged", FORGED, ids=[c[0] for c in FORGED])
def test_a_forged_summary_is_ignored_and_the_metrics_read(capsys, base, folder, name, forged):
    from core.runs import _cached_facts, _metrics_key

    key, value = forged
    metrics_key = _metrics_key(os.stat(folder / METRICS_JSONL))
    assert _cached_facts(folder, metrics_key) is not None  # the summary is what runs reads
    saved = json.loads((folder / SUMMARY).read_text())
    truth = dict(saved["facts"])
    saved["facts"][key] = value
    (folder / SUMMARY).write_text(json.dumps(saved))
    assert _cached_facts(folder, metrics_key) is None  # forged: not used
    for flag in ("--plain", "--json"):
        code, out, err = run_cli(capsys, ["runs", folder.parent, flag], name)
        assert_clean(code, out, err, name)
        assert code == 0 and out
    [row] = json.loads(out)["runs"]
    assert row["status"] == "finished"
    assert row["best_accuracy"] == truth["best_accuracy"]  # from metrics.jsonl
    assert row["last_test_loss"] == truth["last_test_loss"]


# ----------------------------------------------------- folders that cannot be read

@contextlib.contextmanager
def unreadable(folder: Path, mode: int):
    """``folder`` with ``mode``: for real (chmod) unless the tests run as root, who
    reads anything; then the system calls that reach into it fail as they would for
    anyone else (EACCES)."""
    if not ROOT_USER:
        old = os.stat(folder).st_mode
        os.chmod(folder, mode)
        try:
            yield
        finally:
            os.chmod(folder, old)
        return
    top = os.path.abspath(folder)
    can_read, can_search = bool(mode & 0o400), bool(mode & 0o100)

    def under(path) -> bool:
        p = os.path.abspath(os.fsdecode(os.fspath(path)))
        return p.startswith(top + os.sep)

    def denied(path):
        return PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))

    def guard(fn, *, listing=False, opening=False):
        def wrapped(path=".", *args, **kwargs):
            if isinstance(path, (str, bytes, os.PathLike)) and kwargs.get("dir_fd") is None:
                if under(path) and not can_search:
                    raise denied(path)
                if (listing or opening) and os.path.abspath(os.fspath(path)) == top \
                        and not can_read:
                    raise denied(path)
            return fn(path, *args, **kwargs)
        return wrapped

    real_access = os.access

    def access(path, amode, *args, **kwargs):
        if isinstance(path, (str, bytes, os.PathLike)):
            if under(path) and not can_search:
                return False
            if os.path.abspath(os.fspath(path)) == top:
                need = {os.R_OK: 0o400, os.W_OK: 0o200, os.X_OK: 0o100}
                if any(amode & bit and not mode & m for bit, m in need.items()):
                    return False
        return real_access(path, amode, *args, **kwargs)

    mp = pytest.MonkeyPatch()
    try:
        for name, kw in (("stat", {}), ("lstat", {}), ("open", {"opening": True}),
                         ("scandir", {"listing": True}), ("listdir", {"listing": True})):
            mp.setattr(os, name, guard(getattr(os, name), **kw))
        mp.setattr(os, "access", access)
        yield
    finally:
        mp.undo()


MODES = {"mode 000": 0o000, "mode 300 (no reading)": 0o300, "mode 600 (no searching)": 0o600}
PERM_COMMANDS = ("resume", "runs-json", "runs-plain", "draw", "watch", "data-dir")
PERM_CASES = [(f"{cmd} on {label}", (cmd, mode)) for label, mode in MODES.items()
              for cmd in PERM_COMMANDS]


@pytest.mark.parametrize("name, case", PERM_CASES, ids=[c[0] for c in PERM_CASES])
def test_a_folder_that_cannot_be_read_is_one_line_or_a_damaged_row(capsys, folder, data, tmp_path,
                                                                   name, case):
    command, mode = case
    target = folder
    if command == "data-dir":
        target = tmp_path / "data"
        shutil.copytree(data, target)
    before = snapshot(target)
    args = {"resume": ["--headless", "--no-plot", "--resume", folder],
            "runs-json": ["runs", folder.parent, "--json"],
            "runs-plain": ["runs", folder.parent, "--plain"],
            "draw": ["draw", "--checkpoint", folder], "watch": ["watch", folder],
            "data-dir": ["--headless", "--no-plot", "--data-dir", target, "--epochs", "1",
                         "--run-dir", tmp_path / "new"]}[command]
    with unreadable(target, mode):
        code, out, err = run_cli(capsys, args, name)
    assert_clean(code, out, err, name)
    if code != 0 or command != "resume":  # (a resume may go on in a folder it can search)
        assert changes(before, snapshot(target)) == []
    if command == "runs-json":
        [row] = json.loads(out)["runs"]  # listed, not left out without a word
        if mode & 0o100 == 0:
            assert row["status"] == "damaged" and "denied" in row["reason"], row
    elif command == "runs-plain":
        assert code == 0 and "run" in out
    elif mode & 0o100 == 0 or command == "data-dir" and not mode & 0o400:
        assert code == 2 and str(target) in err, err
        assert not (tmp_path / "new").exists()


# ------------------------------------------------------------ bad flags, odd names

def _data_dirs(tmp: Path) -> list[str]:
    (tmp / "a-file").write_text("x")
    (tmp / "loop").symlink_to(tmp / "loop")
    os.mkfifo(tmp / "pipe")
    (tmp / "empty").mkdir()
    return ["x" * 256, "y" * 300, "a/" * 2100 + "b", str(tmp / ("z" * 256) / "data"),
            str(tmp / "a-file" / "data"), str(tmp / "loop"), str(tmp / "loop" / "x"),
            str(tmp / "pipe"), str(tmp / "empty"), str(tmp / "no such folder"),
            str(tmp / "new\nline"), str(tmp / "tab\there")]


DATA_DIR_CASES = list(range(12))


@pytest.mark.parametrize("index", DATA_DIR_CASES)
def test_a_data_dir_that_cannot_be_used_is_one_line_naming_it(capsys, tmp_path, index):
    value = _data_dirs(tmp_path)[index]
    code, out, err = run_cli(capsys, ["--headless", "--no-plot", "--data-dir", value,
                                      "--run-dir", tmp_path / "run"], f"--data-dir {value!r}")
    assert_clean(code, out, err, value)
    assert code == 2 and ("--data-dir" in err or one_line(value) in err), err
    assert not (tmp_path / "run").exists()  # no empty run folder left


DEVICES = ["meta", "xla", "hpu", "ipu", "lazy", "vulkan", "mkldnn", "opengl", "opencl", "ideep",
           "hip", "ve", "fpga", "maia", "xpu", "mtia", "privateuseone", "cuda:99", "cuda:-1",
           "mps:1", "", " ", "cuda:0\n", "CPU", "gpu", "cpu,cuda", "../cpu"]


@pytest.mark.parametrize("device", DEVICES)
def test_a_device_we_do_not_train_on_is_one_line_naming_the_flag(capsys, data, tmp_path, device):
    code, out, err = run_cli(capsys, ["--headless", "--no-plot", "--data-dir", data, "--device",
                                      device, "--run-dir", tmp_path / "run"], f"--device {device!r}")
    assert_clean(code, out, err, device)
    assert code == 2 and "device" in err, err
    assert not (tmp_path / "run").exists()


CONTROL = ["\n", "\r", "\x1b[31m", "\t", "\n\n", "\x07"]
NAME_COMMANDS = ["resume", "watch", "draw", "runs"]
NAME_CASES = [(f"{cmd} {c!r}", (cmd, c)) for cmd in NAME_COMMANDS for c in CONTROL]


@pytest.mark.parametrize("name, case", NAME_CASES, ids=[c[0] for c in NAME_CASES])
def test_a_path_holding_control_characters_stays_one_line(capsys, base, tmp_path, name, case):
    command, chars = case
    odd = tmp_path / f"run{chars}x"
    shutil.copytree(base, odd)
    (odd / CONFIG).write_text("{damaged")  # so that each command has something to say
    args = {"resume": ["--headless", "--no-plot", "--resume", odd], "watch": ["watch", odd],
            "draw": ["draw", "--checkpoint", odd / "missing.pt"],
            "runs": ["runs", tmp_path / f"none{chars}"]}[command]
    code, out, err = run_cli(capsys, args, name)
    assert_clean(code, out, err, name)
    assert code == 2 and "\x1b" not in err and "\r" not in err


# ------------------------------------------------ signals while the modules load

#: stages of the start, told by ``python -X importtime`` (a line as each import ends):
#: numpy just loaded (the program's first slow import), PyTorch's core loaded and the
#: rest of PyTorch loading
STAGES = ("core.datafiles", "torch._C")
SIGNAL_CASES = [(sig, stage) for sig in (signal.SIGTERM, signal.SIGINT) for stage in STAGES]


@pytest.mark.parametrize("sig, stage", SIGNAL_CASES,
                         ids=[f"{s.name} once {stage} is imported" for s, stage in SIGNAL_CASES])
def test_a_signal_while_the_modules_load_ends_quietly(data, tmp_path, sig, stage):
    """The signal comes the moment the process reports an import done (no clock): 130 /
    143 and nothing on stderr but, at most, the line of a run that saved its checkpoint."""
    proc = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "tui.cli", "--headless",
                             "--no-plot", "--data-dir", str(data), "--epochs", "1", "--run-dir",
                             str(tmp_path / "run")], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        with deadline(f"{sig.name} at {stage}"):
            for line in proc.stderr:
                if line.split("|")[-1].strip() == stage:
                    break
            proc.send_signal(sig)
            rest = proc.stderr.read()
            proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = "".join(x for x in rest.splitlines(keepends=True) if not x.startswith("import time:"))
    assert proc.returncode == 128 + sig, (proc.returncode, err)
    assert "Traceback" not in err and err.count("\n") <= 1, err

FORK_CASES = RNG.sample(GARBAGE_CASES, 6) + RNG.sample(BUFFER_CASES, 4)


@pytest.mark.parametrize("name, change", FORK_CASES, ids=[c[0] for c in FORK_CASES])
def test_a_refused_resume_into_a_new_folder_leaves_both_as_they_were(capsys, folder, tmp_path,
                                                                    name, change):
    """--resume SOURCE --run-dir TARGET of a damaged checkpoint: SOURCE byte for byte as
    it was, and no TARGET."""
    state = torch.load(folder / LAST, weights_only=True)
    if isinstance(change, tuple):  # a buffer case: (index, make)
        index, make = change
        buffers = state["optimizer"]["state"][index]
        buffers["momentum_buffer"] = make(buffers["momentum_buffer"])
    else:
        change(state)
    torch.save(state, folder / LAST)
    before = snapshot(folder)
    target = tmp_path / "continued"
    code, out, err = run_cli(capsys, ["--headless", "--no-plot", "--resume", folder,
                                      "--run-dir", target], name)
    assert_clean(code, out, err, name)
    assert code == 2 and LAST in err, err
    assert changes(before, snapshot(folder)) == [] and not target.exists()
