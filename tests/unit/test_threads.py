"""Intra-op threads per model (core.network.configure_cpu_threads): the tutorial's MLP
on half the cores, the CNN on PyTorch's default, the user's setting over both; a sweep
worker's share of the cores over the model's choice."""

from __future__ import annotations

import pytest
import torch

from core import network
from core.network import configure_cpu_threads, usable_cores


@pytest.fixture(autouse=True)
def threads_restored(monkeypatch):
    before = torch.get_num_threads()
    for name in ("MNIST_TUI_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    yield
    torch.set_num_threads(before)


def test_mlp_gets_half_the_cores_and_cnn_pytorchs_default(monkeypatch):
    monkeypatch.setattr(network, "usable_cores", lambda: 8)
    monkeypatch.setattr(network, "_TORCH_DEFAULT_THREADS", 6)
    assert configure_cpu_threads("mlp") == 4 and torch.get_num_threads() == 4
    assert configure_cpu_threads("cnn") == 6 and torch.get_num_threads() == 6
    monkeypatch.setattr(network, "usable_cores", lambda: 2)  # affinity narrower than default
    assert configure_cpu_threads("cnn") == 2
    assert configure_cpu_threads("mlp") == 1
    monkeypatch.setattr(network, "usable_cores", lambda: 1)
    assert configure_cpu_threads("mlp") == 1


@pytest.mark.parametrize("name", ["MNIST_TUI_THREADS", "OMP_NUM_THREADS"])
def test_the_users_setting_wins(monkeypatch, name):
    monkeypatch.setenv(name, "3")
    assert configure_cpu_threads("cnn") == 3 and configure_cpu_threads("mlp") == 3
    assert torch.get_num_threads() == 3


def test_usable_cores_is_this_process_s_affinity():
    import os

    assert usable_cores() == len(os.sched_getaffinity(0))


def test_a_runs_threads_follow_its_model(tmp_path, monkeypatch):
    from core.config import Hyperparameters
    from core.datasets import MNISTDataset
    from core.training import Run

    monkeypatch.setattr(network, "usable_cores", lambda: 4)
    monkeypatch.setattr(network, "_TORCH_DEFAULT_THREADS", 4)
    data = MNISTDataset.from_tensors(torch.zeros(8, 784, dtype=torch.uint8),
                                     torch.zeros(8, dtype=torch.int64))
    for model, threads in (("cnn", 4), ("mlp", 2)):
        hp = Hyperparameters.defaults(model) if model == "cnn" else Hyperparameters()
        run = Run(hp.with_changes(epochs=1), data, data)
        next(run.events())  # RunStarted: the threads are set
        assert torch.get_num_threads() == threads, model


def test_a_sweep_worker_s_share_reaches_each_trial(monkeypatch):
    """A worker given 1 thread (its share of the cores) keeps it in each trial's Run,
    which would otherwise pick the model's count."""
    from core import sweep

    monkeypatch.setenv("MNIST_TUI_THREADS", "0")  # (restored after: work() sets it)
    opened = []
    monkeypatch.setattr(sweep, "open_study", lambda spec: opened.append(spec))
    spec = type("Spec", (), {"threads": 1})()
    sweep.work(spec, claim=lambda: False, stop=lambda: None, emit=lambda m: None)
    assert opened
    monkeypatch.setattr(network, "_TORCH_DEFAULT_THREADS", 4)
    assert configure_cpu_threads("cnn") == 1
