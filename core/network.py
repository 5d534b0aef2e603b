"""The networks: the tutorial's 784-100-50-10 sigmoid MLP by default, or pytorch/examples'
mnist/main.py CNN (``--model cnn``); their optimizers and learning-rate schedule."""

from __future__ import annotations

import ctypes
import os
import sys
from collections import OrderedDict

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


class ConvNet(nn.Module):
    """pytorch/examples' mnist/main.py ``Net``: conv 1->32 3x3, relu, conv 32->64 3x3,
    relu, max-pool 2, dropout 0.25, Linear 9216->128, relu, dropout 0.5, Linear 128->10.

    It takes the dataset's flat 784-pixel rows (values 0..1, as ``MNISTDataset`` gives
    them) and makes them the 1x28x28 images the examples feed it, normalised by the
    examples' ``Normalize((0.1307,), (0.3081,))``. The layers are one ``nn.Sequential``
    with the examples' names (``layers.conv1`` ... ``layers.fc2``) so that
    ``core.inspect`` pairs each with the activation after it. Outputs logits (the
    examples' log_softmax + nll_loss is the same loss as cross_entropy on logits)."""

    MEAN, STD = 0.1307, 0.3081

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.layers = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(1, 32, 3, 1)), ("relu1", nn.ReLU()),
            ("conv2", nn.Conv2d(32, 64, 3, 1)), ("relu2", nn.ReLU()),
            ("pool", nn.MaxPool2d(2)), ("dropout1", nn.Dropout(0.25)),
            ("flatten", nn.Flatten(1)),
            ("fc1", nn.Linear(9216, 128)), ("relu3", nn.ReLU()), ("dropout2", nn.Dropout(0.5)),
            ("fc2", nn.Linear(128, num_classes)),
        ]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(-1, 1, 28, 28)
        return self.layers((x - self.MEAN) / self.STD)


def build_model(hp: Hyperparameters) -> nn.Module:
    if hp.model == "cnn":
        return ConvNet()
    return NeuralNet(hp.hidden, hp.activation)


def build_optimizer(model: nn.Module, hp: Hyperparameters) -> torch.optim.Optimizer:
    if hp.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=hp.lr, betas=(hp.momentum, 0.999))
    if hp.optimizer == "adadelta":
        return torch.optim.Adadelta(model.parameters(), lr=hp.lr, rho=hp.momentum)
    return torch.optim.SGD(model.parameters(), lr=hp.lr, momentum=hp.momentum)


def build_scheduler(optimizer: torch.optim.Optimizer,
                    hp: Hyperparameters) -> torch.optim.lr_scheduler.StepLR:
    """The examples' schedule: the learning rate times ``lr_step_gamma`` after every
    epoch (1.0: constant, the tutorial's). Stepped once an epoch's training ends."""
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=hp.lr_step_gamma)


def set_optimizer_values(opt: torch.optim.Optimizer, lr: float | None = None,
                         momentum: float | None = None) -> None:
    """Apply a live learning-rate and / or momentum edit (None: left as it is, so a
    momentum edit keeps the schedule's decayed rate); takes effect at the next step (the
    schedule goes on from a new learning rate)."""
    for group in opt.param_groups:
        if lr is not None:
            group["lr"] = lr
        if momentum is None:
            continue
        if "momentum" in group:
            group["momentum"] = momentum
        elif "betas" in group:
            group["betas"] = (momentum, group["betas"][1])
        elif "rho" in group:
            group["rho"] = momentum


def current_lr(opt: torch.optim.Optimizer) -> float:
    """The learning rate the next step uses (the schedule's decays included)."""
    return float(opt.param_groups[0]["lr"])


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


_TORCH_DEFAULT_THREADS = torch.get_num_threads()  # before anything here changes it


def configure_cpu_threads(model: str = "mlp") -> int:
    """Pick the intra-op thread count for ``model``'s training and return it.

    The tutorial's MLP (batch 50 x 784 x 100) is too small for threads to pay off: on
    a 2-core machine, training in a worker thread with 2 OpenMP threads ran 2.2x slower
    than with 1. It gets half the cores (at least 1, at most 4). The CNN's convolutions
    are large enough: on 2 cores one epoch of 8,000 digits took 4.2-4.8 s with 2
    threads against 6.6-7.5 s with 1 (bench/bench_cnn.py); it gets PyTorch's own
    default (one thread per physical core, what the examples' loop runs with), within
    the cores this process may use. The user's MNIST_TUI_THREADS / OMP_NUM_THREADS win
    over both.
    """
    explicit = os.environ.get("MNIST_TUI_THREADS") or os.environ.get("OMP_NUM_THREADS")
    if explicit and explicit.isdigit() and int(explicit) > 0:
        n = int(explicit)
    elif model == "cnn":
        n = min(_TORCH_DEFAULT_THREADS, usable_cores())
    else:
        n = max(1, min(4, usable_cores() // 2))
    torch.set_num_threads(n)
    return n


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the system says)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD = 32 << 20  # glibc's own ceiling for it (DEFAULT_MMAP_THRESHOLD_MAX, 64-bit)
_TRIM_THRESHOLD = 64 << 20  # what glibc pairs with that ceiling (twice it)


def configure_cpu_allocator() -> bool:
    """Keep the training step's buffers in the heap between steps (glibc only; True
    when set).

    A training step allocates and frees the same buffers each time (the CNN's feature
    maps are 5-10 MB at batch 64). glibc's malloc serves blocks above its mmap
    threshold (128 KB at start, raised only by the blocks a process happens to free)
    with fresh mappings and trims the heap's free top above twice that, so a fresh
    training process handed its pages back to the kernel and faulted them in again at
    every step: ~900,000 page faults and ~1.9 s of system time in one CNN epoch of 8,000
    digits, ~25 % of its time (bench/bench_cnn.py). Fixing both thresholds at the
    values glibc itself grows to (32 MB, 64 MB) keeps them. Left alone when the user
    tunes malloc (``MALLOC_*_`` variables, ``GLIBC_TUNABLES``) or another allocator is
    preloaded (``LD_PRELOAD``, e.g. jemalloc or tcmalloc)."""
    if not sys.platform.startswith("linux") or "LD_PRELOAD" in os.environ \
            or "GLIBC_TUNABLES" in os.environ \
            or any(k.startswith("MALLOC_") and k.endswith("_") for k in os.environ):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # glibc, not musl (whose mallopt does nothing)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
