"""Inside the network (core/inspect.py): the statistics against a computation by hand in
numpy, their schedule in a run, training bit for bit unchanged, the run folder's rows,
the first layer's weights and one digit traced through the network."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.config import Hyperparameters
from core.datasets import load
from core.events import LayerStats, TestEnd
from core.inspect import LayerProbe, first_layer_weights, linear_layers, trace_test_digit
from core.network import NeuralNet
from core.runfolder import METRICS_JSONL, RunFolder
from core.metrics import event_for, row_for
from core.training import Run, format_test
from tests.helpers import write_split


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = write_split(tmp_path_factory.mktemp("inspect"), 1200, 300)
    return load("mnist", d, allow_download=False)


# ----------------------------------------------------------- by hand, on a tiny network

ACT = {
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda a: a * (1 - a)),
    "tanh": (np.tanh, lambda a: 1 - a * a),
    "relu": (lambda z: np.maximum(z, 0), lambda a: (a > 0).astype(np.float64)),
}


def by_hand(params, x, y, kind, lr):
    """Forward, backward and one plain SGD step of a 1-hidden-layer net in float64."""
    w1, b1, w2, b2 = (p.astype(np.float64) for p in params)
    f, df = ACT[kind]
    a = f(x @ w1.T + b1)
    logits = a @ w2.T + b2
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    d = (p - np.eye(logits.shape[1])[y]) / len(y)
    g2 = d.T @ a
    g1 = ((d @ w2) * df(a)).T @ x
    n = np.linalg.norm
    if kind == "sigmoid":
        sat = np.mean((a < 0.01) | (a > 0.99))
    elif kind == "tanh":
        sat = np.mean(np.abs(a) > 0.99)
    else:
        sat = np.mean(~(a > 0).any(axis=0))
    return [
        dict(weight_norm=n(w1 - lr * g1), grad_norm=n(g1), update_ratio=n(lr * g1) / n(w1),
             activation_mean=a.mean(), saturated=sat),
        dict(weight_norm=n(w2 - lr * g2), grad_norm=n(g2), update_ratio=n(lr * g2) / n(w2),
             activation_mean=logits.mean(), saturated=None),
    ]


@pytest.mark.parametrize("kind", ["sigmoid", "tanh", "relu"])
def test_statistics_match_a_computation_by_hand(kind):
    torch.manual_seed(3)
    net = NeuralNet((6,), kind, in_features=5, num_classes=4)
    with torch.no_grad():  # make some units saturate / die, so `saturated` is not 0
        net.layers[0].weight[:2] *= 8
        net.layers[0].bias[0] = -40.0
    gen = np.random.default_rng(0)
    x = gen.normal(size=(16, 5)).astype(np.float32)
    y = gen.integers(0, 4, size=16)
    params = [p.detach().numpy().copy() for p in net.parameters()]
    expected = by_hand(params, x.astype(np.float64), y, kind, lr=0.2)

    opt = torch.optim.SGD(net.parameters(), lr=0.2)
    probe = LayerProbe(net)
    probe.arm()
    net.eval()  # a prediction between arming and the step is not what is measured
    net(torch.ones(3, 5))
    net.train()
    loss = torch.nn.functional.cross_entropy(net(torch.from_numpy(x)), torch.from_numpy(y))
    loss.backward()
    opt.step()
    stats = probe.collect(1, 1, 16)

    assert [s.name for s in stats.layers] == ["layers.0", "layers.2"]
    assert [s.shape for s in stats.layers] == [(6, 5), (4, 6)]
    assert stats.activation == kind
    for got, want in zip(stats.layers, expected):
        for key, value in want.items():
            if value is None:
                assert getattr(got, key) is None
            else:
                assert getattr(got, key) == pytest.approx(value, rel=1e-5, abs=1e-7), key
    assert expected[0]["saturated"] > 0  # the test checks something
    assert not probe._handles and not probe.armed  # hooks gone


def test_update_ratio_is_the_optimizers_actual_step_with_momentum():
    torch.manual_seed(0)
    net = NeuralNet((4,), in_features=3, num_classes=2)
    opt = torch.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)
    x, y = torch.randn(8, 3), torch.randint(0, 2, (8,))
    probe = LayerProbe(net)
    for step in range(3):
        w0 = net.layers[0].weight.detach().clone()
        if step == 2:
            probe.arm()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    s = probe.collect(1, 3, 24).layers[0]
    w1 = net.layers[0].weight.detach()
    assert s.update_ratio == pytest.approx(float((w1 - w0).norm() / w0.norm()), rel=1e-6)
    # with momentum, the step is not lr * grad
    assert s.update_ratio != pytest.approx(0.5 * s.grad_norm / float(w0.norm()), rel=1e-2)


def test_layers_are_found_for_any_shape():
    assert [(la.name, la.kind) for la in linear_layers(NeuralNet((), "relu"))] == [("layers.0", None)]
    assert [la.kind for la in linear_layers(NeuralNet((8, 7, 6), "tanh"))] == ["tanh"] * 3 + [None]


# --------------------------------------------------------------------------- in a run

def _run(data, **hp) -> Run:
    return Run(Hyperparameters(**{"epochs": 2, **hp}), data.train, data.test)


def test_stats_come_at_the_log_interval_and_after_each_test(data):
    events = list(_run(data, batch_size=10).events())  # 120 steps an epoch
    stats = [e for e in events if isinstance(e, LayerStats)]
    assert [(s.epoch, s.step, s.after_test) for s in stats] == [
        (0, 0, True), (1, 1, False), (1, 101, False), (1, 120, True),
        (2, 121, False), (2, 221, False), (2, 240, True)]
    first = stats[0]
    assert first.layers[0].grad_norm is None and first.layers[0].weight_norm > 0
    for s in stats[1:]:
        for layer in s.layers:
            assert layer.grad_norm > 0 and 0 < layer.update_ratio < 1
        assert 0 <= s.layers[0].saturated <= 1 and s.layers[-1].saturated is None
    # each one follows the event it describes
    i = events.index(stats[2])
    assert events[i - 1].step == 101
    assert isinstance(events[events.index(stats[3]) - 1], TestEnd)


def _trained(data, stats: bool, consumer=None, **hp):
    run = _run(data, **hp)
    run.layer_stats = stats
    lines, n_stats = [], 0
    for ev in run.events():
        if isinstance(ev, TestEnd):
            lines.append(format_test(ev))
        n_stats += isinstance(ev, LayerStats)
        if consumer:
            consumer(run, ev)
    return run, lines, n_stats


@pytest.mark.parametrize("hp", [{}, {"activation": "relu", "optimizer": "adam", "lr": 0.01,
                                     "hidden": (32,), "batch_size": 10}])
def test_training_is_bit_for_bit_the_same_with_the_statistics(data, hp):
    # the dashboard asks for predictions and traces between events: no change either
    def predicts(run, ev):
        run.predict([3, 4])
        if isinstance(ev, LayerStats):  # and the view traces a digit (tui/engine/bridge.py)
            trace_test_digit(run.model, run.test_data, 5)

    off, lines_off, n_off = _trained(data, False, **hp)
    on, lines_on, n_on = _trained(data, True, predicts, **hp)
    assert n_off == 0 and n_on >= 5
    assert lines_on == lines_off and len(lines_on) == 3
    assert on.history.train_loss == off.history.train_loss
    assert on.history.test_loss == off.history.test_loss
    assert on.history.test_accuracy == off.history.test_accuracy
    for (k, a), b in zip(on.model.state_dict().items(), off.model.state_dict().values()):
        assert torch.equal(a, b), k


def test_the_run_folder_gets_one_layers_row_per_computation(data, tmp_path):
    run = _run(data, epochs=1, hidden=(20, 10), activation="tanh")
    folder = RunFolder(tmp_path / "run")
    folder.start({"hparams": run.hp.to_dict()})
    n = 0
    for ev in run.events():
        folder.record(ev)
        n += isinstance(ev, LayerStats)
    folder.close()
    rows = [json.loads(line) for line in (tmp_path / "run" / METRICS_JSONL).read_text().splitlines()]
    layers = [r for r in rows if r["kind"] == "layers"]
    assert len(layers) == n == 3  # after the first test, at step 1, after the test
    r = layers[1]
    assert list(r) == ["kind", "epoch", "step", "seen", "layers"]
    assert (r["epoch"], r["step"], r["seen"]) == (1, 1, 50)
    assert [(d["name"], d["shape"]) for d in r["layers"]] == [
        ("layers.0", [20, 784]), ("layers.2", [10, 20]), ("layers.4", [10, 10])]
    assert list(r["layers"][0]) == ["name", "shape", "weight_norm", "grad_norm", "update_ratio",
                                    "activation_mean", "saturated"]
    assert r["layers"][2]["saturated"] is None and r["layers"][0]["saturated"] >= 0
    assert row_for(event_for(r, "tanh")) == r
    assert "layers" not in (tmp_path / "run" / "metrics.csv").read_text()  # jsonl only


def test_first_layer_weights_come_after_each_test(data):
    run = _run(data, epochs=1, hidden=(12,))
    last = [e for e in run.events() if isinstance(e, LayerStats) and e.after_test][-1]
    w = np.frombuffer(last.first_weights, np.float32).reshape(last.first_shape)
    assert last.first_shape == (12, 784)
    assert np.array_equal(w, run.model.layers[0].weight.detach().numpy())
    assert np.array_equal(first_layer_weights(run.model), w)


@pytest.mark.parametrize("hidden", [(100, 50), ()])
def test_one_digit_through_the_network(data, hidden):
    run = _run(data, hidden=hidden)
    t = trace_test_digit(run.model, run.test_data, 7)
    assert (t.index, t.label) == (7, int(run.test_data.labels[7]))
    assert [len(a) for a in t.activations] == list(hidden)
    assert t.names == tuple(f"layers.{2 * i}" for i in range(len(hidden)))
    want = torch.softmax(run.model(run.test_data.images[7:8].float() / 255), 1)[0]
    assert t.probs == pytest.approx(want.tolist(), abs=1e-6)
    assert sum(t.probs) == pytest.approx(1.0, abs=1e-5)
    assert all(0 <= v <= 1 for a in t.activations for v in a)
    assert run.model.training  # put back as it was
