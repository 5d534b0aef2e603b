"""The run generator: event sequence, determinism, edits, divergence, resume, learning."""

from __future__ import annotations

import math

import pytest
import torch

from core import config as cfg
from core.config import Hyperparameters
from core.datasets import load
from core.errors import ConfigError
from core.events import (
    BatchEnd, EpochEnd, EpochStarted, EvalProgress, HparamsChanged, NonFiniteLoss,
    RunFinished, RunStarted, TestEnd,
)
from core.network import NeuralNet, parameter_count
from core.training import Run, evaluate, format_test, format_train, predict
from tests.helpers import FASHION


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from tests.helpers import write_split

    d = write_split(tmp_path_factory.mktemp("d"), 600, 300)
    return load("mnist", d, allow_download=False)


def run_for(data, **hp) -> Run:
    return Run(Hyperparameters(**{"epochs": 2, **hp}), data.train, data.test, hardest=5)


def kinds(events):
    """Event type names with runs of BatchEnd / EvalProgress collapsed."""
    out = []
    for ev in events:
        name = type(ev).__name__
        if out and out[-1] == name and name in ("BatchEnd", "EvalProgress"):
            continue
        out.append(name)
    return out


def test_network_is_the_tutorials():
    net = NeuralNet()
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 100), (100, 50), (50, 10)]
    assert sum(isinstance(m, torch.nn.Sigmoid) for m in net.modules()) == 2
    assert parameter_count(net) == 784 * 100 + 100 + 100 * 50 + 50 + 50 * 10 + 10


def test_event_sequence_of_a_short_run(data):
    run = run_for(data)
    events = list(run.events())
    assert kinds(events) == [
        "RunStarted", "EvalProgress", "TestEnd", "LayerStats",
        "EpochStarted", "BatchEnd", "LayerStats", "BatchEnd", "EpochEnd", "EvalProgress",
        "TestEnd", "LayerStats",
        "EpochStarted", "BatchEnd", "LayerStats", "BatchEnd", "EpochEnd", "EvalProgress",
        "TestEnd", "LayerStats",
        "RunFinished",
    ]  # LayerStats (core/inspect.py): at the log interval (batch 0 here) and after each test
    batches = [e for e in events if isinstance(e, BatchEnd)]
    assert len(batches) == 2 * 12  # 600 / 50
    assert [b.step for b in batches] == list(range(1, 25))
    assert batches[11].epoch_samples == 600 and batches[-1].seen == 1200
    assert all(b.samples_per_sec > 0 and math.isfinite(b.loss) for b in batches)
    tests = [e for e in events if isinstance(e, TestEnd)]
    assert [t.epoch for t in tests] == [0, 1, 2]
    assert [t.seen for t in tests] == [0, 600, 1200]
    t = tests[-1]
    assert t.total == 300 and sum(t.per_class_total) == 300
    assert sum(map(sum, t.confusion)) == 300 and t.correct == sum(t.per_class_correct)
    samples = predict(run.model, data.test, [0, 1, 2])
    assert [p.index for p in samples] == [0, 1, 2]
    assert len(t.hardest) == 5 and t.hardest[0].loss >= t.hardest[-1].loss
    assert all(abs(sum(p.probs) - 1) < 1e-4 for p in samples + t.hardest)
    fin = events[-1]
    assert isinstance(fin, RunFinished) and fin.status == "finished" and fin.epochs_done == 2
    best = max(t.accuracy for t in tests)
    assert fin.best_accuracy == pytest.approx(best)


def test_history_is_what_the_tutorial_plots(data):
    run = run_for(data)
    list(run.events())
    h = run.history
    assert len(h.train_loss) == len(h.train_seen) == 24
    assert h.train_seen[:2] == [50, 100]
    assert h.test_seen == [0, 600, 1200] and len(h.test_accuracy) == 3


def test_evaluate_matches_an_independent_computation(data):
    torch.manual_seed(0)
    net = NeuralNet()
    *_, result = evaluate(net, data.test, batch_size=128)
    x = data.test.images.float() / 255
    with torch.no_grad():
        out = net(x)
    pred = out.argmax(1)
    assert result.correct == int((pred == data.test.labels).sum())
    assert result.avg_loss == pytest.approx(float(torch.nn.functional.cross_entropy(out, data.test.labels)), rel=1e-5)
    for t in range(10):
        for p in range(10):
            expected = int(((data.test.labels == t) & (pred == p)).sum())
            assert result.confusion[t][p] == expected


