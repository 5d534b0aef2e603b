"""core.runs: finding and summarising run folders (real short runs and damaged ones),
and the plain and JSON output of `mnist-tui runs`."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core import runs as core_runs
from core.events import format_max_accuracy
from core.runfolder import METRICS_JSONL
from core.runs import (
    compare_settings, find_run_dirs, label, load_curves, scan, setting_text, summarise,
)
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
    assert r.dataset == "mnist" and r.settings["activation"] == "relu" and r.settings["lr"] == 0.05
    assert r.settings["hidden"] == [100, 50] and r.settings["limit_train"] == 500
    assert setting_text(r, "hidden") == "100,50" and setting_text(r, "lr") == "0.05"
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
    assert rs["no-metrics"].settings["lr"] == 0.2  # what could be read is kept
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
    assert after.settings["epochs"] == 2 and after.started_with == {"epochs": 1}
    assert setting_text(after, "epochs") == "1→2"


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
    assert third["relu"].status == "finished" and third["relu"].reason == ""
    # a finished run with a writer: its dashboard still open (not running)
    assert (third["base"].status, third["base"].reason) == ("finished", "dashboard open")
    read.clear()
    fourth = {r.name: r for r in scan(root, {r.path: r for r in third.values()})}
    assert "base" in read and fourth["base"].reason == "" and fourth["base"].pid is None  # closed


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
    assert lines[0].startswith("# same in all runs: dataset mnist · momentum 0.9 · batch 50")
    header, rows = lines[1], lines[2:]
    # the result first, then the settings that differ, then the rest
    # (the dataset all share is said once, on the line above)
    assert header.split() == ["run", "status", "best", "%", "at", "epochs", "lr", "activation",
                              "test", "loss", "started", "time", "size", "note"]
    assert len(rows) == 9 and "\x1b" not in out.stdout
    start_of = {title: header.index(title) for title in ("run", "started", "status", "size", "note")}
    row = {ln.split()[0]: ln for ln in rows}
    relu = row["relu"]
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d ", relu[start_of["started"]:])  # ISO
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
    # numbers as JSON numbers, absent as null (never the table's text: "0.2", "-")
    assert runs["relu"]["settings"]["lr"] == 0.05 and runs["relu"]["settings"]["limit_train"] == 500
    assert runs["relu"]["settings"]["hidden"] == [100, 50] and runs["relu"]["started_with"] == {}
    assert doc["same"]["momentum"] == 0.9 and doc["same"]["hidden"] == [100, 50]
    assert runs["bad-config"]["best_accuracy"] is None and runs["bad-config"]["started"] is None
    assert isinstance(runs["relu"]["best_accuracy"], float) and isinstance(runs["relu"]["started"], float)


def test_json_gives_null_for_an_absent_value_and_both_values_of_an_edit(runs_root, tmp_path):
    import shutil

    run = shutil.copytree(runs_root / "base", tmp_path / "runs" / "edited")
    config = json.loads((run / "config.json").read_text())
    config["limit_train"] = None  # the whole training set
    (run / "config.json").write_text(json.dumps(config))
    add_edit(run, lr=(0.2, 0.05))
    out = cli(str(tmp_path / "runs"), "--json")
    r = json.loads(out.stdout)["runs"][0]
    assert r["settings"]["limit_train"] is None and r["settings"]["lr"] == 0.05
    assert r["started_with"] == {"lr": 0.2}
    plain = cli(str(tmp_path / "runs")).stdout
    assert "lr 0.2→0.05" in plain.splitlines()[0]  # one run: its settings line names it
    assert "train n" not in plain.splitlines()[0]   # absent (all of the data): no word for it


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


def add_edit(run: Path, **changes) -> None:
    """An applied edit row before the run's end row (and summary.json out of date)."""
    p = run / METRICS_JSONL
    rows = [json.loads(x) for x in p.read_text().splitlines()]
    edit = {"kind": "edit", "step": 5, "epoch": 1, "seen": 250, "applied": True,
            "effect": "live", "changes": {k: list(v) for k, v in changes.items()}}
    rows.insert(len(rows) - 1, edit)
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run / "summary.json").unlink(missing_ok=True)


@pytest.mark.parametrize("value", [0.05, 0.2, 0.1 + 0.2, 1e-05, 0.123456789, 3e-7, 2.5e-4, 1 / 3])
def test_a_setting_is_never_shown_as_another_number(value):
    from core.config import show_value

    assert float(show_value(value)) == value  # what is shown reads back as the same number
    assert show_value(2.0) == "2" and show_value(None) == "-" and show_value((100, 50)) == "100,50"


