"""Sweeps (core.sweep, tui.sweep.command): search specs, trials as run folders, the pruner, a
diverged trial, a clean stop, --jobs 2 on the embedded storage, and two processes
sharing one study on a real PostgreSQL server."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from core.config import Hyperparameters
from core.runs import scan
from core.session import RunSpec
from core.sweep import SearchSpecError, SweepSpec, open_study, parse_search, parse_spec, work

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------- specs

@pytest.mark.parametrize("text, kind, expected", [
    ("lr=log:0.001:1", "float", (0.001, 1.0, True)),
    ("momentum=0.5:0.99", "float", (0.5, 0.99, False)),
    ("batch_size=int:16:256", "int", (16, 256, False)),
    ("batch_size=16:256", "int", (16, 256, False)),
])
def test_ranges(text, kind, expected):
    d = parse_spec(text)
    assert (d.kind, (d.low, d.high, d.log)) == (kind, expected)
    assert str(parse_spec(str(d))) == str(d)


def test_choices_are_the_fields_values():
    assert parse_spec("batch_size=choice:32,50,128").choices == ("32", "50", "128")
    hidden = parse_spec("hidden=choice:100,50|200|300,100")
    assert hidden.choices == ("100,50", "200", "300,100")
    assert hidden.value("100,50") == (100, 50)
    assert parse_spec("activation=choice:sigmoid,relu,tanh").value("relu") == "relu"
    assert parse_spec("optimizer=choice:sgd,adam").distribution().choices == ("sgd", "adam")


@pytest.mark.parametrize("text, words", [
    ("lr", "NAME=SPEC"),
    ("nope=1:2", "no hyperparameter 'nope'"),
    ("lr=log:0:1", "log scale"),
    ("lr=2:1", "at most HIGH"),
    ("lr=a:b", "not numbers"),
    ("lr=int:1:3", "not a whole number"),
    ("momentum=0.5:1.5", "momentum must be"),
    ("batch_size=0.5:8", "not whole numbers"),
    ("hidden=1:3", "choices only"),
    ("activation=choice:sigmoid,swish", "activation must be one of"),
    ("hidden=choice:100,,50|200", "not whole numbers separated by commas"),
    ("batch_size=choice:32,32", "twice"),
])
def test_bad_specs_say_why(text, words):
    with pytest.raises(SearchSpecError, match=re.escape(words)):
        parse_spec(text)


def test_a_name_searched_twice_is_refused_and_the_default_space_parses():
    with pytest.raises(SearchSpecError, match="twice"):
        parse_search(["lr=0.1:0.2", "lr=log:0.01:1"])
    assert [d.name for d in parse_search(None)] == ["lr", "momentum", "batch_size"]


@pytest.mark.parametrize("argv, words", [
    (["--search", "lr=log:0:1"], "--search lr=log:0:1: a log scale needs LOW above 0"),
    (["--search", "lr=0.1:0.2", "--lr", "0.1"], "--lr: is searched"),
    (["--trials", "0"], "--trials: must be 1 or more"),
    (["--study", "../x"], "--study:"),
    (["--storage", "postgresql://u:secret@127.0.0.1:1/x"], "u:***@127.0.0.1:1/x: cannot be opened"),
])
def test_bad_command_lines_are_one_line_and_exit_2(argv, words, tmp_path, monkeypatch, capsys):
    from tui.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--headless", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "secret" not in err


# ------------------------------------------------------------------------- trials in-process

def _spec(tmp_path: Path, data: Path, space: list[str], *, epochs: int, prune: bool = True,
          limit_train: int = 1000, **hp) -> SweepSpec:
    base = RunSpec(hparams=Hyperparameters(epochs=epochs, **hp), data_dir=str(data),
                   limit_train=limit_train, limit_test=200)
    return SweepSpec(study="t", root=str(tmp_path / "runs" / "t"), space=parse_search(space),
                     base=base, prune=prune, threads=1)


def _work(spec: SweepSpec, n: int, stop=lambda: None) -> list[tuple]:
    left = [n]
    sent: list[tuple] = []

    def claim() -> bool:
        left[0] -= 1
        return left[0] >= 0

    work(spec, claim, stop, sent.append)
    return sent


def _rows(spec):
    from core.sweep import trial_rows

    return trial_rows(open_study(spec))


def test_pruning_stops_a_hopeless_trial_after_its_first_epoch(small_data, tmp_path):
    spec = _spec(tmp_path, small_data, ["lr=log:0.00001:1"], epochs=3, activation="relu")
    study = open_study(spec)
    for lr in (0.1, 0.1, 0.1, 0.00001):  # three good trials complete, then a hopeless one
        study.enqueue_trial({"lr": lr})
    _work(spec, 4)
    rows = _rows(spec)
    assert [r.state for r in rows] == ["complete"] * 3 + ["pruned"]
    assert [r.epoch for r in rows] == [3, 3, 3, 1]
    assert rows[3].best_accuracy < min(r.best_accuracy for r in rows[:3])
    listed = {Path(s.path).name: s for s in scan(spec.root)}
    assert listed["trial-0003"].status == "pruned" and listed["trial-0003"].epochs_done == 1
    assert listed["trial-0000"].status == "finished"
    assert listed["trial-0000"].best_accuracy == rows[0].best_accuracy  # the Max Accuracy value
    from tui.sweep.command import reproduce_flags

    later = replace(spec, base=replace(spec.base, hparams=Hyperparameters(epochs=9)))
    flags = reproduce_flags(later, rows[0]).split()  # what the trial ran with, not the base now
    assert flags[flags.index("--epochs") + 1] == "3" and flags[flags.index("--lr") + 1] == "0.1"
    assert flags[flags.index("--activation") + 1] == "relu"


def test_a_diverged_trial_is_failed_and_the_sweep_goes_on(small_data, tmp_path):
    spec = _spec(tmp_path, small_data, ["lr=log:0.01:10"], epochs=1, limit_train=500,
                 momentum=0.99, activation="relu", hidden=(200, 200, 200), batch_size=10)
    study = open_study(spec)
    study.enqueue_trial({"lr": 10.0})
    study.enqueue_trial({"lr": 0.01})
    sent = _work(spec, 2)
    rows = _rows(spec)
    assert [r.state for r in rows] == ["failed", "complete"]
    assert "diverged" in rows[0].reason
    assert [m[1]["state"] for m in sent if m[0] == "finished"] == ["failed", "complete"]
    assert {Path(s.path).name: s.status for s in scan(spec.root)}["trial-0000"] == "diverged"


def test_a_stop_ends_the_running_trial_stopped_with_its_checkpoint(small_data, tmp_path):
    from optuna.trial import TrialState

    spec = _spec(tmp_path, small_data, ["lr=log:0.01:1"], epochs=5)
    folder = Path(spec.root) / "trial-0000"

    def stop():  # a signal arrives once the first epoch has ended
        metrics = folder / "metrics.jsonl"
        return "SIGINT" if metrics.exists() and '"kind": "epoch"' in metrics.read_text() else None

    _work(spec, 3, stop)
    study = open_study(spec)
    assert [t.state for t in study.trials] == [TrialState.FAIL]  # consistent: none left running
    row = _rows(spec)[0]
    assert (row.state, row.epoch, row.reason) == ("stopped", 1, "SIGINT")
    s = scan(spec.root)[0]
    assert s.status == "stopped" and "SIGINT" in s.reason
    assert (folder / "checkpoint-last.pt").is_file()


# ------------------------------------------------------------------------- processes

def _sweep(cwd: Path, *args: str, **kw) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "tui.cli", "sweep", "--headless", *args],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


TINY = ["--epochs", "1", "--limit-train", "300", "--limit-test", "100", "--no-prune"]


def _trial_lines(out: str) -> list[int]:
    return [int(m) for m in re.findall(r"^Trial (\d+): complete", out, re.M)]


def _one_start_each(folder: Path) -> None:
    for d in sorted(folder.glob("trial-*")):
        rows = [json.loads(x) for x in (d / "metrics.jsonl").read_text().splitlines()]
        assert sum(r["kind"] == "start" for r in rows) == 1, d  # no trial run twice


def test_jobs_2_on_the_embedded_storage_and_a_rerun_continues(small_data, tmp_path):
    p = _sweep(tmp_path, "--trials", "3", "--jobs", "2", "--data-dir", str(small_data), *TINY)
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, err
    assert sorted(_trial_lines(out)) == [0, 1, 2]
    assert "2 at a time" in out
    assert re.search(r"^Best trial: \d+  Max Accuracy is: \d+\.\d\d%$", out, re.M)
    flags = out.strip().splitlines()[-1].split()
    assert flags[:1] == ["mnist-tui"] and "--lr" in flags and "--limit-train" in flags
    study = tmp_path / "runs" / "sweep"
    assert (study / "study.journal").is_file()
    from optuna.storages.journal import JournalFileBackend, JournalStorage
    import optuna

    trials = optuna.load_study(study_name="sweep", storage=JournalStorage(
        JournalFileBackend(str(study / "study.journal")))).trials
    assert len({t.user_attrs["worker"] for t in trials}) == 2  # two processes trained them

    p = _sweep(tmp_path, "--trials", "1", "--json", "--data-dir", str(small_data), *TINY)
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, err
    summary = json.loads(out)
    assert [t["number"] for t in summary["trials"]] == [0, 1, 2, 3]
    assert summary["best"]["flags"].startswith("mnist-tui ")
    assert sorted(d.name for d in study.glob("trial-*")) == [f"trial-000{i}" for i in range(4)]
    _one_start_each(study)


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture
def postgres():
    """A PostgreSQL server of our own in a temp folder (as `nobody` when we are root),
    on a Unix socket there; stopped and removed after."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    pytest.importorskip("psycopg2")
    base = Path(tempfile.mkdtemp(prefix="mnist-tui-pg-"))
    as_user: list[str] = []
    user = None
    if os.geteuid() == 0:  # initdb refuses root
        user = "nobody"
        shutil.chown(base, user)
        as_user = ["setpriv", f"--reuid={user}", "--regid=nogroup", "--clear-groups"]
    data = base / "data"
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust",
                    "-U", "sweeper"], check=True, capture_output=True)
    server = subprocess.Popen([*as_user, str(bindir / "postgres"), "-D", str(data), "-k",
                               str(base), "-c", "listen_addresses=", "-c", "fsync=off"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        ready = str(bindir / "pg_isready")
        while subprocess.run([ready, "-h", str(base), "-U", "sweeper", "-t", "1"],
                             capture_output=True).returncode != 0:
            if server.poll() is not None:
                pytest.fail(f"postgres did not start: {server.stderr.read()[-500:]}")
        yield f"postgresql://sweeper@/postgres?host={base}"
    finally:
        server.send_signal(signal.SIGINT)  # fast shutdown: this test's own client is cut off
        server.wait(timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def test_two_processes_share_one_study_on_postgresql(postgres, small_data, tmp_path):
    machines = [tmp_path / "a", tmp_path / "b"]  # two working folders, as on two machines
    for m in machines:
        m.mkdir()
    procs = [_sweep(m, "--trials", "2", "--study", "shared", "--storage", postgres,
                    "--data-dir", str(small_data), *TINY) for m in machines]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    numbers = [n for out, _ in outs for n in _trial_lines(out)]
    assert sorted(numbers) == [0, 1, 2, 3]  # exactly four, none twice
    folders = sorted(d.name for m in machines for d in (m / "runs" / "shared").glob("trial-*"))
    assert folders == [f"trial-000{i}" for i in range(4)]
    for m in machines:
        _one_start_each(m / "runs" / "shared")
    import optuna

    from core.sweep import _driver

    study = optuna.load_study(study_name="shared", storage=_driver(postgres))
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert "Max Accuracy is" in outs[1][0]