def test_evaluate_under_inference_mode_is_bit_identical_to_no_grad(data):
    """evaluate runs under torch.inference_mode (bench/bench_compile.py): the same sums,
    in the same order, as the same loop under no_grad, to the last bit."""
    torch.manual_seed(0)
    net = NeuralNet()
    *_, result = evaluate(net, data.test, batch_size=1000)
    total = torch.zeros((), dtype=torch.float64)
    correct = 0
    with torch.no_grad():
        for x, y in data.test.batches(1000):
            out = net(x)
            total += torch.nn.functional.cross_entropy(out, y, reduction="none").sum(dtype=torch.float64)
            correct += int((out.argmax(1) == y).sum())
    assert result.avg_loss == float(total) / len(data.test)
    assert result.correct == correct


def test_same_seed_same_losses_bit_for_bit(data):
    a, b = run_for(data), run_for(data)
    list(a.events()), list(b.events())
    assert a.history.train_loss == b.history.train_loss
    assert a.history.test_loss == b.history.test_loss
    c = run_for(data, seed=2)
    list(c.events())
    assert c.history.train_loss != a.history.train_loss


def test_refused_edit_changes_nothing(data):
    run = run_for(data)
    gen = run.events()
    next(gen)
    before = run.hp
    with pytest.raises(ConfigError) as info:
        run.apply(lr=-1, batch_size=0, momentum=0.5)
    assert set(info.value.problems) == {"lr", "batch_size"}
    assert run.hp == before and run.pending == {}
    assert run.optimizer.param_groups[0]["lr"] == 0.2
    assert run.optimizer.param_groups[0]["momentum"] == 0.9
    assert run.history.edits == []


def _steps_after_edit(data, edit):
    """Parameter change made by step 2, after ``edit`` between step 1 and step 2."""
    run = run_for(data)
    gen = run.events()
    for ev in gen:
        if isinstance(ev, BatchEnd):
            break
    if edit:
        run.apply(**edit)
    w = run.model.layers[0].weight.detach().clone()
    for ev in gen:
        if isinstance(ev, BatchEnd):
            break
    return run, (run.model.layers[0].weight.detach() - w).abs().max().item()


def test_live_learning_rate_edit_reaches_the_optimizer_at_the_next_step(data):
    _, normal = _steps_after_edit(data, None)
    run, tiny = _steps_after_edit(data, {"lr": 1e-9})
    assert run.optimizer.param_groups[0]["lr"] == 1e-9
    assert normal > 1e-4 and tiny < 1e-10
    edit = run.history.edits[0]
    assert edit["step"] == 1 and edit["changes"] == {"lr": [0.2, 1e-9]} and edit["applied"]


def test_batch_size_edit_waits_for_the_next_epoch(data):
    run = run_for(data)
    events = []
    for ev in run.events():
        events.append(ev)
        if isinstance(ev, BatchEnd) and ev.step == 1:
            (queued,) = run.apply(batch_size=100)
            assert queued.effect == cfg.NEXT_EPOCH and not queued.applied
            assert run.pending == {"batch_size": 100} and run.hp.batch_size == 50
    starts = [e for e in events if isinstance(e, EpochStarted)]
    assert [s.batch_size for s in starts] == [50, 100]
    assert [s.batches for s in starts] == [12, 6]
    # The edit's own event came back from apply; the run announces the change it makes
    # itself when the next epoch starts.
    changed = [e for e in events if isinstance(e, HparamsChanged)]
    assert [(c.applied, c.step) for c in changed] == [(True, 12)]


def test_an_edit_is_announced_once(data):
    """apply returns the edit's event; events() does not yield it again (the bridge
    forwarded both, and the dashboard logged every edit twice)."""
    run = run_for(data)
    events, returned = [], []
    for ev in run.events():
        events.append(ev)
        if isinstance(ev, BatchEnd) and ev.step == 3:
            returned += run.apply(lr=0.05, hidden=(32,))
    assert [(e.effect, e.changes) for e in returned] == [
        (cfg.LIVE, {"lr": (0.2, 0.05)}), (cfg.RESTART, {"hidden": ((100, 50), (32,))})]
    assert not [e for e in events if isinstance(e, HparamsChanged)]


def test_restart_edit_stays_pending(data):
    run = run_for(data)
    gen = run.events()
    next(gen)
    run.apply(hidden=(32,), activation="relu")
    assert run.hp.hidden == (100, 50)
    assert run.edits.target.hidden == (32,) and run.edits.target.activation == "relu"
    run.apply(hidden=(100, 50))  # edited back: nothing waits any more for it
    assert run.pending == {"activation": "relu"}


