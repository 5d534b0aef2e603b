"""core.runs: finding and summarising run folders (real short runs and damaged ones),
and the plain and JSON output of `mnist-tui runs`."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core import runs as core_runs
from core.events import format_max_accuracy
from core.runfolder import METRICS_JSONL
from core.runs import compare_settings, find_run_dirs, label, load_curves, scan, summarise
from tests.helpers import write_split
from tests.run_folders import live_writer, make_runs, real_run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_split(tmp_path_factory.mktemp("runs-data"), 500, 200)


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory, data):
    return make_runs(tmp_path_factory.mktemp("runs"), data)


def by_name(root):
    return {r.name: r for r in scan(root)}


def test_finds_every_run_folder_recursively_and_nothing_else(runs_root):
    names = [str(p.relative_to(runs_root)) for p in find_run_dirs(runs_root)]
    assert names == sorted(["bad-config", "bad-line", "base", "diverged", "group/base-restart1",
                            "killed", "lr-0.05", "no-metrics", "relu"])


def test_a_finished_run_is_summarised_as_its_headless_run_printed_it(runs_root, data, tmp_path):
    out = io.StringIO()
    real_run(tmp_path / "again", data, out=out, epochs=3, activation="relu", lr=0.05)
    printed = [ln for ln in out.getvalue().splitlines() if ln.startswith("Max Accuracy is: ")]
    r = by_name(runs_root)["relu"]
    assert printed == [format_max_accuracy(r.best_accuracy)]  # the same seed, the same run
    assert (r.status, r.reason, r.epochs_done, r.epochs_planned) == ("finished", "", 3, 3)
    rows = [json.loads(x) for x in (runs_root / "relu" / METRICS_JSONL).read_text().splitlines()]
    tests = [x for x in rows if x["kind"] == "test"]
    assert r.last_test_loss == tests[-1]["loss"]
    assert r.best_epoch == max(tests, key=lambda x: x["accuracy"])["epoch"]
    assert r.dataset == "mnist" and r.settings["activation"] == "relu" and r.settings["lr"] == "0.05"
    assert r.settings["hidden"] == "100,50" and r.settings["limit_train"] == "500"
    assert r.size >= sum(p.stat().st_size for p in (runs_root / "relu").iterdir()) * 0.9
    assert r.duration is not None and r.duration >= 0 and r.pid is None


def test_statuses_and_reasons(runs_root):
    rs = by_name(runs_root)
    assert rs["diverged"].status == "diverged"
    assert rs["group/base-restart1"].status == "finished"
    k = rs["killed"]
    assert k.status == "stopped" and "no end row" in k.reason and "cut short" in k.reason
    assert k.epochs_done == 2 and k.best_epoch == 1  # what was written is used (its epoch-2 test was cut)
    assert rs["bad-config"].status == "damaged"
    assert rs["bad-config"].reason.startswith("config.json: not readable JSON")
    assert rs["no-metrics"].status == "damaged" and rs["no-metrics"].reason == "metrics.jsonl missing"
    assert rs["no-metrics"].settings["lr"] == "0.2"  # what could be read is kept
    bad = rs["bad-line"]
    assert bad.status == "damaged" and bad.reason == "metrics.jsonl line 3: not JSON"


GOOD = '{"format": "mnist-tui-run", "dataset": "mnist", "hparams": {"epochs": 2}}'


def test_every_kind_of_damage_is_a_row_never_an_exception(tmp_path):
    cases = {
        "empty-config": ("", None), "list-config": ("[1]", None),
        "foreign": ('{"format": "other"}', None),
        "no-hparams": ('{"format": "mnist-tui-run"}', None),
        "no-start": (GOOD, '{"kind": "epoch", "epoch": 1, "step": 1, "seen": 1, "loss": 1}\n'),
        "bad-row": (GOOD,
                    '{"kind": "start", "epoch": 0}\n{"kind": "end"}\n'),
        "odd-kind": (GOOD, '{"kind": "what"}\n'),
        "binary": (GOOD, "\x00\xff\n{}\n"),
        "bad-hparams": ('{"format": "mnist-tui-run", "dataset": "mnist", "hparams": {"lr": -1}}', None),
    }
    for name, (config, metrics) in cases.items():
        d = tmp_path / name
        d.mkdir()
        (d / "config.json").write_text(config)
        if metrics is not None:
            (d / METRICS_JSONL).write_text(metrics)
    (tmp_path / "only-checkpoint").mkdir()
    (tmp_path / "only-checkpoint" / "checkpoint-last.pt").write_bytes(b"x")
    rs = by_name(tmp_path)
    assert set(rs) == {*cases, "only-checkpoint"}
    for name, r in rs.items():
        assert r.status == "damaged" and r.reason, name
        assert "\n" not in r.reason
    assert rs["no-start"].reason == "metrics.jsonl has no start row"
    assert rs["only-checkpoint"].reason.startswith("config.json: missing")
    assert rs["bad-row"].reason == "metrics.jsonl line 1: not a run's row (a field missing or of the wrong type)"
    assert rs["bad-hparams"].reason.startswith("config.json: hparams: ")
    assert rs["binary"].reason == "metrics.jsonl line 1: not JSON"


def test_an_unreadable_folder_is_damaged(tmp_path, monkeypatch):
    d = tmp_path / "r"
    d.mkdir()
    (d / "config.json").write_text("{}")
    monkeypatch.setattr(core_runs, "_fill", lambda *a: 1 / 0)
    r = summarise(d, tmp_path)
    assert r.status == "damaged" and r.reason == "ZeroDivisionError: division by zero"


def test_a_live_writer_makes_a_run_running_even_half_written(runs_root, tmp_path):
    import shutil

    shutil.copytree(runs_root / "killed", tmp_path / "k")
    with live_writer(tmp_path / "k") as pid:
        r = summarise(tmp_path / "k", tmp_path)
        assert (r.status, r.pid) == ("running", pid)
        (tmp_path / "k" / METRICS_JSONL).unlink()  # just created: nothing written yet
        r = summarise(tmp_path / "k", tmp_path)
        assert r.status == "running" and "metrics.jsonl missing" in r.reason
    assert summarise(tmp_path / "k", tmp_path).status == "damaged"  # the writer is gone


def test_the_summary_file_is_used_only_while_it_is_current(runs_root, data, tmp_path, monkeypatch):
    run = tmp_path / "r"
    real_run(run, data, epochs=1)
    assert (run / "summary.json").exists()
    before = summarise(run)
    real = core_runs.read_metrics

    def refuse(path):
        raise AssertionError("metrics.jsonl read although summary.json is current")

    monkeypatch.setattr(core_runs, "read_metrics", refuse)
    assert summarise(run) == before
    # a resume rewrites metrics.jsonl: the summary no longer holds until the run ends again
    monkeypatch.setattr(core_runs, "read_metrics", real)
    (run / "summary.json").rename(tmp_path / "old-summary.json")
    real_run(run, data, resume=True, epochs=2)
    (tmp_path / "old-summary.json").rename(run / "summary.json")  # stale
    after = summarise(run)
    assert (after.epochs_done, after.epochs_planned) == (2, 2)
    assert after.settings["epochs"] == "1→2"


def test_a_rescan_reads_only_what_changed(runs_root, tmp_path, monkeypatch):
    import shutil

    root = shutil.copytree(runs_root, tmp_path / "runs")
    first = {r.path: r for r in scan(root)}
    read = []
    real = core_runs.summarise
    monkeypatch.setattr(core_runs, "summarise", lambda d, *a, **k: read.append(Path(d).name) or real(d, *a, **k))
    again = scan(root, first)
    assert sorted(read) == ["bad-config", "bad-line", "no-metrics"]  # damaged: always read again
    assert {r.path: r for r in again} == first
    read.clear()
    core_runs_path = root / "relu" / METRICS_JSONL
    core_runs_path.write_text(core_runs_path.read_text())  # written since: read again
    with live_writer(root / "base"):  # a writer now: read again
        third = {r.name: r for r in scan(root, first)}
    assert sorted(read) == ["bad-config", "bad-line", "base", "no-metrics", "relu"]
    assert third["base"].status == "running" and third["relu"].status == "finished"


def test_compare_settings_and_labels(runs_root):
    rs = scan(runs_root)
    same, differ = compare_settings(rs)
    assert differ == ["lr", "epochs", "activation"]
    assert same["momentum"] == "0.9" and same["hidden"] == "100,50" and "lr" not in same
    relu = next(r for r in rs if r.name == "relu")
    assert label(relu, differ) == "lr 0.05 epochs 3 activation relu"
    assert label(relu, []) == "relu"


def test_load_curves_reads_the_train_and_test_rows(runs_root):
    c = load_curves(runs_root / "relu")
    rows = [json.loads(x) for x in (runs_root / "relu" / METRICS_JSONL).read_text().splitlines()]
    assert c.test_epoch == [0, 1, 2, 3]
    assert c.test_accuracy == [x["accuracy"] for x in rows if x["kind"] == "test"]
    assert c.train_seen == [x["seen"] for x in rows if x["kind"] == "train"]
    assert c.train_epoch == [s / 500 for s in c.train_seen] and not c.problem
    bad = load_curves(runs_root / "bad-line")
    assert bad.problem == "1 unreadable line in metrics.jsonl skipped" and bad.test_epoch == [0, 1, 2]
    assert load_curves(runs_root / "no-metrics").problem.startswith("metrics.jsonl")


# ------------------------------------------------------------------ the command line

def cli(*args):
    return subprocess.run([sys.executable, "-m", "tui.cli", "runs", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def test_plain_output_one_aligned_line_per_run(runs_root):
    out = cli(str(runs_root))  # piped: plain without asking
    assert out.returncode == 0 and out.stderr == ""
    lines = out.stdout.splitlines()
    assert lines[0].startswith("# same in all runs: momentum 0.9 · batch 50")
    header, rows = lines[1], lines[2:]
    assert header.split() == ["run", "status", "started", "dataset", "lr", "activation", "epochs",
                              "best", "%", "at", "test", "loss", "time", "size", "note"]
    assert len(rows) == 9 and "\x1b" not in out.stdout
    start_of = {title: header.index(title) for title in ("run", "dataset", "status", "size", "note")}
    row = {ln.split()[0]: ln for ln in rows}
    relu = row["relu"]
    assert relu[start_of["dataset"]:].startswith("mnist")
    assert relu[start_of["status"]:].startswith("finished")
    assert row["bad-line"][start_of["status"]:].startswith("damaged")
    assert row["bad-line"][start_of["note"]:] == "metrics.jsonl line 3: not JSON"
    r = by_name(runs_root)["relu"]
    assert f"{r.best_accuracy:.2f}" in relu.split() and "3/3" in relu.split()
    assert cli(str(runs_root), "--plain").stdout == out.stdout


def test_json_output(runs_root):
    out = cli(str(runs_root), "--json")
    assert out.returncode == 0
    doc = json.loads(out.stdout)
    assert doc["differing"] == ["lr", "epochs", "activation"]
    runs = {r["name"]: r for r in doc["runs"]}
    assert runs["relu"]["status"] == "finished" and runs["relu"]["epochs_done"] == 3
    assert runs["bad-config"]["reason"].startswith("config.json: not readable JSON")
    assert runs["relu"] == by_name(runs_root)["relu"].to_dict() | {"path": runs["relu"]["path"]}


def test_bad_command_lines_are_one_line_and_exit_2(tmp_path):
    for args, text in [((str(tmp_path / "nope"),), "no such folder"),
                       (("--bogus",), "unrecognized arguments: --bogus"),
                       (("--plain", "--json"), "not allowed with")]:
        out = cli(*args)
        assert out.returncode == 2 and out.stderr.count("\n") == 1 and text in out.stderr, out.stderr
        assert out.stderr.startswith("mnist-tui: error: ")
    empty = cli(str(tmp_path))
    assert empty.returncode == 0 and empty.stdout == "" and "no run folders" in empty.stderr


def test_a_summary_that_cannot_be_written_never_stops_a_run(runs_root, tmp_path, monkeypatch):
    import shutil

    from core import safewrite
    from core.errors import WriteError
    from core.runs import write_summary

    run = shutil.copytree(runs_root / "relu", tmp_path / "r")
    (run / "summary.json").unlink()

    def full(path, write):
        raise WriteError(f"{path}: no space left on device")

    monkeypatch.setattr(safewrite, "atomic_write_bytes", full)
    write_summary(run)  # no exception
    assert not (run / "summary.json").exists()
    assert summarise(run).status == "finished"  # read from metrics.jsonl instead