def test_an_edited_setting_shows_both_values_exactly(runs_root, tmp_path):
    import shutil

    run = shutil.copytree(runs_root / "base", tmp_path / "r")
    add_edit(run, lr=(0.2, 0.05), momentum=(0.9, 0.123456789))
    r = summarise(run)
    assert setting_text(r, "lr") == "0.2→0.05"  # not 0.2→0.0, not 0.2→0.1
    assert setting_text(r, "momentum") == "0.9→0.123456789"


def test_an_ended_run_whose_dashboard_is_open_is_not_running(runs_root, tmp_path):
    import shutil

    from core.runs import DASHBOARD_OPEN
    from tui.runs.table import columns_for, status_text

    run = shutil.copytree(runs_root / "relu", tmp_path / "r")
    with live_writer(run) as pid:  # the dashboard still holds the folder after the end row
        r = summarise(run)
        assert (r.status, r.reason, r.pid) == ("finished", DASHBOARD_OPEN, pid)
        assert status_text(r) == "finished (dashboard open)"
        note = next(c for c in columns_for([]) if c.key == "note")
        assert note.text(r) == ""  # said once, in the status
    assert summarise(run).reason == ""  # closed: plainly finished


@pytest.mark.parametrize("cause,words", [
    ("quit", "interrupted: quit mid-run (q)"),
    ("restart", "interrupted: restarted (r)"),
    ("SIGHUP", "interrupted: hang-up (SIGHUP"),
    ("SIGTERM", "interrupted: terminated (SIGTERM)"),
    ("SIGINT", "interrupted: Ctrl+C (SIGINT)"),
])
def test_each_cause_of_an_interruption_is_named(runs_root, tmp_path, cause, words):
    import shutil

    from tests.run_folders import rewrite_end

    run = shutil.copytree(runs_root / "base", tmp_path / "r")
    rewrite_end(run, status="interrupted", signal=cause)
    (run / "summary.json").unlink(missing_ok=True)
    r = summarise(run)
    assert r.status == "stopped" and r.reason.startswith(words)


def test_dates_are_iso(monkeypatch):
    import time

    from tui.runs.table import fmt_started

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert fmt_started(1_796_293_560.0) == "2026-12-03 10:26"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_the_dataset_is_a_column_only_when_runs_differ_in_it(runs_root, tmp_path):
    import shutil

    from tui.runs.table import layout, matches

    root = tmp_path / "runs"
    for name in ("base", "relu"):
        shutil.copytree(runs_root / name, root / name)
    same, _differ, cols = layout(scan(root))
    assert same["dataset"] == "mnist" and "dataset" not in [c.key for c in cols]
    assert all(matches(r, "mnist", cols) for r in scan(root))  # the filter still reads it
    config = json.loads((root / "relu" / "config.json").read_text())
    (root / "relu" / "config.json").write_text(json.dumps(config | {"dataset": "fashion-mnist"}))
    same, _differ, cols = layout(scan(root))
    assert "dataset" not in same and "dataset" in [c.key for c in cols]
    assert "fashion-mnist" in cli(str(root)).stdout.splitlines()[-1]


def test_the_shared_line_leaves_out_settings_no_run_has(data, tmp_path):
    from core.config import Hyperparameters
    from core.session import RunSpec
    from tui.headless import run_headless
    from tui.runs.table import layout, plain_table

    for name in ("a", "b"):  # no --limit-train / --limit-test: all of the data
        spec = RunSpec(hparams=Hyperparameters(epochs=1, lr=0.1 if name == "a" else 0.2),
                       data_dir=str(data), device="cpu", run_dir=str(tmp_path / name),
                       allow_download=False)
        assert run_headless(spec, plot=False, out=io.StringIO()) == 0
    runs = scan(tmp_path)
    same, _differ, _cols = layout(runs)
    assert "limit_train" not in same and "limit_test" not in same
    first = plain_table(runs).splitlines()[0]
    assert first.startswith("# same in all runs: dataset mnist") and " -" not in first


def test_a_restarted_run_names_the_folder_it_restarted_into(runs_root, tmp_path):
    import os
    import shutil

    root = tmp_path / "runs"
    for name in ("base", "base-restart1", "base-restart2"):
        shutil.copytree(runs_root / "base", root / name)
    for i, name in enumerate(("base", "base-restart1", "base-restart2")):
        os.utime(root / name / "config.json", (1_700_000_000 + 60 * i,) * 2)
    for name in ("base", "base-restart1"):
        (root / name / "summary.json").unlink(missing_ok=True)
        rows = (root / name / METRICS_JSONL).read_text().splitlines()
        end = json.loads(rows[-1])
        end.update(status="interrupted", signal="restart")
        (root / name / METRICS_JSONL).write_text("\n".join([*rows[:-1], json.dumps(end)]) + "\n")
    found = by_name(root)
    assert found["base"].reason == "interrupted: restarted (r) into base-restart1"
    assert found["base-restart1"].reason == "interrupted: restarted (r) into base-restart2"
    assert found["base-restart2"].reason == ""