def test_epochs_can_be_lowered_live_but_not_below_the_current_epoch(data):
    run = run_for(data, epochs=5)
    events = []
    for ev in run.events():
        events.append(ev)
        if isinstance(ev, EpochStarted) and ev.epoch == 2:
            with pytest.raises(ConfigError, match="already in epoch 2"):
                run.apply(epochs=1)
            run.apply(epochs=2)
    assert events[-1].epochs_done == 2 and events[-1].status == "finished"


def test_stop_between_events(data):
    run = run_for(data)
    events = []
    for ev in run.events():
        events.append(ev)
        if isinstance(ev, BatchEnd) and ev.step == 3:
            run.stop()
    assert isinstance(events[-1], RunFinished) and events[-1].status == "stopped"
    assert run.step == 3


def test_non_finite_loss_stops_without_applying_the_step(data):
    run = run_for(data)
    events = []
    for ev in run.events():
        events.append(ev)
        if isinstance(ev, BatchEnd) and ev.step == 2:
            with torch.no_grad():
                run.model.layers[0].bias[0] = float("nan")
            snapshot = {k: v.clone() for k, v in run.model.state_dict().items()}
    bad = [e for e in events if isinstance(e, NonFiniteLoss)]
    assert len(bad) == 1 and math.isnan(bad[0].loss) and bad[0].step == 2
    assert events[-1].status == "diverged"
    for k, v in run.model.state_dict().items():
        torch.testing.assert_close(v, snapshot[k], equal_nan=True)
    assert run.step == 2


def test_resume_mid_epoch_equals_uninterrupted(data):
    whole = run_for(data)
    list(whole.events())

    first = run_for(data)
    for ev in first.events():
        if isinstance(ev, BatchEnd) and ev.epoch == 2 and ev.batch == 4:
            state = first.state_dict()
            break
    resumed = Run(Hyperparameters.from_dict(state["hparams"]), data.train, data.test)
    resumed.load_state_dict(state)
    list(resumed.events())
    assert resumed.history.train_loss == whole.history.train_loss
    assert resumed.history.test_accuracy == whole.history.test_accuracy
    assert resumed.history.test_loss == whole.history.test_loss


def test_tutorial_lines(data):
    events = list(run_for(data, epochs=1).events())
    first = next(e for e in events if isinstance(e, BatchEnd))
    assert format_train(first) == f"Train Epoch: 1 [0/600 (0%)]\tLoss: {first.loss:.6f}"
    later = [e for e in events if isinstance(e, BatchEnd)][6]
    assert format_train(later).startswith("Train Epoch: 1 [300/600 (50%)]\tLoss: ")
    t = [e for e in events if isinstance(e, TestEnd)][-1]
    assert format_test(t) == (f"Test set: Avg. loss: {t.avg_loss:.4f}, Accuracy: "
                            f"{t.correct}/300 ({100 * t.correct / 300:.0f}%)")


@pytest.mark.slow
@pytest.mark.skipif(not FASHION.exists(), reason="Debian's dataset-fashion-mnist is not installed")
def test_real_learning_on_fashion_mnist():
    d = load("fashion-mnist", FASHION, allow_download=False)
    run = Run(Hyperparameters(epochs=1), d.train, d.test)
    events = list(run.events())
    tests = [e for e in events if isinstance(e, TestEnd)]
    assert tests[0].accuracy < 20  # untrained: chance
    assert tests[-1].accuracy > 78, tests[-1].accuracy
    assert len([e for e in events if isinstance(e, BatchEnd)]) == 1200


def test_test_end_carries_every_prediction(data):
    torch.manual_seed(0)
    net = NeuralNet()
    *_, result = evaluate(net, data.test, batch_size=64)
    assert len(result.predictions) == len(result.confidences) == 300
    wrong = sum(p != int(y) for p, y in zip(result.predictions, data.test.labels))
    assert wrong == result.total - result.correct
    for s in predict(net, data.test, [4, 7]):
        assert s.pred == result.predictions[s.index]
        assert s.confidence == pytest.approx(result.confidences[s.index], abs=1e-6)


def test_a_checkpoint_taken_on_test_end_holds_that_test(data):
    run = run_for(data, epochs=1)
    for ev in run.events():
        if isinstance(ev, TestEnd) and ev.epoch == 1:
            state = run.state_dict()
    assert state["history"]["test_epoch"] == [0, 1] and state["tested_initial"]
