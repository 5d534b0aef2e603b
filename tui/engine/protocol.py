"""The process boundary, declared: what goes into the engine (``Command``), what comes
out of it (``EngineEvent``), and the ``Transport`` that carries them.

Every engine -- the training process (``tui.engine.bridge.ProcessTransport``), the same loop
in a thread (``ThreadTransport``), a followed run folder (``tui.engine.watch.FolderTransport``)
-- takes these commands and sends these events, nothing else: plain frozen data that
crosses a process boundary (pickled) and imports neither Textual nor PyTorch. The
dashboard wraps each event in the Textual message of its kind (``tui.dashboard.messages``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

from core.events import (DigitTrace, DownloadProgress, EpochEnd, EpochStarted, EvalProgress,
                         HparamsChanged, LayerStats, NonFiniteLoss, RunFinished, RunStarted,
                         TestEnd)

# ------------------------------------------------------------------ screen -> engine

@dataclass(frozen=True)
class Pause:
    """Stop pulling events (the screen shows exactly where training stopped)."""


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class Edit:
    """A hyperparameter edit: answered by the edit's HparamsChanged and an EditResult."""

    changes: dict[str, Any]


@dataclass(frozen=True)
class Save:
    """Write checkpoint-last.pt now: answered by Saved (or a Notice when it fails)."""


@dataclass(frozen=True)
class Stop:
    """End the run at the next event; the loop then waits for Save or Quit."""


@dataclass(frozen=True)
class Quit:
    """Leave. A run still in progress gets an end row saying why (``reason``: what the
    user did, e.g. "quit", "SIGTERM")."""

    reason: str = "quit"


@dataclass(frozen=True)
class Trace:
    """"Inside the network": send test digit ``index`` through the model (a DigitTrace)."""

    index: int


@dataclass(frozen=True)
class PredictImage:
    """A drawing (784 bytes, 28x28 uint8): answered by ImagePredicted, from the model as it
    is now; training is untouched (eval mode, no gradients)."""

    request_id: int
    image: bytes


@dataclass(frozen=True)
class Drawn:
    """The screen has drawn the run's start (its first EpochStarted, and so everything
    before it: the data, the first test): training's first step waits for this, for at
    most ``tui.engine.bridge.START_WAIT`` seconds."""


Command = Pause | Resume | Edit | Save | Stop | Quit | Trace | PredictImage | Drawn


# ------------------------------------------------------------- engine -> screen messages

@dataclass(frozen=True)
class Loading:
    text: str


@dataclass(frozen=True)
class DataReady:
    title: str
    classes: tuple[str, ...]
    n_train: int
    n_test: int
    test_images: bytes  # n_test x 784 uint8, for drawing digits
    test_labels: bytes  # n_test uint8
    source: str         # the folder the files came from


@dataclass(frozen=True)
class Tick:
    """The latest training step, plus what happened since the previous tick."""

    epoch: int
    batch: int
    batches: int
    epoch_samples: int
    n_train: int
    seen: int
    step: int
    samples_per_sec: float
    points: tuple[tuple[int, float], ...]  # (examples seen, train loss) since last tick
    lines: tuple[str, ...]                 # the tutorial's "Train Epoch" lines since last tick


@dataclass(frozen=True)
class Backfill:
    """A resumed run's past, so the plots and log start where the run stopped."""

    train_points: tuple[tuple[int, float], ...]      # (examples seen, loss): metrics.train_curve
    tests: tuple[tuple[int, int, float, float], ...]  # (epoch, seen, loss, accuracy %)
    edits: tuple[HparamsChanged, ...]                 # the applied edits, marked on the plot
    text: str


@dataclass(frozen=True)
class EditResult:
    ok: bool
    problems: dict[str, str]


@dataclass(frozen=True)
class Saved:
    path: str


@dataclass(frozen=True)
class PauseChanged:
    paused: bool
    step: int


@dataclass(frozen=True)
class ImagePredicted:
    """The live network's answer to a PredictImage (request_id, 784 bytes): softmax
    probabilities, and the epochs completed and step it had reached."""

    request_id: int
    probs: tuple[float, ...]
    epoch: int
    step: int


@dataclass(frozen=True)
class EngineFailed:
    message: str        # one line for the user
    detail_file: str = ""  # where the traceback went, for an internal error
    searched: tuple[str, ...] = ()
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class Notice:
    """Something the user must know that does not end the run (a failed write: the run
    is paused, nothing is lost)."""

    message: str
    severity: str = "error"


@dataclass(frozen=True)
class ReadProgress:
    """`watch` reading a long run's backlog: ``done`` of ``total`` bytes of ``name``."""

    name: str
    done: int
    total: int


@dataclass(frozen=True)
class FirstWeights:
    """The first layer's weights as they are now (sent on pausing: "Inside the network"
    shows the exact weights training stopped at)."""

    epoch: int
    step: int
    weights: bytes  # float32, shape
    shape: tuple[int, int]


@dataclass(frozen=True)
class EngineStopped:
    """The engine loop has ended; nothing more will come."""


@dataclass(frozen=True)
class WatchReset:
    """watch: the run folder was rewritten (the run was resumed): start the picture over."""


#: Everything an engine sends: its own events above and core's (``core.events``; a
#: ``BatchEnd`` never crosses: the loop sends ``Tick``s instead).
EngineEvent: TypeAlias = (
    Loading | DataReady | Tick | Backfill | EditResult | Saved | PauseChanged | ImagePredicted
    | EngineFailed | Notice | ReadProgress | FirstWeights | EngineStopped | WatchReset
    | DownloadProgress | RunStarted | EpochStarted | NonFiniteLoss | EvalProgress | TestEnd
    | EpochEnd | HparamsChanged | RunFinished | LayerStats | DigitTrace
)


class Transport(Protocol):
    """What the app drives: the training process, a thread, or a followed run folder."""

    def start(self) -> None: ...
    def send(self, command: Command) -> None: ...
    def get(self, timeout: float) -> EngineEvent: ...
    def alive(self) -> bool: ...
    def close(self, timeout: float = 5.0) -> None: ...

