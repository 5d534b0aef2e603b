"""A corpus of damaged run folders, made from a real run: `--resume` answers each with
one line naming the file and the field (exit 2) or, for damage that loses nothing
(a bad metrics line), skips it and goes on; `watch` follows every one of them without
an internal error. Never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from core.runfolder import CONFIG, LAST, METRICS_JSONL, TEST_LAST
from tests.helpers import write_split

EXIT_BAD = 2


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_split(tmp_path_factory.mktemp("dr-data"), 600, 200)


@pytest.fixture(scope="module")
def base(data, tmp_path_factory):
    """A real, finished two-epoch run folder."""
    from tui.cli import main

    folder = tmp_path_factory.mktemp("dr-base") / "run"
    assert main(["--headless", "--no-plot", "--data-dir", str(data), "--epochs", "2",
                 "--limit-test", "150", "--run-dir", str(folder)]) == 0
    return folder


def _ckpt(change):
    def damage(folder: Path) -> None:
        state = torch.load(folder / LAST, weights_only=True)
        change(state)
        torch.save(state, folder / LAST)
    return damage


def _config(change):
    def damage(folder: Path) -> None:
        config = json.loads((folder / CONFIG).read_text())
        change(config)
        (folder / CONFIG).write_text(json.dumps(config))
    return damage


def _write(name: str, content: bytes):
    def damage(folder: Path) -> None:
        (folder / name).write_bytes(content)
    return damage


def _append_metrics(content: bytes):
    def damage(folder: Path) -> None:
        with open(folder / METRICS_JSONL, "ab") as f:
            f.write(content)
    return damage


def _pop(key):
    return lambda s: s.pop(key)


def _set(key, value):
    return lambda s: s.__setitem__(key, value)


def _hparams(**changes):
    return lambda s: s["hparams"].update(changes)


def _replace_dir(name: str):
    def damage(folder: Path) -> None:
        (folder / name).unlink()
        (folder / name).mkdir()
    return damage


def _insert_metrics_line(line: bytes):
    def damage(folder: Path) -> None:
        lines = (folder / METRICS_JSONL).read_bytes().split(b"\n")
        lines.insert(2, line)
        (folder / METRICS_JSONL).write_bytes(b"\n".join(lines))
    return damage


# (name, damage, what --resume says: a substring of its one line, or None: it goes on)
CORPUS = [
    ("no checkpoint", lambda f: (f / LAST).unlink(), "checkpoint-last.pt: checkpoint not found"),
    ("checkpoint is garbage", _write(LAST, b"garbage"), "not a readable checkpoint"),
    ("checkpoint is empty", _write(LAST, b""), "not a readable checkpoint"),
    ("checkpoint cut in half", lambda f: (f / LAST).write_bytes((f / LAST).read_bytes()[:5000]),
     "not a readable checkpoint"),
    ("checkpoint is a folder", _replace_dir(LAST), "checkpoint-last.pt: cannot be read (is a folder"),
    ("checkpoint not ours", _ckpt(_pop("format")), "not an mnist-tui checkpoint"),
    ("checkpoint version 2", _ckpt(_set("version", 2)), "version 2 is not supported"),
    *[(f"checkpoint without {k}", _ckpt(_pop(k)), f"{k}: missing")
      for k in ("model", "hparams", "epoch", "history", "rng", "optimizer", "batch_in_epoch",
                "step", "seen", "tested_initial")],
    ("hidden sizes not matching the weights", _ckpt(_hparams(hidden=[100, 60])),
     "model.layers.2.weight: expected a tensor of shape (60, 100)"),
    ("fewer layers than the weights", _ckpt(_hparams(hidden=[64])), "does not hold the weights"),
    ("a refused learning rate", _ckpt(_hparams(lr=-1)), "hparams: lr: must be greater than 0"),
    ("hparams not a table", _ckpt(_set("hparams", "sgd")), "hparams: not a table"),
    ("an unknown hyperparameter", _ckpt(_hparams(dropout=0.5)), "dropout: no such hyperparameter"),
    ("epoch of the wrong type", _ckpt(_set("epoch", "3")), "epoch: must be a whole number"),
    ("negative epoch", _ckpt(_set("epoch", -5)), "epoch: must be a whole number 0 or more"),
    ("epoch past the run", _ckpt(_set("epoch", 10**6)), "epoch: 1000000 is past the run's 2 epochs"),
    ("batch index past the epoch", _ckpt(lambda s: s.update(epoch=1, batch_in_epoch=10**6)),
     "batch_in_epoch: 1000000 is not within an epoch"),
    ("negative step", _ckpt(_set("step", -1)), "step: must be a whole number"),
    ("fractional examples seen", _ckpt(_set("seen", 1.5)), "seen: must be a whole number"),
    ("tested_initial not a bool", _ckpt(_set("tested_initial", "yes")), "tested_initial: must be true"),
    ("a wrong-size RNG state", _ckpt(lambda s: s["rng"].__setitem__("torch", torch.zeros(10, dtype=torch.uint8))),
     "rng.torch: must be a"),
    ("RNG not a table", _ckpt(_set("rng", [1, 2])), "rng.torch"),
    ("history without a field", _ckpt(lambda s: s["history"].pop("test_loss")), "history: must have exactly"),
    ("history of strings", _ckpt(lambda s: s["history"].__setitem__("train_loss", ["x"] * len(s["history"]["train_seen"]))),
     "history.train_loss: must be a list of float"),
    ("history lists of different lengths", _ckpt(lambda s: s["history"]["train_seen"].append(1)),
     "train_seen and train_loss differ"),
    ("a weight that is a list", _ckpt(lambda s: s["model"].__setitem__("layers.0.bias", [0.0] * 100)),
     "model.layers.0.bias: expected a tensor"),
    ("an extra weight", _ckpt(lambda s: s["model"].__setitem__("extra", torch.zeros(3))), "does not hold the weights"),
    ("optimizer not a table", _ckpt(_set("optimizer", 5)), "optimizer: not an optimizer state"),
    ("optimizer for another network", _ckpt(lambda s: s["optimizer"]["param_groups"][0].__setitem__("params", [0, 1])),
     "optimizer.param_groups.params: [0, 1] are not the 6 parameters"),
    ("a waiting edit of an unknown field", _ckpt(_set("pending", {"colour": 1})), "pending: not a table"),
    ("a waiting edit that applies at once", _ckpt(_set("pending", {"lr": 0.1})), "pending: holds an edit"),
    ("no config.json", lambda f: (f / CONFIG).unlink(), "config.json: missing"),
    ("config.json garbage", _write(CONFIG, b"{not json"), "config.json: not readable JSON"),
    ("config.json a list", _write(CONFIG, b"[1, 2]"), "not an mnist-tui run configuration"),
    ("config.json not UTF-8", _write(CONFIG, b'{"format": "\xff\xfe"}'), "config.json: not readable JSON"),
    ("config without format", _config(_pop("format")), "not an mnist-tui run configuration"),
    ("config without dataset", _config(_pop("dataset")), "config.json: dataset: must be one of"),
    ("an unknown dataset", _config(_set("dataset", "emnist")), "dataset: must be one of"),
    ("limit_train of letters", _config(_set("limit_train", "abc")), "limit_train: must be a whole number"),
    ("a negative limit_test", _config(_set("limit_test", -5)), "limit_test: must be a whole number 1 or more"),
    ("config without hparams", _config(_pop("hparams")), "hparams: missing or not a table"),
    ("config with bad hparams", _config(lambda c: c["hparams"].update(batch_size=0)), "hparams: batch_size"),
    ("data_dir not a string", _config(_set("data_dir", 5)), "data_dir: must be a string"),
    ("metrics.jsonl a folder", _replace_dir(METRICS_JSONL), "metrics.jsonl: cannot be read"),
    # Damage that loses nothing: the line is skipped and the run goes on.
    ("a metrics line that is not an object", _insert_metrics_line(b"5"), None),
    ("a metrics row with wrong field types", _insert_metrics_line(
        b'{"kind": "test", "epoch": "x", "step": 0, "seen": 0, "loss": 1, "accuracy": "a", "correct": 1, "total": 2}'), None),
    ("a metrics line of invalid UTF-8", _insert_metrics_line(b'{"kind": "\xff"}'), None),
    ("a metrics line cut by kill -9", _append_metrics(b'{"kind": "tra'), None),
    ("an edit row with a broken change", _insert_metrics_line(
        b'{"kind": "edit", "epoch": 1, "step": 1, "seen": 1, "effect": "live", "applied": true, "changes": {"lr": 5}}'), None),
    ("a start row with bad hparams", _insert_metrics_line(
        b'{"kind": "start", "epoch": 0, "step": 0, "hparams": {"epochs": "many"}, "device": "cpu", '
        b'"n_train": 1, "n_test": 1, "n_params": 1, "architecture": "x", "classes": []}'), None),
    ("no metrics at all", lambda f: (f / METRICS_JSONL).unlink(), None),
    ("test-last.json garbage", _write(TEST_LAST, b"\x00\x01"), None),
    ("test-last.json of the wrong shape", _write(TEST_LAST, b'{"epoch": 2, "predictions": "abc", "hardest": [1]}'), None),
]


def test_the_corpus_is_large():
    assert len(CORPUS) >= 40 and len({name for name, _, _ in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("name, damage, says", CORPUS, ids=[c[0] for c in CORPUS])
def test_resume_of_a_damaged_folder_is_one_line_or_goes_on(base, tmp_path, capsys, name, damage, says):
    from tui.cli import main

    folder = tmp_path / "run"
    shutil.copytree(base, folder)
    damage(folder)
    code = main(["--headless", "--no-plot", "--resume", str(folder)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    if says is None:
        assert code == 0, err
        assert "Total epochs: 2" in out
    else:
        assert code == EXIT_BAD, out
        assert err.count("\n") == 1 and err.startswith("mnist-tui: error: ")
        assert says in err, err


@pytest.mark.parametrize("name, damage, says", CORPUS, ids=[c[0] for c in CORPUS])
def test_watch_follows_a_damaged_folder_without_an_internal_error(base, tmp_path, name, damage, says):
    from core.events import RunFinished
    from tui.engine.protocol import EngineFailed, EngineStopped, Loading, Notice
    from tui.engine.watch import FolderTransport

    folder = tmp_path / "run"
    shutil.copytree(base, folder)
    damage(folder)
    engine = FolderTransport(folder)
    engine.start()
    seen = []
    no_metrics = not (folder / METRICS_JSONL).exists()
    try:
        while True:
            ev = engine.get(timeout=60)
            seen.append(ev)
            if isinstance(ev, (RunFinished, EngineFailed, EngineStopped)):
                break
            if no_metrics and isinstance(ev, Loading) and ev.text.startswith("watching"):
                break  # nothing to read yet: it waits for the rows (and the test ends)
    finally:
        engine.close()
    failures = [e.message for e in seen if isinstance(e, EngineFailed)]
    assert not any(m.startswith("watch: ") for m in failures), failures  # an internal error
    if (folder / METRICS_JSONL).is_file() and (folder / CONFIG).is_file() and not failures:
        assert isinstance(seen[-1], RunFinished)  # it read past every bad line to the end
    if ("line" in name or "row" in name) and "cut" not in name:  # a cut last line may still grow
        assert any(isinstance(e, Notice) and "skipped 1 damaged line" in e.message for e in seen)
