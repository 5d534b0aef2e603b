"""Checkpoints: one dict (model, optimizer, hyperparameters, position, RNG states,
history), written atomically (``core.safewrite``) so a kill at any moment leaves the
previous one readable, and checked field by field when read back (``load`` then
``check``)."""

from __future__ import annotations

import math
import os
import pickle
from pathlib import Path
from typing import Any

from core import safeio
from core.errors import ConfigError, MnistTuiError
from core.safewrite import atomic_write_bytes

FORMAT = "mnist-tui-checkpoint"
VERSION = 1


class CheckpointError(MnistTuiError):
    """A checkpoint or run folder is missing, damaged, or not one of ours."""


def save(state: dict[str, Any], path: str | os.PathLike) -> Path:
    path = Path(path)
    import torch  # here, not at the top: the run folder's other writers need no PyTorch

    atomic_write_bytes(path, lambda f: torch.save(state, f))
    return path


def check_file(path: str | os.PathLike) -> Path:
    """That ``path`` is a whole checkpoint file, without PyTorch: torch.save writes a zip
    archive, so a file cut short or overwritten fails the archive's own checks. (The
    draw command asks this before its screen starts.)"""
    path = Path(path)
    with _open(path) as f:
        _test_archive(f, path)
    return path


def _open(path: Path):
    try:
        return safeio.open_regular(path)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: checkpoint not found") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read ({safeio.why(exc)})") from None


def _test_archive(f, path: Path) -> str:
    """The archive's checks (every member's CRC) on the open file; returns the name of
    its pickle (``.../data.pkl``)."""
    import zipfile

    try:
        with zipfile.ZipFile(f) as archive:
            names = archive.namelist()
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError):
        damaged, names = "", []
    pickles = [n for n in names if n.endswith("data.pkl")]
    if damaged is not None or not pickles:
        raise CheckpointError(f"{path}: not a readable checkpoint (the file is cut short or "
                              f"damaged, or is not a PyTorch checkpoint)")
    return pickles[0]


def load(path: str | os.PathLike, *, archive_tested: bool = False) -> dict[str, Any]:
    """A checkpoint's dict, checked for format and version (``check`` checks the rest).
    The file is opened once: the archive's checks (skipped when ``archive_tested``: the
    dashboard's process has made them, ``peek``), then PyTorch reads it."""
    path = Path(path)
    with _open(path) as f:
        if not archive_tested:
            _test_archive(f, path)
        try:
            import torch

            f.seek(0)
            state = torch.load(f, map_location="cpu", weights_only=True)
        except OSError as exc:
            raise CheckpointError(f"{path}: cannot be read ({safeio.why(exc)})") from None
        except Exception as exc:  # torch raises many kinds for a damaged file
            why = ("it holds objects other than plain data" if "weights_only" in str(exc)
                   else f"{type(exc).__name__} while reading it")
            raise CheckpointError(f"{path}: not a readable checkpoint ({why})") from None
    return _ours(state, path)


def _ours(state: Any, path: Path) -> dict[str, Any]:
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an mnist-tui checkpoint")
    if state.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {state.get('version')!r} is not supported")
    return state


class _Opaque:
    """Whatever a checkpoint's pickle names (a tensor, a storage, an OrderedDict), in
    ``peek``: nothing is imported and nothing is called."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> type:
        return _Opaque

    def persistent_load(self, pid: Any) -> _Opaque:
        return _Opaque()


def peek(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint's plain fields (hyperparameters, position), without PyTorch: for the
    dashboard's process, which never imports it. The file is opened once: the archive's
    checks (``load`` need not make them again), then its pickle read with every object
    it names left opaque (no import, no call). The tensors are checked by ``load`` and
    ``check`` in the training process."""
    import zipfile

    path = Path(path)
    with _open(path) as f:
        name = _test_archive(f, path)
        try:
            with zipfile.ZipFile(f) as archive, archive.open(name) as raw:
                state = _PlainUnpickler(raw).load()
        except Exception:  # a damaged pickle: as torch.load would say
            raise CheckpointError(f"{path}: not a readable checkpoint (its data cannot be "
                                  f"read)") from None
    return _ours(state, path)


# ---------------------------------------------------------------------------- checking

_HISTORY = {"train_seen": int, "train_loss": float, "test_epoch": int, "test_seen": int,
            "test_loss": float, "test_accuracy": float, "edits": dict}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool))


def check(state: dict[str, Any], path: str | os.PathLike, *, n_train: int | None = None):
    """Every field of a loaded checkpoint against the network its hyperparameters
    describe; returns those ``Hyperparameters``. ``n_train`` (the training set the run
    resumes on) also bounds the position within the epoch (``check_position``). Raises
    ``CheckpointError`` naming the file and the field."""
    hp = check_plain(state, path)
    if n_train is not None:
        check_position(state, hp, path, n_train)
    _check_tensors(state, hp, _bad(path))
    return hp


