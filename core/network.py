"""The network: the tutorial's 784-100-50-10 sigmoid MLP by default."""

from __future__ import annotations

import os

import torch
from torch import nn

from core.config import Hyperparameters

_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}


class NeuralNet(nn.Module):
    """Linear 784->100, sigmoid, Linear 100->50, sigmoid, Linear 50->10 (the tutorial's),
    or any other hidden sizes and activation. Outputs logits (CrossEntropyLoss applies
    the softmax)."""

    def __init__(self, hidden: tuple[int, ...] = (100, 50), activation: str = "sigmoid",
                 in_features: int = 784, num_classes: int = 10):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), _ACTIVATIONS[activation]()]
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def build_model(hp: Hyperparameters) -> NeuralNet:
    return NeuralNet(hp.hidden, hp.activation)


def build_optimizer(model: nn.Module, hp: Hyperparameters) -> torch.optim.Optimizer:
    if hp.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=hp.lr, betas=(hp.momentum, 0.999))
    return torch.optim.SGD(model.parameters(), lr=hp.lr, momentum=hp.momentum)


def set_optimizer_values(opt: torch.optim.Optimizer, lr: float, momentum: float) -> None:
    """Apply a live learning-rate / momentum edit; takes effect at the next step."""
    for group in opt.param_groups:
        group["lr"] = lr
        if "momentum" in group:
            group["momentum"] = momentum
        elif "betas" in group:
            group["betas"] = (momentum, group["betas"][1])


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


DEVICE_TYPES = ("cpu", "cuda", "mps")
DEVICE_NAMES = "auto, cpu, cuda, cuda:N, mps"


def resolve_device(name: str = "auto") -> torch.device:
    """``auto``: CUDA, then Apple MPS, then CPU. Otherwise the device named, checked."""
    from core.errors import ConfigError

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        raise ConfigError({"device": f"{name!r} is not a device (try {DEVICE_NAMES})"}) from None
    if dev.type not in DEVICE_TYPES:  # meta, xla, ...: PyTorch knows them, training here does not
        raise ConfigError({"device": f"{name!r} is not a device mnist-tui trains on (try "
                                     f"{DEVICE_NAMES})"})
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError({"device": "CUDA was asked for but no CUDA GPU is available"})
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ConfigError({"device": f"{name!r}: there is no CUDA GPU {dev.index} (this machine "
                                     f"has {torch.cuda.device_count()})"})
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError({"device": "MPS was asked for but is not available on this machine"})
    return dev


def configure_cpu_threads() -> int:
    """Pick the intra-op thread count for this small MLP and return it.

    Its matrices (batch 50 x 784 x 100) are too small for threads to pay off: on a
    2-core machine, training in a worker thread with 2 OpenMP threads ran 2.2x slower
    than with 1. Use half the cores (at least 1, at most 4) unless the user set
    OMP_NUM_THREADS / MNIST_TUI_THREADS.
    """
    explicit = os.environ.get("MNIST_TUI_THREADS") or os.environ.get("OMP_NUM_THREADS")
    if explicit and explicit.isdigit() and int(explicit) > 0:
        n = int(explicit)
    else:
        n = max(1, min(4, (os.cpu_count() or 1) // 2))
    torch.set_num_threads(n)
    return n
