from __future__ import annotations

import pytest

from core import config as cfg
from core.config import Hyperparameters, parse_field
from core.errors import ConfigError


def test_defaults_are_the_tutorials():
    hp = Hyperparameters()
    assert (hp.lr, hp.momentum, hp.batch_size, hp.test_batch_size, hp.epochs, hp.seed) == \
        (0.2, 0.9, 50, 1000, 25, 1)
    assert hp.hidden == (100, 50) and hp.activation == "sigmoid" and hp.optimizer == "sgd"
    assert hp.architecture() == "784-100-50-10 sigmoid"
    assert hp.problems() == {}


def test_validate_reports_every_bad_field():
    hp = Hyperparameters(lr=0, momentum=1.0, batch_size=0, test_batch_size=-1, epochs=0,
                         seed=-1, hidden=(0,), activation="gelu", optimizer="lbfgs",
                         model="resnet", lr_step_gamma=1.5)
    with pytest.raises(ConfigError) as info:
        hp.validate()
    assert set(info.value.problems) == set(cfg.FIELD_NAMES)
    assert "lr: must be greater than 0" in str(info.value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "0.1", True])
def test_lr_must_be_a_finite_number(value):
    assert "lr" in Hyperparameters(lr=value).problems()


def test_effects():
    assert [cfg.effect_of(n) for n in ("lr", "momentum", "epochs")] == [cfg.LIVE] * 3
    assert cfg.effect_of("batch_size") == cfg.NEXT_EPOCH
    assert {cfg.effect_of(n) for n in ("hidden", "activation", "seed", "optimizer", "model")} \
        == {cfg.RESTART}
    assert cfg.effect_of("lr_step_gamma") == cfg.LIVE  # used at the end of the epoch


def test_cnn_defaults_are_the_examples():
    hp = Hyperparameters.defaults("cnn")
    assert (hp.model, hp.optimizer, hp.lr, hp.lr_step_gamma, hp.batch_size, hp.epochs) == \
        ("cnn", "adadelta", 1.0, 0.7, 64, 14)
    assert hp.problems() == {} and Hyperparameters.defaults("mlp") == Hyperparameters()
    assert "hidden" not in hp.fields_that_matter()
    assert "model" not in Hyperparameters().fields_that_matter()
    assert Hyperparameters.from_dict({k: v for k, v in Hyperparameters().to_dict().items()
                                      if k not in ("model", "lr_step_gamma")}) == Hyperparameters()


def test_parse_field():
    assert parse_field("lr", " 0.05 ") == 0.05
    assert parse_field("batch_size", "64") == 64
    assert parse_field("hidden", "128, 64,32") == (128, 64, 32)
    assert parse_field("hidden", "") == ()
    assert parse_field("activation", "ReLU") == "relu"
    with pytest.raises(ConfigError, match="batch_size: 'ten' is not a whole number"):
        parse_field("batch_size", "ten")
    with pytest.raises(ConfigError, match="hidden"):
        parse_field("hidden", "100,x")
    # An empty field (the form's number fields leave letters out: "abc" typed is "")
    # says so, not "'' is not a number".
    with pytest.raises(ConfigError, match="^lr: empty: enter a number$"):
        parse_field("lr", "  ")
    with pytest.raises(ConfigError, match="^epochs: empty: enter a whole number$"):
        parse_field("epochs", "")


def test_dict_round_trip():
    hp = Hyperparameters(hidden=(10, 20), lr=0.01)
    assert Hyperparameters.from_dict(hp.to_dict()) == hp
    with pytest.raises(ConfigError, match="no such hyperparameter"):
        Hyperparameters.from_dict({"lrr": 1})
    with pytest.raises(ConfigError, match="no such hyperparameter"):
        hp.with_changes(colour="red")
