"""What the training generators yield. Frozen, plain data: a consumer may print them,
draw them, or send them to another process. (No torch import: a process that only
displays events need not load PyTorch.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class RunStatus(str, Enum):
    """Where a ``core.training.Run`` stands. A str: it is written as its value in
    checkpoints and metrics rows, and compares equal to it."""

    READY = "ready"
    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"
    DIVERGED = "diverged"
    PRUNED = "pruned"  # a sweep's pruner stopped it (core.sweep): only in a run folder's end row

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class DownloadProgress:
    """Reported while downloading: ``done`` of ``total`` bytes (total 0 when unknown)."""

    filename: str
    url: str
    done: int
    total: int
    file_index: int  # 1-based, of file_count
    file_count: int


@dataclass(frozen=True)
class RunStarted:
    hparams: dict[str, Any]
    device: str
    n_train: int
    n_test: int
    n_params: int
    architecture: str
    classes: tuple[str, ...]
    epoch: int  # epochs already done (non-zero when resuming)
    step: int


@dataclass(frozen=True)
class EpochStarted:
    epoch: int  # 1-based
    epochs: int
    batches: int
    batch_size: int
    n_train: int


@dataclass(frozen=True)
class BatchEnd:
    """One optimizer step done. ``loss`` reads the value lazily: on a GPU, only a
    consumer that asks pays for the device synchronisation."""

    epoch: int
    batch: int  # 0-based index within the epoch
    batches: int
    batch_size: int
    epoch_samples: int  # examples done in this epoch, this batch included
    n_train: int
    seen: int  # examples seen since the run began
    step: int  # optimizer steps since the run began
    samples_per_sec: float
    loss_tensor: Any = field(repr=False, compare=False)  # a 0-d torch.Tensor

    @property
    def loss(self) -> float:
        return float(self.loss_tensor)


@dataclass(frozen=True)
class NonFiniteLoss:
    """The loss became NaN or infinite: the step was not applied and training stops."""

    epoch: int
    batch: int
    step: int
    seen: int
    loss: float


@dataclass(frozen=True)
class EvalProgress:
    epoch: int
    batch: int  # 1-based: batches done
    batches: int
    samples: int
    total: int


@dataclass(frozen=True)
class Prediction:
    index: int  # position in the test set
    label: int
    pred: int
    confidence: float  # softmax probability of ``pred``
    probs: tuple[float, ...]
    loss: float

    @property
    def correct(self) -> bool:
        return self.label == self.pred


@dataclass(frozen=True)
class TestEnd:
    """One pass over the test set (epoch 0: before training)."""

    __test__ = False  # not a pytest class

    epoch: int
    seen: int
    avg_loss: float
    correct: int
    total: int
    per_class_correct: tuple[int, ...]
    per_class_total: tuple[int, ...]
    confusion: tuple[tuple[int, ...], ...]  # [true][predicted]
    hardest: tuple[Prediction, ...] = ()
    #: the predicted class and its softmax confidence for every test example, in order
    predictions: tuple[int, ...] = ()
    confidences: tuple[float, ...] = ()

    @property
    def accuracy(self) -> float:
        """Percent correct."""
        return 100.0 * self.correct / self.total if self.total else 0.0


@dataclass(frozen=True)
class EpochEnd:
    epoch: int
    seen: int
    step: int
    mean_loss: float
    seconds: float


@dataclass(frozen=True)
class HparamsChanged:
    """A hyperparameter edit took effect (or was queued: ``effect`` says when)."""

    step: int  # optimizer steps done when it took effect
    epoch: int
    seen: int
    changes: dict[str, tuple[Any, Any]]  # name -> (old, new)
    effect: str  # core.config.LIVE / NEXT_EPOCH / RESTART
    applied: bool  # False: waiting (next epoch / restart)


@dataclass(frozen=True)
class RunFinished:
    status: RunStatus  # FINISHED, STOPPED or DIVERGED
    epochs_done: int
    step: int
    best_accuracy: float
    best_epoch: int


# ------------------------------------------------------------------ the tutorial's lines
# (here, beside the events: a display process formats them without importing PyTorch)

def format_train(ev: BatchEnd) -> str:
    """``Train Epoch: 1 [5000/60000 (8%)]\\tLoss: 0.412345`` (the tutorial's format)."""
    return train_line(ev.epoch, ev.batch, ev.batches, ev.batch_size, ev.n_train, ev.loss)


def train_line(epoch: int, batch: int, batches: int, batch_size: int, n_train: int,
               loss: float) -> str:
    """The same line from plain numbers (a run folder's train row, for `watch`)."""
    return (f"Train Epoch: {epoch} [{batch * batch_size}/{n_train} "
            f"({100.0 * batch / batches:.0f}%)]\tLoss: {loss:.6f}")


def format_test(ev: TestEnd) -> str:
    """``Test set: Avg. loss: 0.1234, Accuracy: 9712/10000 (97%)``."""
    return (f"Test set: Avg. loss: {ev.avg_loss:.4f}, "
            f"Accuracy: {ev.correct}/{ev.total} ({ev.accuracy:.0f}%)")


def format_max_accuracy(best: float) -> str:
    return f"Max Accuracy is: {best:.2f}%"


Event = (RunStarted | EpochStarted | BatchEnd | NonFiniteLoss | EvalProgress | TestEnd
         | EpochEnd | HparamsChanged | RunFinished)


# ------------------------------------------------------------- inside the network
# (core/inspect.py computes them; appended here, after the tutorial's lines)

@dataclass(frozen=True)
class LayerStat:
    """One Linear or Conv2d layer at one step (definitions: core/inspect.py). ``None``:
    not measured (before training; no activation after the layer)."""

    name: str                 # the module's name in the model, e.g. "layers.0"
    shape: tuple[int, int]    # its weight as a matrix: (out, in) features; a Conv2d's
                              # (out channels, in channels * kh * kw)
    weight_norm: float
    grad_norm: float | None
    update_ratio: float | None
    activation_mean: float | None
    saturated: float | None   # share 0..1


@dataclass(frozen=True)
class LayerStats:
    """Per-layer statistics of the batch just trained, every LOG_INTERVAL steps and after
    each test (``after_test``: then also the first layer's weights, float32 bytes of
    ``first_shape``, for drawing each unit as a 28x28 tile)."""

    epoch: int
    step: int
    seen: int
    layers: tuple[LayerStat, ...]
    activation: str = "sigmoid"   # the hidden layers' activation, for reading `saturated`
    after_test: bool = False
    first_weights: bytes | None = field(default=None, repr=False, compare=False)
    first_shape: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class DigitTrace:
    """One test example through the network (eval mode): each hidden layer's
    activations (flattened) and the output's ten probabilities."""

    index: int                              # in the test set (-1: not from it)
    label: int
    names: tuple[str, ...]                  # the hidden layers
    kinds: tuple[str, ...]                  # their activations: sigmoid, tanh, relu
    activations: tuple[tuple[float, ...], ...]
    probs: tuple[float, ...]
    #: each hidden layer's activation shape: (units,) or a convolution's feature maps
    #: (channels, height, width); empty: all flat (traces from before the CNN)
    shapes: tuple[tuple[int, ...], ...] = ()
