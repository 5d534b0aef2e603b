"""The rules of hyperparameter edits, on their own (core/edits.py)."""

from __future__ import annotations

import pytest

from core import config as cfg
from core.config import Hyperparameters
from core.edits import EditState, field_problem, min_epochs, resume_edits
from core.errors import ConfigError


def test_plan_groups_changes_by_when_they_take_effect():
    state = EditState(Hyperparameters())
    plan = state.plan({"lr": 0.1, "batch_size": 100, "seed": 7, "momentum": 0.9})
    assert plan == {cfg.LIVE: {"lr": (0.2, 0.1)}, cfg.NEXT_EPOCH: {"batch_size": (50, 100)},
                    cfg.RESTART: {"seed": (1, 7)}}  # momentum unchanged: not in the plan


def test_a_refused_value_decides_nothing_and_names_every_field():
    with pytest.raises(ConfigError) as err:
        EditState().plan({"lr": -1, "batch_size": 0, "momentum": 0.5})
    assert set(err.value.problems) == {"lr", "batch_size"}


def test_waiting_edits_and_an_edit_back_to_the_value_in_force():
    state = EditState().waiting({"hidden": ((100, 50), (32,)), "activation": ("sigmoid", "relu")})
    assert state.target.hidden == (32,) and state.hp.hidden == (100, 50)
    state = state.wait("hidden", (100, 50))
    assert dict(state.pending) == {"activation": "relu"}
    # The next plan compares with what waits, not only with what is in force.
    assert state.plan({"activation": "relu"}) == {}


def test_applied_moves_a_waiting_edit_into_force():
    state = EditState().waiting({"batch_size": (50, 100)})
    state = state.applied(state.due(cfg.NEXT_EPOCH))
    assert state.hp.batch_size == 100 and dict(state.pending) == {}


def test_the_minimum_number_of_epochs():
    assert min_epochs(0, False) == 1 and min_epochs(2, False) == 2 and min_epochs(2, True) == 3
    with pytest.raises(ConfigError, match="already in epoch 3; choose 3 or more"):
        EditState().plan({"epochs": 2}, minimum_epochs=3)
    assert field_problem("epochs", "2", 3) == "the run is already in epoch 3; choose 3 or more"
    assert field_problem("epochs", "3", 3) is None
    assert field_problem("lr", "abc") and field_problem("lr", "0") and field_problem("lr", "0.1") is None


def test_resume_edits_keep_the_network():
    saved = Hyperparameters(epochs=3)
    assert resume_edits(saved, 3, False, {"epochs": 5, "lr": 0.2}) == {"epochs": 5}
    assert resume_edits(saved, 3, False, {"seed": 1}) == {}  # the run's own value: no change
    with pytest.raises(ConfigError) as err:
        resume_edits(saved, 3, False, {"hidden": (10,), "seed": 2})
    assert set(err.value.problems) == {"hidden", "seed"}
    with pytest.raises(ConfigError, match="epochs"):
        resume_edits(saved, 2, True, {"epochs": 2})
