"""Looking inside the network: per-layer statistics, the first layer's weights, and one
digit traced through the layers. No UI import; what it returns is plain data (events).

The statistics of one optimizer step, for every ``nn.Linear`` and ``nn.Conv2d`` of the
model, in order (the output layer included). ``W`` is the layer's weight (its bias left
out; a convolution's kernels count as a matrix of out-channels x in-channels*kh*kw):

- ``weight_norm``: ``||W||`` (Frobenius) after the step;
- ``grad_norm``: ``||dL/dW||`` of the batch just trained (the gradient the step used);
- ``update_ratio``: ``||W_after - W_before|| / ||W_before||``, the step's actual change
  (whatever the optimizer: momentum and Adam included). ``W_before`` is a copy taken
  just before the step; copies are only taken for the steps whose statistics are due;
- ``activation_mean``: the mean over the batch and the units of what the layer passes
  on: the output of the activation that follows it (sigmoid, tanh, relu), or for a
  layer followed by none (the output layer) its own output, the logits;
- ``saturated``: the share (0..1) of saturated values: sigmoid below 0.01 or above
  0.99; tanh |a| > 0.99; relu: the share of units never active (output 0) on any
  example of the batch; for a convolution a unit is one channel at one position).
  ``None`` for a layer with no activation after it.

``LayerProbe`` gathers them while a run trains: ``arm()`` before a due step copies the
weights and registers forward hooks that keep the next training-mode forward's
activations (and then remove themselves); ``collect()`` after the step computes the
numbers. Nothing is changed: no random numbers are drawn, the hooks return nothing and
keep only detached tensors, the optimizer is not touched, so training results are bit
for bit what they are without the probe.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.events import (BatchEnd, DigitTrace, EpochStarted, LayerStat, LayerStats, NonFiniteLoss,
                         RunFinished, TestEnd)

_KINDS: tuple[tuple[type[nn.Module], str], ...] = (
    (nn.Sigmoid, "sigmoid"), (nn.Tanh, "tanh"), (nn.ReLU, "relu"))


def _kind(module: nn.Module | None) -> str | None:
    for cls, name in _KINDS:
        if isinstance(module, cls):
            return name
    return None


_WEIGHTED = (nn.Linear, nn.Conv2d)


@dataclass(frozen=True)
class Layer:
    """A Linear or Conv2d layer, and the module whose output is its activation."""

    name: str             # the module's name in the model ("layers.0", "layers.conv1")
    linear: nn.Linear | nn.Conv2d
    act: nn.Module        # the activation after it, or the layer itself
    kind: str | None      # "sigmoid", "tanh", "relu", or None (no activation)

    @property
    def shape(self) -> tuple[int, int]:
        """Its weight as a matrix: (out features or channels, inputs of one unit)."""
        w = self.linear.weight
        return int(w.shape[0]), int(w[0].numel())


def linear_layers(model: nn.Module) -> list[Layer]:
    """Every Linear and Conv2d of ``model`` in order, each paired with the activation
    that follows it in its ``nn.Sequential`` (if any)."""
    found: list[Layer] = []
    for prefix, parent in model.named_modules():
        if not isinstance(parent, nn.Sequential):
            continue
        children = list(parent.named_children())
        for i, (child_name, child) in enumerate(children):
            if isinstance(child, _WEIGHTED):
                nxt = children[i + 1][1] if i + 1 < len(children) else None
                kind = _kind(nxt)
                name = f"{prefix}.{child_name}" if prefix else child_name
                found.append(Layer(name, child, nxt if kind else child, kind))
    if not found:  # not a Sequential model: the Linears, no activations known
        found = [Layer(n, m, m, None) for n, m in model.named_modules() if isinstance(m, _WEIGHTED)]
    return found


def saturation(a: torch.Tensor, kind: str | None) -> float | None:
    """The share of saturated values of activations ``a`` (batch x units), see above."""
    if kind is None or a.numel() == 0:
        return None
    if kind == "sigmoid":
        return float(((a < 0.01) | (a > 0.99)).float().mean())
    if kind == "tanh":
        return float((a.abs() > 0.99).float().mean())
    a2 = a.reshape(a.shape[0], -1) if a.dim() > 1 else a.reshape(1, -1)
    return float((~(a2 > 0).any(dim=0)).float().mean())  # relu: units dead on the batch


def first_layer_weights(model: nn.Module) -> np.ndarray:
    """The first layer's weights as a float32 CPU array (a copy), one row a unit: the
    MLP's units x 784 pixels, the CNN's 32 filters x 9 (3x3) pixels."""
    w = linear_layers(model)[0].linear.weight
    return w.detach().to("cpu", torch.float32).reshape(w.shape[0], -1).numpy().copy()


class LayerProbe:
    """Collects ``LayerStats`` for chosen steps of a training run (see the module doc)."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.layers = linear_layers(model)
        self.activation = next((la.kind for la in self.layers if la.kind), "none")
        self._before: list[torch.Tensor] | None = None
        self._acts: dict[int, torch.Tensor] = {}
        self._handles: list = []
        self.held: LayerStats | None = None  # the last step of an epoch, for after its test

    @property
    def armed(self) -> bool:
        return self._before is not None

    def arm(self) -> None:
        """Before a due step: copy the weights, hook the activations of its forward."""
        self.disarm()
        with torch.no_grad():
            self._before = [la.linear.weight.detach().clone() for la in self.layers]
        self._acts = {}
        for i, la in enumerate(self.layers):
            self._handles.append(la.act.register_forward_hook(self._hook(i)))

    def _hook(self, i: int):
        def hook(module: nn.Module, inputs, output) -> None:
            if module.training and i not in self._acts:  # the training step, not a predict()
                self._acts[i] = output.detach()
                self._handles_remove(i)
        return hook

    def _handles_remove(self, i: int) -> None:
        h = self._handles[i] if i < len(self._handles) else None
        if h is not None:
            h.remove()
            self._handles[i] = None

    def disarm(self) -> None:
        for h in self._handles:
            if h is not None:
                h.remove()
        self._handles = []
        self._before = None

    def collect(self, epoch: int, step: int, seen: int) -> LayerStats:
        """After the due step (its gradients still in ``.grad``): the statistics."""
        before = self._before or [None] * len(self.layers)
        out = []
        with torch.no_grad():
            for i, (la, w0) in enumerate(zip(self.layers, before)):
                w = la.linear.weight
                g = w.grad
                a = self._acts.get(i)
                n0 = float(torch.linalg.vector_norm(w0)) if w0 is not None else 0.0
                out.append(LayerStat(
                    name=la.name,
                    shape=la.shape,
                    weight_norm=float(torch.linalg.vector_norm(w)),
                    grad_norm=float(torch.linalg.vector_norm(g)) if g is not None else None,
                    update_ratio=(float(torch.linalg.vector_norm(w - w0)) / n0
                                  if w0 is not None and n0 > 0 else None),
                    activation_mean=float(a.float().mean()) if a is not None else None,
                    saturated=saturation(a, la.kind) if a is not None else None,
                ))
        self.disarm()
        self._acts = {}
        return LayerStats(epoch, step, seen, tuple(out), self.activation)

    def weights_only(self, epoch: int, step: int, seen: int) -> LayerStats:
        """No step to describe (before training): weight norms only."""
        with torch.no_grad():
            out = tuple(LayerStat(la.name, la.shape,
                                  float(torch.linalg.vector_norm(la.linear.weight)),
                                  None, None, None, None) for la in self.layers)
        return LayerStats(epoch, step, seen, out, self.activation)

    # --------------------------------------------------------- driven by Run.events()
    def follow(self, ev: object, *, step: int, start_batch: int,
               interval: int) -> Iterator[LayerStats]:
        """Called with each event of a run, after the consumer had it and before the
        run goes on (so before the next step): arms, collects and yields the stats.
        ``step`` and ``start_batch``: the run's steps done and position in its epoch."""
        if isinstance(ev, EpochStarted):
            self.before_epoch(start_batch, ev.batches, interval)
        elif isinstance(ev, BatchEnd):
            stats = self.after_batch(ev.epoch, ev.batch, ev.batches, ev.step, ev.seen, interval)
            if stats is not None:
                yield stats
        elif isinstance(ev, TestEnd):
            yield self.after_test(ev.epoch, step, ev.seen)
        elif isinstance(ev, (NonFiniteLoss, RunFinished)):
            self.disarm()
            self.held = None

    @staticmethod
    def due(batch: int, batches: int, interval: int) -> bool:
        """Statistics are due at the log interval and at the last step of an epoch."""
        return batch % interval == 0 or batch == batches - 1

    def before_epoch(self, start_batch: int, batches: int, interval: int) -> None:
        if start_batch < batches and self.due(start_batch, batches, interval):
            self.arm()

    def after_batch(self, epoch: int, batch: int, batches: int, step: int, seen: int,
                    interval: int) -> LayerStats | None:
        """After each step: the statistics if they are due at the log interval (``None``
        otherwise; those of the epoch's last step are kept for ``after_test``), and the
        next step armed if it is due."""
        stats = None
        if self.armed:
            s = self.collect(epoch, step, seen)
            if batch == batches - 1:
                self.held = s
            if batch % interval == 0:
                stats = s
        if batch + 1 < batches and self.due(batch + 1, batches, interval):
            self.arm()
        return stats

    def after_test(self, epoch: int, step: int, seen: int) -> LayerStats:
        """After a test: the statistics of the last step trained (weight norms only
        before training), with the first layer's weights."""
        held, self.held = self.held, None
        base = held if held is not None and held.step == step else self.weights_only(epoch, step, seen)
        w = first_layer_weights(self.model)
        return LayerStats(epoch, step, seen, base.layers, self.activation, after_test=True,
                          first_weights=w.tobytes(), first_shape=(int(w.shape[0]), int(w.shape[1])))


