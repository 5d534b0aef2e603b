"""Training and testing as generators, and the run that strings them together the way
the tutorial's main does: test once, then train and test each epoch.

The consumer sets the pace. Pausing is not calling ``next``; between two events it may
call ``Run.apply(...)`` (a validated hyperparameter edit), ``Run.predict(...)`` or
``Run.stop()``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from core import checkpoint
from core import config as cfg
from core.config import Hyperparameters
from core.edits import EditState, current_epoch, min_epochs
from core.datasets import MNISTDataset
from core.errors import ConfigError
from core.events import (  # noqa: F401  (format_*: re-exported, defined beside the events)
    format_max_accuracy,
    format_test,
    format_train,
    BatchEnd,
    EpochEnd,
    EpochStarted,
    EvalProgress,
    Event,
    HparamsChanged,
    NonFiniteLoss,
    Prediction,
    RunFinished,
    RunStarted,
    RunStatus,
    TestEnd,
)
from core.inspect import LayerProbe
from core.metrics import LOG_INTERVAL, best_test
from core.network import (
    build_model,
    build_optimizer,
    build_scheduler,
    configure_cpu_allocator,
    configure_cpu_threads,
    parameter_count,
    set_optimizer_values,
)


# ------------------------------------------------------------------------- generators

def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: MNISTDataset,
    *,
    epoch: int,
    batch_size: int,
    generator: torch.Generator | None = None,
    start_batch: int = 0,
    seen: int = 0,
    step: int = 0,
    check_finite: bool = True,
) -> Generator[BatchEnd | NonFiniteLoss, None, None]:
    """One pass over ``data`` in a shuffled order; yields ``BatchEnd`` after each step.

    ``check_finite`` tests each loss before stepping (a sync per step: free on the CPU);
    a NaN or infinite loss yields ``NonFiniteLoss`` and ends the epoch unapplied.
    """
    model.train()
    n = len(data)
    batches = math.ceil(n / batch_size)
    epoch_samples = min(start_batch * batch_size, n)
    t0 = time.perf_counter()
    done_here = 0
    for b, (x, y) in enumerate(
        data.batches(batch_size, shuffle=True, generator=generator, start=start_batch),
        start=start_batch,
    ):
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        if check_finite and not torch.isfinite(loss):
            yield NonFiniteLoss(epoch, b, step, seen, float(loss.detach()))
            return
        loss.backward()
        optimizer.step()
        k = len(y)
        step += 1
        seen += k
        epoch_samples += k
        done_here += k
        rate = done_here / max(time.perf_counter() - t0, 1e-9)
        yield BatchEnd(epoch, b, batches, batch_size, epoch_samples, n, seen, step, rate,
                       loss.detach())


def _prediction(index: int, label: int, logits: torch.Tensor) -> Prediction:
    probs = torch.softmax(logits.float(), dim=0)
    pred = int(probs.argmax())
    loss = float(-torch.log(probs[label].clamp_min(1e-45)))
    return Prediction(index, label, pred, float(probs[pred]), tuple(probs.tolist()), loss)


@torch.no_grad()
def predict(model: nn.Module, data: MNISTDataset, indices: Sequence[int]) -> tuple[Prediction, ...]:
    """Predictions with softmax confidences for test examples ``indices``."""
    indices = [int(i) for i in indices if 0 <= int(i) < len(data)]
    if not indices:
        return ()
    was_training = model.training
    model.eval()
    x, y = data.batch(torch.tensor(indices, device=data.device))
    logits = model(x).cpu()
    model.train(was_training)
    return tuple(_prediction(i, int(lbl), lg) for i, lbl, lg in zip(indices, y.tolist(), logits))


def image_probabilities(model: nn.Module, image: bytes | Sequence[int]) -> tuple[float, ...]:
    """Softmax probabilities of ``model`` for one 28x28 uint8 image (784 bytes, as
    ``MNISTDataset`` holds them): eval mode, no gradients, its mode restored after; no
    random numbers, no optimizer state: a run asked this mid-epoch trains on exactly as
    it would have (tests/tui/test_draw_live.py)."""
    x = torch.frombuffer(bytearray(image), dtype=torch.uint8).to(torch.float32).div_(255.0)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits = model(x.view(1, 784).to(next(model.parameters()).device))
            return tuple(torch.softmax(logits.float(), dim=1)[0].cpu().tolist())
    finally:
        model.train(was_training)


# inference_mode rather than no_grad: the same kernels, so bit-identical Test lines, and
# ~15 % less time per test pass (bench/bench_compile.py); nothing it makes is ever
# trained on.
@torch.inference_mode()
def evaluate(
    model: nn.Module,
    data: MNISTDataset,
    *,
    batch_size: int = 1000,
    epoch: int = 0,
    seen: int = 0,
    hardest: int = 0,
    num_classes: int = 10,
) -> Generator[EvalProgress | TestEnd, None, TestEnd]:
    """Test ``model`` on ``data``: yields ``EvalProgress`` per batch, then the ``TestEnd``
    (also the generator's return value) with average loss, accuracy, per-class counts,
    the confusion matrix, every example's prediction and the ``hardest`` examples
    (highest loss)."""
    was_training = model.training
    model.eval()
    n = len(data)
    batches = math.ceil(n / batch_size)
    dev = data.device
    total_loss = torch.zeros((), dtype=torch.float64, device=dev)
    confusion = torch.zeros(num_classes * num_classes, dtype=torch.int64, device=dev)
    losses, preds, confs = [], [], []
    done = 0
    for b, (x, y) in enumerate(data.batches(batch_size), start=1):
        out = model(x)
        per_sample = F.cross_entropy(out, y, reduction="none")
        total_loss += per_sample.sum(dtype=torch.float64)
        conf, pred = torch.softmax(out, dim=1).max(dim=1)
        preds.append(pred)
        confs.append(conf)
        confusion += torch.bincount(y * num_classes + pred, minlength=num_classes ** 2)
        if hardest:
            losses.append(per_sample)
        done += len(y)
        yield EvalProgress(epoch, b, batches, done, n)
    cm = confusion.view(num_classes, num_classes).cpu()
    diag = cm.diag()
    hard: tuple[Prediction, ...] = ()
    if hardest and losses:
        top = torch.topk(torch.cat(losses), min(hardest, n)).indices.tolist()
        hard = predict(model, data, top)
    result = TestEnd(
        epoch=epoch,
        seen=seen,
        avg_loss=float(total_loss) / n if n else 0.0,
        correct=int(diag.sum()),
        total=n,
        per_class_correct=tuple(diag.tolist()),
        per_class_total=tuple(cm.sum(1).tolist()),
        confusion=tuple(tuple(r) for r in cm.tolist()),
        hardest=hard,
        predictions=tuple(torch.cat(preds).tolist()) if preds else (),
        confidences=tuple(torch.cat(confs).tolist()) if confs else (),
    )
    model.train(was_training)
    yield result
    return result


# -------------------------------------------------------------------------------- run

@dataclass
class History:
    """What the tutorial plots, and the edits made along the way."""

    train_seen: list[int] = field(default_factory=list)   # examples seen at each step
    train_loss: list[float] = field(default_factory=list)  # loss of that step
    test_epoch: list[int] = field(default_factory=list)
    test_seen: list[int] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    edits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def best(self) -> tuple[float, int]:
        """(best accuracy in percent, its epoch); (0.0, -1) before any test."""
        return best_test(zip(self.test_accuracy, self.test_epoch)) or (0.0, -1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        return cls(**d)


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The shuffling order of each epoch depends only on (seed, epoch), so a resumed
    run draws exactly the order an uninterrupted one would."""
    return torch.Generator().manual_seed((seed * 1_000_003 + epoch) % (2**63))


class Run:
    """A whole training run, as a generator of events (``events()``).

    ``apply(**changes)`` edits hyperparameters between two events and returns the
    ``HparamsChanged`` of each group (they are not yielded again): live ones (lr,
    momentum, epochs, test batch size) at the next step, batch size at the next epoch,
    network shape / activation / seed / optimizer only on restart (``edits.target``).
    """

    def __init__(
        self,
        hparams: Hyperparameters,
        train: MNISTDataset,
        test: MNISTDataset,
        *,
        device: torch.device | str = "cpu",
        hardest: int = 0,
        classes: Sequence[str] = tuple(str(i) for i in range(10)),
    ):
        self.edits = EditState(hparams.validate())
        self.device = torch.device(device)
        self.train_data = train.to(self.device)
        self.test_data = test.to(self.device)
        self.classes = tuple(classes)
        self.hardest = hardest
        torch.manual_seed(self.hp.seed)
        self.model = build_model(self.hp).to(self.device)
        self.optimizer = build_optimizer(self.model, self.hp)
        self.scheduler = build_scheduler(self.optimizer, self.hp)
        self.history = History()
        self.epoch = 0           # epochs completed
        self.batch_in_epoch = 0  # steps done in the epoch in progress
        self.step = 0
        self.seen = 0
        self.tested_initial = False
        self.status = RunStatus.READY
        self.last_test: TestEnd | None = None
        self._announce: list[HparamsChanged] = []
        self._stop = False
        self._in_epoch = False

    # ------------------------------------------------------------------ controls
    @property
    def n_params(self) -> int:
        return parameter_count(self.model)

    def stop(self) -> None:
        """End the run at the next event (the model keeps its last update)."""
        self._stop = True

    @property
    def hp(self) -> Hyperparameters:
        """The hyperparameters in force."""
        return self.edits.hp

    @property
    def pending(self) -> dict[str, Any]:
        """Edits waiting for the next epoch or a restart."""
        return dict(self.edits.pending)

    def apply(self, **changes: Any) -> list[HparamsChanged]:
        """Validate and apply an edit; raises ``ConfigError`` and changes nothing if
        any value is refused. Returns what happened to each group of changes."""
        plan = self.edits.plan(changes, minimum_epochs=min_epochs(self.epoch, self._in_epoch))
        results = []
        for effect, diff in plan.items():
            if effect == cfg.LIVE:
                self.edits = self.edits.applied(diff)
                set_optimizer_values(self.optimizer, self.hp.lr if "lr" in diff else None,
                                     self.hp.momentum if "momentum" in diff else None)
                self.scheduler.gamma = self.hp.lr_step_gamma  # used at the next epoch's end
            else:
                self.edits = self.edits.waiting(diff)
            results.append(self._record(diff, effect, applied=effect == cfg.LIVE, announce=False))
        return results

    def _record(self, diff: dict[str, tuple[Any, Any]], effect: str, applied: bool,
                announce: bool = True) -> HparamsChanged:
        """Keep an edit in the history. An edit made through ``apply`` reaches the caller
        as its return value and nowhere else; one the run makes itself (a batch-size edit
        taking effect when the next epoch starts) comes out of ``events()``."""
        ev = HparamsChanged(self.step, current_epoch(self.epoch, self._in_epoch), self.seen,
                            diff, effect, applied)
        self.history.edits.append({
            "step": ev.step, "epoch": ev.epoch, "seen": ev.seen, "effect": effect,
            "applied": applied,
            "changes": {k: [_plain(o), _plain(n)] for k, (o, n) in diff.items()},
        })
        if announce:
            self._announce.append(ev)
        return ev

    def predict(self, indices: Sequence[int]) -> tuple[Prediction, ...]:
        return predict(self.model, self.test_data, indices)

    # ------------------------------------------------------------------ the run
    def _drain(self) -> Generator[HparamsChanged, None, None]:
        while self._announce:
            yield self._announce.pop(0)

    def _apply_next_epoch_edits(self) -> None:
        diff = self.edits.due(cfg.NEXT_EPOCH)
        if diff:
            self.edits = self.edits.applied(diff)
            self._record(diff, cfg.NEXT_EPOCH, applied=True)

    def _test(self) -> Generator[Event, None, None]:
        for ev in evaluate(self.model, self.test_data, batch_size=self.hp.test_batch_size,
                           epoch=self.epoch, seen=self.seen, hardest=self.hardest):
            if isinstance(ev, TestEnd):
                # Recorded before it is yielded: a checkpoint taken on this event holds it.
                h = self.history
                h.test_epoch.append(ev.epoch)
                h.test_seen.append(ev.seen)
                h.test_loss.append(ev.avg_loss)
                h.test_accuracy.append(ev.accuracy)
                self.last_test = ev
                self.tested_initial = True
            yield ev

    def _finish(self, status: RunStatus) -> RunFinished:
        self.status = status
        best, best_epoch = self.history.best
        return RunFinished(status, self.epoch, self.step, best, best_epoch)

    #: yield core.inspect's LayerStats (every LOG_INTERVAL steps and after each test)
    layer_stats: bool = True

    def events(self) -> Generator[Event, None, None]:
        """The run's events, with ``LayerStats`` after a due ``BatchEnd`` and after each
        ``TestEnd`` (unless ``layer_stats`` is False). The probe works between two events
        of the run below and changes nothing it computes (see core/inspect.py)."""
        probe = LayerProbe(self.model) if self.layer_stats else None
        for ev in self._events():
            yield ev
            if probe is not None:
                yield from probe.follow(ev, step=self.step, start_batch=self.batch_in_epoch,
                                        interval=LOG_INTERVAL)

    def _events(self) -> Generator[Event, None, None]:
        if self.device.type == "cpu":
            configure_cpu_threads(self.hp.model)
            configure_cpu_allocator()
        check_each_step = self.device.type == "cpu"
        self.status = RunStatus.RUNNING
        yield RunStarted(self.hp.to_dict(), str(self.device), len(self.train_data),
                         len(self.test_data), self.n_params, self.hp.architecture(),
                         self.classes, self.epoch, self.step)
        if not self.tested_initial:
            yield from self._test()
        h = self.history
        while self.epoch < self.hp.epochs:
            yield from self._drain()
            if self._stop:
                yield self._finish(RunStatus.STOPPED)
                return
            if self.batch_in_epoch == 0:
                self._apply_next_epoch_edits()
                yield from self._drain()
            epoch = self.epoch + 1
            bs = self.hp.batch_size
            batches = math.ceil(len(self.train_data) / bs)
            self._in_epoch = True
            yield EpochStarted(epoch, self.hp.epochs, batches, bs, len(self.train_data))
            t0, cpu0 = time.perf_counter(), time.process_time()
            unsynced: list[torch.Tensor] = []
            for ev in train_epoch(self.model, self.optimizer, self.train_data, epoch=epoch,
                                  batch_size=bs, generator=epoch_generator(self.hp.seed, epoch),
                                  start_batch=self.batch_in_epoch, seen=self.seen,
                                  step=self.step, check_finite=check_each_step):
                if isinstance(ev, NonFiniteLoss):
                    self._in_epoch = False
                    yield ev
                    yield self._finish(RunStatus.DIVERGED)
                    return
                self.step, self.seen, self.batch_in_epoch = ev.step, ev.seen, ev.batch + 1
                h.train_seen.append(ev.seen)
                unsynced.append(ev.loss_tensor)
                if len(unsynced) >= (1 if check_each_step else LOG_INTERVAL):
                    if not self._flush(unsynced, ev):
                        yield from self._diverged_late(ev)
                        return
                yield ev
                yield from self._drain()
                if self._stop:
                    self._flush(unsynced, ev)
                    yield self._finish(RunStatus.STOPPED)
                    return
            if unsynced and not self._flush(unsynced, ev):
                yield from self._diverged_late(ev)
                return
            self._in_epoch = False
            done_batches = self.batch_in_epoch
            self.epoch, self.batch_in_epoch = epoch, 0
            # The examples step StepLR after each epoch's test; stepping it here, before
            # the test (which the learning rate does not touch), puts the decay in the
            # checkpoint taken after the test, so a resume goes on with it.
            self.scheduler.step()
            epoch_losses = h.train_loss[len(h.train_loss) - done_batches:]
            yield EpochEnd(epoch, self.seen, self.step,
                           sum(epoch_losses) / max(len(epoch_losses), 1), time.perf_counter() - t0,
                           time.process_time() - cpu0)
            yield from self._test()
        yield from self._drain()
        finished = self._finish(RunStatus.FINISHED)
        yield finished

    def _flush(self, unsynced: list[torch.Tensor], ev: BatchEnd) -> bool:
        """Move the losses of the last steps to the history (one device sync); False
        when one of them is not finite."""
        if not unsynced:
            return True
        values = torch.stack(unsynced).tolist() if len(unsynced) > 1 else [float(unsynced[0])]
        unsynced.clear()
        self.history.train_loss.extend(values)
        return all(math.isfinite(v) for v in values)

    def _diverged_late(self, ev: BatchEnd) -> Generator[Event, None, None]:
        """On an accelerator, losses are checked in groups: report the divergence."""
        self._in_epoch = False
        bad = next(v for v in reversed(self.history.train_loss) if not math.isfinite(v))
        yield NonFiniteLoss(ev.epoch, ev.batch, ev.step, ev.seen, bad)
        yield self._finish(RunStatus.DIVERGED)

    # ------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly where the run stands."""
        return {
            "format": checkpoint.FORMAT,
            "version": checkpoint.VERSION,
            "hparams": self.hp.to_dict(),
            "pending": {k: _plain(v) for k, v in self.pending.items()},
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "step": self.step,
            "seen": self.seen,
            "tested_initial": self.tested_initial,
            "status": self.status.value,
            "history": self.history.to_dict(),
            "rng": {"torch": torch.get_rng_state()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from ``state_dict()``; the Run must have been built with the same
        ``hparams`` (use ``Hyperparameters.from_dict(state['hparams'])``)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if "scheduler" in state:  # checkpoints from before the schedule have none
            self.scheduler.load_state_dict(state["scheduler"])
        self.scheduler.gamma = self.hp.lr_step_gamma
        self.edits = EditState(self.hp, {k: tuple(v) if isinstance(v, list) else v
                                         for k, v in state.get("pending", {}).items()})
        self.epoch = state["epoch"]
        self.batch_in_epoch = state["batch_in_epoch"]
        self.step = state["step"]
        self.seen = state["seen"]
        self.tested_initial = state["tested_initial"]
        self.history = History.from_dict(state["history"])
        self._in_epoch = self.batch_in_epoch > 0
        torch.set_rng_state(state["rng"]["torch"])


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v
