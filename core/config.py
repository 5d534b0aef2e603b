"""Hyperparameters: one dataclass with the tutorial's defaults, validation, and when
each change takes effect."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from core.errors import ConfigError

# When a changed value takes effect in a running training run.
LIVE = "live"              # at the next training step
NEXT_EPOCH = "next_epoch"  # when the next epoch starts
RESTART = "restart"        # only when the run is restarted (press r)

EFFECT_WORDS = {LIVE: "now", NEXT_EPOCH: "next epoch", RESTART: "on restart"}

ACTIVATIONS = ("sigmoid", "relu", "tanh")
OPTIMIZERS = ("sgd", "adam", "adadelta")
#: mlp: the tutorial's network (``hidden``, ``activation``); cnn: pytorch/examples'
#: mnist/main.py network (two convolutions, max-pool, dropout, two Linear layers)
MODELS = ("mlp", "cnn")
MAX_HIDDEN_LAYERS = 8
MAX_LAYER_WIDTH = 4096


def _f(default: Any, effect: str, help: str, **kw: Any) -> Any:
    return field(default=default, metadata={"effect": effect, "help": help}, **kw)


@dataclass(frozen=True)
class Hyperparameters:
    """The tutorial's configuration, field by field."""

    lr: float = _f(0.2, LIVE, "learning rate of the optimizer")
    momentum: float = _f(0.9, LIVE, "SGD momentum (Adam β1, Adadelta ρ)")
    batch_size: int = _f(50, NEXT_EPOCH, "training examples per step")
    test_batch_size: int = _f(1000, LIVE, "examples per batch when testing")
    epochs: int = _f(25, LIVE, "passes over the training set")
    seed: int = _f(1, RESTART, "random seed: weights and shuffling")
    hidden: tuple[int, ...] = _f((100, 50), RESTART, "hidden layer sizes, e.g. 100,50")
    activation: str = _f("sigmoid", RESTART, "activation: " + ", ".join(ACTIVATIONS))
    optimizer: str = _f("sgd", RESTART, "optimizer: " + ", ".join(OPTIMIZERS))
    model: str = _f("mlp", RESTART, "mlp: tutorial; cnn: examples")
    lr_step_gamma: float = _f(1.0, LIVE, "lr × this per epoch (1: constant)")

    # ------------------------------------------------------------------ validation
    def problems(self) -> dict[str, str]:
        """Every bad field with the reason; empty when all are valid."""
        p: dict[str, str] = {}

        def number(name: str, value: Any, integer: bool) -> bool:
            ok_types = (int,) if integer else (int, float)
            if isinstance(value, bool) or not isinstance(value, ok_types):
                p[name] = "must be a whole number" if integer else "must be a number"
                return False
            if not integer and not math.isfinite(value):
                p[name] = "must be a finite number"
                return False
            return True

        if number("lr", self.lr, False) and not (0 < self.lr <= 10):
            p["lr"] = "must be greater than 0 and at most 10"
        if number("momentum", self.momentum, False) and not (0 <= self.momentum < 1):
            p["momentum"] = "must be at least 0 and less than 1"
        if number("batch_size", self.batch_size, True) and not (1 <= self.batch_size <= 60000):
            p["batch_size"] = "must be between 1 and 60000"
        if number("test_batch_size", self.test_batch_size, True) and not (
            1 <= self.test_batch_size <= 100000
        ):
            p["test_batch_size"] = "must be between 1 and 100000"
        if number("epochs", self.epochs, True) and not (1 <= self.epochs <= 10000):
            p["epochs"] = "must be between 1 and 10000"
        if number("seed", self.seed, True) and not (0 <= self.seed < 2**63):
            p["seed"] = "must be 0 or a positive whole number"
        if not isinstance(self.hidden, tuple) or not all(
            isinstance(h, int) and not isinstance(h, bool) for h in self.hidden
        ):
            p["hidden"] = "must be a list of whole numbers, e.g. 100,50"
        elif len(self.hidden) > MAX_HIDDEN_LAYERS:
            p["hidden"] = f"at most {MAX_HIDDEN_LAYERS} hidden layers"
        elif any(not (1 <= h <= MAX_LAYER_WIDTH) for h in self.hidden):
            p["hidden"] = f"each layer size must be between 1 and {MAX_LAYER_WIDTH}"
        if self.activation not in ACTIVATIONS:
            p["activation"] = f"must be one of {', '.join(ACTIVATIONS)}"
        if self.optimizer not in OPTIMIZERS:
            p["optimizer"] = f"must be one of {', '.join(OPTIMIZERS)}"
        if self.model not in MODELS:
            p["model"] = f"must be one of {', '.join(MODELS)}"
        if number("lr_step_gamma", self.lr_step_gamma, False) and not (
                0 < self.lr_step_gamma <= 1):
            p["lr_step_gamma"] = "must be greater than 0 and at most 1"
        return p

    def validate(self) -> Hyperparameters:
        """Return self, or raise ``ConfigError`` naming every bad field."""
        p = self.problems()
        if p:
            raise ConfigError(p)
        return self

    # ------------------------------------------------------------------- helpers
    def with_changes(self, **changes: Any) -> Hyperparameters:
        """A validated copy with ``changes``; raises ConfigError (self unchanged)."""
        unknown = [k for k in changes if k not in FIELD_NAMES]
        if unknown:
            raise ConfigError({k: "no such hyperparameter" for k in unknown})
        return replace(self, **changes).validate()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Hyperparameters:
        d = dict(d)
        unknown = [k for k in d if k not in FIELD_NAMES]
        if unknown:
            raise ConfigError({k: "no such hyperparameter" for k in unknown})
        if "hidden" in d and isinstance(d["hidden"], list):
            d["hidden"] = tuple(d["hidden"])
        return cls(**d).validate()

    def architecture(self) -> str:
        """e.g. ``784-100-50-10 sigmoid``, or the CNN's layers."""
        if self.model == "cnn":
            return "cnn conv32-conv64-128-10"
        return "-".join(str(n) for n in (784, *self.hidden, 10)) + f" {self.activation}"

    @property
    def hidden_activation(self) -> str:
        """The activation of the hidden layers: ``activation``, or the CNN's relu."""
        return hidden_activation(self.model, self.activation)

    def fields_that_matter(self) -> tuple[str, ...]:
        """The fields a summary shows: the CNN has no ``hidden`` / ``activation``; the
        tutorial's network shows neither ``model`` nor a constant schedule (its pane
        stays the tutorial's)."""
        if self.model == "cnn":
            skip = {"hidden", "activation"}
        else:
            skip = {"model"} | ({"lr_step_gamma"} if self.lr_step_gamma == 1 else set())
        return tuple(n for n in FIELD_NAMES if n not in skip)

    @classmethod
    def defaults(cls, model: str = "mlp") -> Hyperparameters:
        """The defaults of ``model``: the tutorial's for the MLP, pytorch/examples'
        mnist/main.py for the CNN (Adadelta lr 1.0, StepLR gamma 0.7, batch 64, 14
        epochs). A value given on the command line or a form overrides each."""
        if model == "cnn":
            return cls(model="cnn", optimizer="adadelta", lr=1.0, lr_step_gamma=0.7,
                       batch_size=64, epochs=14)
        return cls(model=model)