@torch.no_grad()
def trace_digit(model: nn.Module, image: torch.Tensor, *, index: int = -1,
                label: int = -1) -> DigitTrace:
    """One example (a flat 784 vector, as the dataset gives it) through the network in
    eval mode: each hidden layer's activations (a convolution's: its feature maps,
    flattened, with their shape) and the output's ten probabilities."""
    layers = linear_layers(model)
    acts: dict[int, torch.Tensor] = {}
    handles = [la.act.register_forward_hook(
        lambda m, i, o, k=k: acts.__setitem__(k, o.detach())) for k, la in enumerate(layers)]
    was_training = model.training
    model.eval()
    try:
        logits = model(image.reshape(1, -1))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    hidden = [k for k, la in enumerate(layers[:-1])]
    probs = torch.softmax(logits.float().reshape(-1), dim=0)
    return DigitTrace(
        index=index, label=label,
        names=tuple(layers[k].name for k in hidden),
        kinds=tuple(layers[k].kind or "none" for k in hidden),
        activations=tuple(tuple(acts[k].float().reshape(-1).cpu().tolist()) for k in hidden),
        shapes=tuple(tuple(int(d) for d in acts[k].shape[1:]) for k in hidden),
        probs=tuple(probs.cpu().tolist()))


def trace_test_digit(model: nn.Module, data, index: int) -> DigitTrace:
    """``trace_digit`` for example ``index`` of a ``MNISTDataset``."""
    x, y = data.batch(torch.tensor([int(index)], device=data.device))
    return trace_digit(model, x[0], index=int(index), label=int(y[0]))

