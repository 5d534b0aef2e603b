"""Hyperparameter edits and every rule about them, in one place.

When an edit takes effect is each field's ``effect`` (``core.config``: ``LIVE`` at the
next step, ``NEXT_EPOCH`` when the next epoch starts, ``RESTART`` on restart). What is in
force and what waits is an ``EditState``: the hyperparameters in force and the waiting
edits. The run (``core.training.Run``), the command line (``--resume`` with flags), the
dashboard and its edit form all ask this module; none of them writes a rule again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from core import config as cfg
from core.config import Hyperparameters
from core.errors import ConfigError


def current_epoch(epochs_done: int, in_epoch: bool) -> int:
    """The epoch the run is in: the one in progress, or the last one completed."""
    return epochs_done + (1 if in_epoch else 0)


def min_epochs(epochs_done: int, in_epoch: bool) -> int:
    """The fewest epochs a run can be edited down to: the one it is in (at least 1)."""
    return max(current_epoch(epochs_done, in_epoch), 1)


def epochs_problem(value: int, minimum: int) -> str | None:
    """Why ``epochs = value`` is refused for a run that has reached epoch ``minimum``."""
    if value < minimum:
        return f"the run is already in epoch {minimum}; choose {minimum} or more"
    return None


def field_problem(name: str, text: str, minimum_epochs: int = 1) -> str | None:
    """Why the text ``text`` typed for ``name`` is refused, or None: the edit form's
    field check and the command line's share it."""
    try:
        value = cfg.parse_field(name, text)
    except ConfigError as exc:
        return exc.problems[name]
    problem = replace(Hyperparameters(), **{name: value}).problems().get(name)
    if problem:
        return problem
    if name == "epochs":
        return epochs_problem(value, minimum_epochs)
    return None


@dataclass(frozen=True)
class EditState:
    """The hyperparameters in force and the edits waiting for the next epoch or a
    restart. Immutable: each method returns a new state."""

    hp: Hyperparameters = field(default_factory=Hyperparameters)
    pending: Mapping[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> Hyperparameters:
        """What a restart would run with: everything in force, every waiting edit."""
        return replace(self.hp, **self.pending)

    def wait(self, name: str, value: Any) -> EditState:
        """``name`` waits for ``value``; an edit back to the value in force waits for
        nothing."""
        pending = dict(self.pending)
        if value == getattr(self.hp, name):
            pending.pop(name, None)
        else:
            pending[name] = value
        return EditState(self.hp, pending)

    def plan(self, changes: Mapping[str, Any], *, minimum_epochs: int = 1
             ) -> dict[str, dict[str, tuple[Any, Any]]]:
        """The changes that differ from what is in force or waiting, by effect:
        ``{effect: {name: (old, new)}}``. ``ConfigError`` (every bad field named) for a
        refused value; nothing is decided then."""
        target = self.target.with_changes(**changes)  # raises ConfigError
        if "epochs" in changes:
            problem = epochs_problem(target.epochs, minimum_epochs)
            if problem:
                raise ConfigError({"epochs": problem})
        by_effect: dict[str, dict[str, tuple[Any, Any]]] = {}
        for name in changes:
            old = self.pending.get(name, getattr(self.hp, name))
            new = getattr(target, name)
            if new != old:
                by_effect.setdefault(cfg.effect_of(name), {})[name] = (old, new)
        return by_effect

    def applied(self, diff: Mapping[str, tuple[Any, Any]]) -> EditState:
        """The state once ``diff`` is in force (none of it waits any more)."""
        pending = {k: v for k, v in self.pending.items() if k not in diff}
        return EditState(replace(self.hp, **{k: new for k, (_, new) in diff.items()}), pending)

    def waiting(self, diff: Mapping[str, tuple[Any, Any]]) -> EditState:
        state = self
        for name, (_, new) in diff.items():
            state = state.wait(name, new)
        return state

    def due(self, effect: str) -> dict[str, tuple[Any, Any]]:
        """The waiting edits of ``effect`` as a diff against what is in force."""
        return {k: (getattr(self.hp, k), v) for k, v in self.pending.items()
                if cfg.effect_of(k) == effect}


def resume_edits(saved: Hyperparameters, epochs_done: int, in_epoch: bool,
                 changes: Mapping[str, Any]) -> dict[str, Any]:
    """Hyperparameters given with --resume are edits to the resumed run, checked as the
    edit form would: a resumed run keeps its network, activation, optimizer and seed,
    and cannot end before the epoch it has reached. Returns the changes that differ from
    the run's; ``ConfigError`` by field name otherwise."""
    fixed = {n: "a resumed run keeps it; start a new run (without --resume) to change it"
             for n, v in changes.items() if cfg.effect_of(n) == cfg.RESTART and v != getattr(saved, n)}
    if fixed:
        raise ConfigError(fixed)
    finished = epochs_done >= saved.epochs and not in_epoch
    if finished and "epochs" in changes and changes["epochs"] <= epochs_done:
        raise ConfigError({"epochs": f"the run has finished its {epochs_done} epochs; choose "
                                     f"more than {epochs_done} to train it further"})
    EditState(saved).plan(changes, minimum_epochs=min_epochs(epochs_done, in_epoch))
    return {k: v for k, v in changes.items() if v != getattr(saved, k)}