FIELD_NAMES = tuple(f.name for f in fields(Hyperparameters))


def show_value(v: Any) -> str:
    """A hyperparameter's value as every table, pane and header shows it: never rounded
    to another number (a float is its shortest text that reads back as the same float:
    0.05, 0.123456789, 1e-05; 2.0 is 2), layers as 100,50 ((none) for none), - for a
    value that is absent."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (list, tuple)):
        return ",".join(show_value(x) for x in v) or "(none)"
    if isinstance(v, float):
        if math.isfinite(v) and v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    return str(v)


def hidden_activation(model: Any, activation: Any) -> str:
    """The hidden layers' activation of a run's settings (also read raw from a run
    folder's config.json): the CNN's is relu whatever ``activation`` says."""
    return "relu" if model == "cnn" else str(activation or "sigmoid")


def effect_of(name: str) -> str:
    """LIVE, NEXT_EPOCH or RESTART for the field ``name``."""
    return Hyperparameters.__dataclass_fields__[name].metadata["effect"]


def help_of(name: str) -> str:
    return Hyperparameters.__dataclass_fields__[name].metadata["help"]


def parse_field(name: str, text: str) -> Any:
    """Turn what a user typed for ``name`` into a value; raises ConfigError({name: reason}).

    Only the type is checked here; ranges are ``Hyperparameters.problems``'s job.
    """
    if name not in FIELD_NAMES:
        raise ConfigError({name: "no such hyperparameter"})
    text = text.strip()
    kind = Hyperparameters.__dataclass_fields__[name].type
    try:
        if kind == "float":
            value: Any = float(text)
        elif kind == "int":
            value = int(text)
        elif name == "hidden":
            parts = text.replace(" ", "").split(",") if text else []
            if any(not part for part in parts):  # "100,,50" or "100,": a typo, not a layer
                raise ValueError
            value = tuple(int(part) for part in parts)
        else:
            value = text.lower()
    except ValueError:
        expected = {"float": "a number", "int": "a whole number"}.get(
            kind, "whole numbers separated by commas, e.g. 100,50")
        if not text:  # (a cleared field, or letters the form's number field left out)
            raise ConfigError({name: f"empty: enter {expected}"}) from None
        raise ConfigError({name: f"{text!r} is not {expected}"}) from None
    return value