def _bad(path: str | os.PathLike):
    def bad(name: str, why: str) -> CheckpointError:
        return CheckpointError(f"{path}: {name}: {why}")

    return bad


def check_position(state: dict[str, Any], hp: Any, path: str | os.PathLike, n_train: int) -> None:
    """The position within the epoch fits the training set the run resumes on."""
    batches = math.ceil(n_train / hp.batch_size)
    if state["batch_in_epoch"] >= batches:
        raise _bad(path)("batch_in_epoch", f"{state['batch_in_epoch']} is not within an epoch "
                                           f"of {batches} batches")


def check_plain(state: dict[str, Any], path: str | os.PathLike):
    """The fields ``check`` checks without PyTorch (all but the tensors): what ``peek``
    gives can be checked so too. Returns the ``Hyperparameters``."""
    from core.config import FIELD_NAMES, Hyperparameters, effect_of

    bad = _bad(path)
    for key in ("hparams", "model", "optimizer", "epoch", "batch_in_epoch", "step", "seen",
                "tested_initial", "history", "rng"):
        if key not in state:
            raise bad(key, "missing")
    if not isinstance(state["hparams"], dict):
        raise bad("hparams", "not a table of hyperparameters")
    try:
        hp = Hyperparameters.from_dict(state["hparams"])
    except ConfigError as exc:
        raise bad("hparams", str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise bad("hparams", str(exc).splitlines()[0]) from None

    for key in ("epoch", "batch_in_epoch", "step", "seen"):
        if not _is_int(state[key]) or state[key] < 0:
            raise bad(key, f"must be a whole number 0 or more, found {state[key]!r}")
    if state["epoch"] > hp.epochs:
        raise bad("epoch", f"{state['epoch']} is past the run's {hp.epochs} epochs")
    if state["batch_in_epoch"] and state["epoch"] >= hp.epochs:
        raise bad("batch_in_epoch", "a finished run has no epoch in progress")
    if not isinstance(state["tested_initial"], bool):
        raise bad("tested_initial", "must be true or false")
    pending = state.get("pending", {})
    if not isinstance(pending, dict) or any(k not in FIELD_NAMES for k in pending):
        raise bad("pending", "not a table of hyperparameter edits")
    try:
        hp.with_changes(**{k: tuple(v) if isinstance(v, list) else v for k, v in pending.items()})
    except (ConfigError, TypeError) as exc:
        raise bad("pending", str(exc)) from None
    if any(effect_of(k) == "live" for k in pending):
        raise bad("pending", "holds an edit that takes effect at once")

    _check_history(state["history"], bad)
    return hp


def _check_history(history: Any, bad) -> None:
    """The plotted history: its fields, their types, the lists' lengths."""
    if not isinstance(history, dict) or set(history) != set(_HISTORY):
        raise bad("history", f"must have exactly the fields {', '.join(_HISTORY)}")
    for key, kind in _HISTORY.items():
        values = history[key]
        ok = {int: _is_int, float: _is_number, dict: lambda v: isinstance(v, dict)}[kind]
        if not isinstance(values, list) or not all(ok(v) for v in values):
            raise bad(f"history.{key}", f"must be a list of {kind.__name__} values")
    if len(history["train_seen"]) != len(history["train_loss"]):
        raise bad("history", "train_seen and train_loss differ in length")
    tests = [len(history[k]) for k in ("test_epoch", "test_seen", "test_loss", "test_accuracy")]
    if len(set(tests)) != 1:
        raise bad("history", "the test lists differ in length")


def _check_tensors(state: dict[str, Any], hp: Any, bad) -> None:
    """The RNG state, the weights (shapes of the network ``hp`` describes) and the
    optimizer's state."""
    import torch

    from core.network import build_model

    rng = state["rng"]
    expected = torch.get_rng_state()
    if (not isinstance(rng, dict) or not isinstance(rng.get("torch"), torch.Tensor)
            or rng["torch"].dtype != expected.dtype or rng["torch"].shape != expected.shape):
        raise bad("rng.torch", f"must be a {expected.numel()}-byte random generator state")

    model = state["model"]
    want = {k: tuple(v.shape) for k, v in build_model(hp).state_dict().items()}
    if not isinstance(model, dict) or set(model) != set(want):
        raise bad("model", f"does not hold the weights of a {hp.architecture()} network")
    for k, shape in want.items():
        v = model[k]
        if not isinstance(v, torch.Tensor) or tuple(v.shape) != shape or not v.is_floating_point():
            got = tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
            raise bad(f"model.{k}", f"expected a tensor of shape {shape} for "
                                    f"{hp.architecture()}, found {got}")
        if not bool(torch.isfinite(v).all()):
            raise bad(f"model.{k}", "holds NaN or infinite values (the run had diverged)")
    opt = state["optimizer"]
    if not isinstance(opt, dict) or not isinstance(opt.get("param_groups"), list) \
            or not isinstance(opt.get("state"), dict):
        raise bad("optimizer", "not an optimizer state")
    sched = state.get("scheduler")  # absent in checkpoints from before the schedule
    if sched is not None and (not isinstance(sched, dict)
                              or not _is_int(sched.get("last_epoch"))
                              or not _is_number(sched.get("gamma"))):
        raise bad("scheduler", "not a learning-rate schedule's state")
    _check_optimizer(opt, hp, bad)


#: the per-parameter buffers each optimizer keeps (Adam's max_exp_avg_sq: with amsgrad)
OPTIMIZER_BUFFERS = {"sgd": {"momentum_buffer"},
                     "adam": {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
                     "adadelta": {"step", "square_avg", "acc_delta"}}
#: the settings a saved group of each optimizer must hold (others a PyTorch version adds
#: are filled in with their defaults when it is loaded)
OPTIMIZER_SETTINGS = {"sgd": {"params", "lr", "momentum", "dampening", "weight_decay", "nesterov"},
                      "adam": {"params", "lr", "betas", "eps", "weight_decay", "amsgrad"},
                      "adadelta": {"params", "lr", "rho", "eps", "weight_decay"}}


def _check_optimizer(opt: dict[str, Any], hp: Any, bad) -> None:
    """The optimizer's state is one of the kind ``hp`` names, for the network it
    describes: its settings of the types that optimizer keeps (finite, not negative),
    every buffer a finite tensor of its parameter's shape. (``load_state_dict`` checks
    little of this; the first training step would fail, or train on NaN.)"""
    import torch

    from core.network import build_model, build_optimizer

    model = build_model(hp)
    shapes = [tuple(p.shape) for p in model.parameters()]
    want = build_optimizer(model, hp).state_dict()["param_groups"]
    kind = f"{_AN.get(hp.optimizer, hp.optimizer)} optimizer for {hp.architecture()}"
    groups = opt["param_groups"]
    if len(groups) != len(want) or not all(isinstance(g, dict) for g in groups):
        raise bad("optimizer.param_groups", f"not those of {kind}")
    for got, default in zip(groups, want):
        for key in sorted(OPTIMIZER_SETTINGS.get(hp.optimizer, set()) - set(got)):
            raise bad(f"optimizer.param_groups.{key}", f"missing: not the state of {kind}")
        for key, value in default.items():
            name = f"optimizer.param_groups.{key}"
            if key not in got:
                continue
            v = got[key]
            if key == "params":
                if v != list(range(len(shapes))):
                    raise bad(name, f"{_short(v)} are not the {len(shapes)} parameters of "
                                    f"{hp.architecture()}")
                continue
            elif value is None:
                ok = v is None or isinstance(v, bool)
            elif isinstance(value, bool):
                ok = isinstance(v, bool)
            elif isinstance(value, (int, float)):
                ok = _is_number(v) and math.isfinite(v) and v >= 0
            elif isinstance(value, (tuple, list)):
                ok = (isinstance(v, (tuple, list)) and len(v) == len(value)
                      and all(_is_number(x) and math.isfinite(x) and x >= 0 for x in v))
            else:
                ok = type(v) is type(value)
            if not ok:
                raise bad(name, f"{_short(v)} is not a setting of {kind}")
    allowed = OPTIMIZER_BUFFERS.get(hp.optimizer, set())
    for index, buffers in opt["state"].items():
        if not _is_int(index) or not 0 <= index < len(shapes) or not isinstance(buffers, dict):
            raise bad("optimizer.state", f"not the state of {kind}")
        for key, v in buffers.items():
            name = f"optimizer.state.{index}.{key}"
            if key not in allowed:
                raise bad(name, f"not a buffer of {kind}")
            if v is None and key == "momentum_buffer":
                continue
            shape = () if key == "step" else shapes[index]
            if (not isinstance(v, torch.Tensor) or not v.is_floating_point()
                    or (tuple(v.shape) != shape and not (key == "step" and v.numel() == 1))):
                got = tuple(v.shape) if isinstance(v, torch.Tensor) else _short(v)
                raise bad(name, f"expected a tensor of shape {shape}, found {got}")
            if not bool(torch.isfinite(v).all()):
                raise bad(name, "holds NaN or infinite values (the run had diverged)")


_AN = {"sgd": "an SGD", "adam": "an Adam", "adadelta": "an Adadelta"}


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."
