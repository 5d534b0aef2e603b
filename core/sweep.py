"""Hyperparameter sweeps on Optuna (no UI here): the search space, the study, and the
trials, each one a normal run.

- ``parse_search(["lr=log:0.001:1", ...])`` turns ``--search`` specs into ``Dimension``s
  over any ``Hyperparameters`` field; a bad spec is one ``SearchSpecError`` line.
- ``open_study(spec)`` creates or loads the study: by default Optuna's journal file
  storage in the sweep's folder (several local processes share it safely), or any
  storage URL Optuna accepts (``postgresql://...``: several machines).
- ``work(spec, claim, stop, emit)`` is one worker: while ``claim()`` grants a trial, it
  asks the study for one, trains it as a run folder ``<root>/trial-NNNN`` through
  ``core.session.open_session`` and reports its test accuracy after every epoch (the
  median pruner may stop it: the folder ends ``pruned``), then tells the study how it
  ended. The objective is the run's best test accuracy, ``RunFinished.best_accuracy``
  (the ``Max Accuracy is`` value). ``worker_main`` runs ``work`` in its own process.

Trial states as the sweep shows them: running, complete, pruned, failed (diverged, or
the run could not start), stopped (a signal or the user stopped it; told to Optuna as
FAIL with the user attribute ``status``: "stopped", so the study stays consistent).
"""

from __future__ import annotations

import math
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.config import FIELD_NAMES, Hyperparameters, parse_field
from core.errors import ConfigError, MnistTuiError
from core.session import RunSpec

#: without --search: a space around the tutorial's values (lr 0.2, momentum 0.9, batch 50)
DEFAULT_SEARCH = ("lr=log:0.01:1", "momentum=0.5:0.99", "batch_size=choice:25,50,100")
JOURNAL = "study.journal"          # the embedded storage, in the sweep's folder
TRIAL_DIR = "trial-{:04d}"
STATES = ("running", "complete", "pruned", "failed", "stopped")
#: median pruner: prune only once this many trials have completed
PRUNER_STARTUP_TRIALS = 3
IMPORTANCE_MIN_TRIALS = 5          # complete trials before parameter importance is shown


class SearchSpecError(MnistTuiError):
    """A --search spec that cannot be used (exit 2)."""


class StorageError(MnistTuiError):
    """The study's storage cannot be opened (a bad URL, a server that does not answer)."""


# --------------------------------------------------------------------- the search space

@dataclass(frozen=True)
class Dimension:
    """One searched hyperparameter: ``kind`` float, int or choice. Choices are kept as
    the text a user types (``100,50`` for hidden), which Optuna stores as strings."""

    name: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    choices: tuple[str, ...] = ()

    def distribution(self):
        from optuna.distributions import (
            CategoricalDistribution, FloatDistribution, IntDistribution,
        )

        if self.kind == "choice":
            return CategoricalDistribution(list(self.choices))
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        return FloatDistribution(float(self.low), float(self.high), log=self.log)

    def value(self, raw: Any) -> Any:
        """The field's value for what Optuna suggested."""
        return parse_field(self.name, raw) if self.kind == "choice" else raw

    def __str__(self) -> str:
        if self.kind == "choice":
            sep = "|" if _is_list(self.name) else ","
            return f"{self.name}=choice:{sep.join(self.choices)}"
        return f"{self.name}={'log:' if self.log else ''}{'int:' if self.kind == 'int' else ''}" \
               f"{self.low:g}:{self.high:g}"


def _is_list(name: str) -> bool:
    return "tuple" in str(Hyperparameters.__dataclass_fields__[name].type)


def _field_kind(name: str) -> str:
    return str(Hyperparameters.__dataclass_fields__[name].type)


def _check_value(name: str, value: Any, spec: str) -> None:
    why = replace(Hyperparameters(), **{name: value}).problems().get(name)
    if why:
        raise SearchSpecError(f"--search {spec}: {name} {why}")


def parse_spec(text: str) -> Dimension:
    """``NAME=[log:][int:]LOW:HIGH`` or ``NAME=choice:A,B,C`` (``|`` between choices of
    a list field: ``hidden=choice:100,50|200``); each value checked as the field's."""
    name, eq, rest = text.partition("=")
    name = name.strip().replace("-", "_")
    if not eq or not rest:
        raise SearchSpecError(f"--search {text!r}: expected NAME=SPEC, e.g. lr=log:0.001:1")
    if name not in FIELD_NAMES:
        raise SearchSpecError(f"--search {text}: no hyperparameter {name!r} "
                              f"(one of {', '.join(FIELD_NAMES)})")
    if rest.startswith("choice:"):
        sep = "|" if _is_list(name) else ","
        choices = tuple(c.strip() for c in rest[len("choice:"):].split(sep))
        if not all(choices):
            raise SearchSpecError(f"--search {text}: an empty choice")
        if len(set(choices)) != len(choices):
            raise SearchSpecError(f"--search {text}: a choice given twice")
        for c in choices:
            try:
                value = parse_field(name, c)
            except ConfigError as exc:
                raise SearchSpecError(f"--search {text}: {exc.problems[name]}") from None
            _check_value(name, value, text)
        return Dimension(name, "choice", choices=choices)
    parts = rest.split(":")
    log = parts[:1] == ["log"]
    parts = parts[1:] if log else parts
    forced_int = parts[:1] == ["int"]
    parts = parts[1:] if forced_int else parts
    kind = _field_kind(name)
    if kind not in ("int", "float"):
        raise SearchSpecError(f"--search {text}: {name} takes choices only, e.g. "
                              f"{name}=choice:{'100,50|200' if _is_list(name) else 'a,b'}")
    if forced_int and kind != "int":
        raise SearchSpecError(f"--search {text}: {name} is not a whole number; drop 'int:'")
    if len(parts) != 2:
        raise SearchSpecError(f"--search {text}: expected LOW:HIGH after the name "
                              f"(e.g. {name}={'int:16:256' if kind == 'int' else 'log:0.001:1'})")
    try:
        low, high = ((int(p) for p in parts) if kind == "int" else (float(p) for p in parts))
    except ValueError:
        raise SearchSpecError(f"--search {text}: {':'.join(parts)} are not "
                              f"{'whole numbers' if kind == 'int' else 'numbers'}") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise SearchSpecError(f"--search {text}: LOW must be at most HIGH")
    if log and low <= 0:
        raise SearchSpecError(f"--search {text}: a log scale needs LOW above 0")
    for v in (low, high):
        _check_value(name, v, text)
    return Dimension(name, kind, low, high, log)


def parse_search(specs: list[str] | tuple[str, ...] | None) -> tuple[Dimension, ...]:
    """The space from --search specs (``DEFAULT_SEARCH`` when none); a name given twice
    is refused."""
    dims = tuple(parse_spec(s) for s in (specs or DEFAULT_SEARCH))
    seen: set[str] = set()
    for d in dims:
        if d.name in seen:
            raise SearchSpecError(f"--search {d.name}: given twice")
        seen.add(d.name)
    return dims


def check_against_study(space: tuple[Dimension, ...], study) -> None:
    """Optuna refuses a parameter whose kind, scale or choices changed within a study:
    say so once, before any trial starts."""
    from optuna.distributions import check_distribution_compatibility

    known: dict[str, Any] = {}
    for t in study.get_trials(deepcopy=False):
        known.update(t.distributions)
    for d in space:
        if d.name in known:
            try:
                check_distribution_compatibility(known[d.name], d.distribution())
            except ValueError:
                raise SearchSpecError(
                    f"--search {d}: study {study.study_name!r} searched {d.name} differently "
                    f"({_describe(known[d.name])}); keep that or use another --study") from None


def _describe(dist) -> str:
    choices = getattr(dist, "choices", None)
    if choices is not None:
        return "choice:" + ",".join(str(c) for c in choices)
    return f"{'log ' if dist.log else ''}{dist.low:g}:{dist.high:g}"


# --------------------------------------------------------------------------- the study

@dataclass(frozen=True)
class SweepSpec:
    """A sweep: its study, where trials' folders go, what is searched, and the run
    flags every trial shares (``base``: hyperparameters, dataset, limits, device)."""

    study: str
    root: str                       # the sweep's folder: runs/<study>
    space: tuple[Dimension, ...]
    base: RunSpec = field(default_factory=RunSpec)
    storage: str | None = None      # None: the journal file in root
    prune: bool = True
    threads: int | None = None      # torch threads per worker process


def storage_url(spec: SweepSpec) -> str:
    return spec.storage or str(Path(spec.root) / JOURNAL)


def _storage(spec: SweepSpec):
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    if spec.storage is None:
        Path(spec.root).mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(Path(spec.root) / JOURNAL)))
    for attempt in range(3):
        try:
            return optuna.storages.RDBStorage(_driver(spec.storage))
        except ImportError:
            raise StorageError(f"--storage {_redact(spec.storage)}: no database driver for it; "
                               f"for PostgreSQL: pip install 'mnist-tui[postgres]'") from None
        except Exception as exc:  # noqa: BLE001 - sqlalchemy's errors for a URL or a server
            # Two machines starting on an empty database both create Optuna's tables; the
            # one that loses the race finds them there on its next attempt.
            if attempt == 2 or not any(w in str(exc) for w in ("duplicate key", "already exists")):
                raise StorageError(f"--storage {_redact(spec.storage)}: cannot be opened "
                                   f"({_first_line(exc)})") from None
    raise AssertionError("unreachable")


def _driver(url: str) -> str:
    """SQLAlchemy 2.1 reads ``postgresql://`` as psycopg 3; the ``postgres`` extra
    installs psycopg2-binary (wheels everywhere), so a bare URL uses whichever is there."""
    import importlib.util

    scheme, sep, rest = url.partition("://")
    if scheme in ("postgresql", "postgres") and sep and importlib.util.find_spec("psycopg") is None \
            and importlib.util.find_spec("psycopg2") is not None:
        return f"postgresql+psycopg2://{rest}"
    return url


def _redact(url: str) -> str:
    """A URL without its password (it is printed)."""
    head, at, tail = url.rpartition("@")
    if not at or "://" not in head:
        return url
    scheme, _, cred = head.partition("://")
    user = cred.split(":", 1)[0]
    return f"{scheme}://{user}:***@{tail}" if ":" in cred else url


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def quiet_optuna() -> None:
    """Optuna logs every trial to stderr; the sweep prints its own lines."""
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def open_study(spec: SweepSpec):
    """The study named ``spec.study`` (created when new; continued otherwise)."""
    import optuna

    quiet_optuna()
    storage = _storage(spec)
    sampler = optuna.samplers.TPESampler(constant_liar=True)  # several trials at once
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=PRUNER_STARTUP_TRIALS)
              if spec.prune else optuna.pruners.NopPruner())
    try:
        return optuna.create_study(study_name=spec.study, storage=storage, sampler=sampler,
                                   pruner=pruner, direction="maximize", load_if_exists=True)
    except Exception as exc:  # noqa: BLE001 - a server gone between two calls
        raise StorageError(f"study {spec.study!r} in {_redact(storage_url(spec))}: "
                           f"{_first_line(exc)}") from None


# --------------------------------------------------------------------------- trials

@dataclass
class TrialRow:
    """One trial as the sweep shows it (from the study's storage)."""

    number: int
    state: str                       # one of STATES
    params: dict[str, Any]           # name -> the field's value
    epoch: int = 0                   # the last epoch reported
    best_accuracy: float | None = None
    run_dir: str | None = None
    host: str | None = None
    reason: str = ""
    run: dict[str, Any] | None = None  # run_settings: what it was trained with

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["params"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.params.items()}
        return d


def trial_row(t) -> TrialRow:
    """A FrozenTrial as a TrialRow: the state we show, the best accuracy so far."""
    from optuna.trial import TrialState

    attrs = t.user_attrs
    state = {TrialState.RUNNING: "running", TrialState.WAITING: "running",
             TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned"}.get(
        t.state, attrs.get("status", "failed"))
    params = {}
    for k, v in t.params.items():
        try:
            params[k] = parse_field(k, v) if isinstance(v, str) else v
        except ConfigError:
            params[k] = v
    inter = t.intermediate_values
    best = attrs.get("best_accuracy")
    if best is None and inter:
        best = max(inter.values())
    if t.state == TrialState.COMPLETE:
        best = t.value
    return TrialRow(t.number, state, params, epoch=max(inter, default=attrs.get("epoch", 0)),
                    best_accuracy=best, run_dir=attrs.get("run_dir"), host=attrs.get("host"),
                    reason=attrs.get("reason", ""), run=attrs.get("run"))


def trial_rows(study) -> list[TrialRow]:
    return [trial_row(t) for t in study.get_trials(deepcopy=False)]


def best_row(rows: list[TrialRow]) -> TrialRow | None:
    """The complete trial with the highest best accuracy (the first such, as History.best)."""
    done = [r for r in rows if r.state == "complete" and r.best_accuracy is not None]
    return max(done, key=lambda r: (r.best_accuracy, -r.number)) if done else None


def importance(study) -> dict[str, float]:
    """Optuna's parameter importance (its default evaluator) once enough trials have
    completed; empty before, or when it cannot be computed."""
    import optuna
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < IMPORTANCE_MIN_TRIALS:
        return {}
    try:
        return dict(optuna.importance.get_param_importances(study))
    except (ValueError, RuntimeError, ZeroDivisionError):
        return {}


@dataclass(frozen=True)
class Outcome:
    """How one trial's run ended."""

    state: str               # complete, pruned, failed, stopped
    epoch: int
    best_accuracy: float | None
    reason: str = ""


def run_trial(session, report: Callable[[float, int], bool],
              stop: Callable[[], str | None]) -> Outcome:
    """Drive a trial's session to its end, recording every event in its folder (as a
    headless run does). ``report(accuracy, epoch)`` after each epoch's test returns
    True to prune; ``stop()`` returns a reason (a signal's name) to stop."""
    from core.events import RunFinished, TestEnd

    run = session.run
    for ev in session.events():
        session.record(ev)
        if isinstance(ev, RunFinished):
            if ev.status == "finished":
                return Outcome("complete", ev.epochs_done, ev.best_accuracy)
            return Outcome("failed", ev.epochs_done, ev.best_accuracy if ev.best_epoch >= 0
                           else None, "diverged: the loss is no longer a finite number")
        if isinstance(ev, TestEnd) and ev.epoch > 0 and report(ev.accuracy, ev.epoch):
            session.end("pruned")
            return Outcome("pruned", ev.epoch, run.history.best[0])
        why = stop()
        if why:
            session.save()
            session.end("interrupted", signal=why)
            best = run.history.best
            return Outcome("stopped", run.epoch, best[0] if best[1] >= 0 else None, why)
    return Outcome("stopped", run.epoch, None, "the run ended early")


def run_settings(spec: RunSpec) -> dict[str, Any]:
    """What a trial was trained with: its hyperparameters and run flags."""
    return {"hparams": spec.hparams.to_dict(), "dataset": spec.dataset, "data_dir": spec.data_dir,
            "limit_train": spec.limit_train, "limit_test": spec.limit_test, "device": spec.device}


def _trial_spec(spec: SweepSpec, params: dict[str, Any], run_dir: Path) -> RunSpec:
    hp = spec.base.hparams.with_changes(**params)
    return replace(spec.base, hparams=hp, run_dir=str(run_dir), resume=None, overwrite=False)


def one_trial(spec: SweepSpec, study, stop: Callable[[], str | None],
              emit: Callable[[tuple], None]) -> TrialRow:
    """Ask the study for a trial, train it, tell the study how it ended."""
    from optuna.trial import TrialState

    from core.session import open_session

    trial = study.ask({d.name: d.distribution() for d in spec.space})
    run_dir = (Path(spec.root) / TRIAL_DIR.format(trial.number)).resolve()
    trial.set_user_attr("run_dir", str(run_dir))
    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("worker", os.getpid())
    params = {d.name: d.value(trial.params[d.name]) for d in spec.space}
    emit(("started", trial.number, str(run_dir)))
    session = None
    try:
        try:
            trial_spec = _trial_spec(spec, params, run_dir)
            trial.set_user_attr("run", run_settings(trial_spec))  # to train it again
            session = open_session(trial_spec)
        except (MnistTuiError, ConfigError) as exc:
            outcome = Outcome("failed", 0, None, str(exc))
            if not isinstance(exc, ConfigError):
                emit(("fatal", str(exc), exc.exit_code))  # the data, the folder: every trial would
        else:
            def report(accuracy: float, epoch: int) -> bool:
                trial.report(accuracy, epoch)
                return spec.prune and trial.should_prune()

            outcome = run_trial(session, report, stop)
    except BaseException:
        study.tell(trial, state=TrialState.FAIL)
        raise
    finally:
        if session is not None:
            session.close()
    for key, value in (("status", outcome.state), ("epoch", outcome.epoch),
                       ("best_accuracy", outcome.best_accuracy), ("reason", outcome.reason)):
        trial.set_user_attr(key, value)
    if outcome.state == "complete":
        study.tell(trial, outcome.best_accuracy)
    elif outcome.state == "pruned":
        study.tell(trial, state=TrialState.PRUNED)
    else:
        study.tell(trial, state=TrialState.FAIL)
    row = TrialRow(trial.number, outcome.state, params, outcome.epoch, outcome.best_accuracy,
        str(run_dir), socket.gethostname(), outcome.reason, trial.user_attrs.get("run"))
    emit(("finished", row.to_dict()))
    return row


def work(spec: SweepSpec, claim: Callable[[], bool], stop: Callable[[], str | None],
         emit: Callable[[tuple], None]) -> None:
    """Run trials while ``claim()`` grants one and nothing asked to stop."""
    if spec.threads:
        # Each trial's Run sets its threads (core.network.configure_cpu_threads), from
        # this when given: a worker's share of the cores, whatever the model.
        os.environ["MNIST_TUI_THREADS"] = str(spec.threads)
    study = open_study(spec)
    while not stop() and claim():
        one_trial(spec, study, stop, emit)


def worker_main(spec: SweepSpec, slots, stop_event, queue, log: str | None = None) -> None:
    """A worker process (``--jobs``): trials from the shared ``slots`` count until none
    is left or ``stop_event`` is set; SIGINT, SIGTERM and SIGHUP stop it cleanly (the
    running trial ends ``stopped``); messages go to the parent over ``queue``. With
    ``log``, its stdout and stderr go to that file (the terminal is the dashboard's)."""
    got: list[str] = []
    if log:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)

    def on_signal(signum, frame):  # noqa: ARG001
        got.append(signal.Signals(signum).name)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if sig == signal.SIGHUP and signal.getsignal(sig) == signal.SIG_IGN:
            continue  # nohup
        signal.signal(sig, on_signal)

    def stop() -> str | None:
        if got:
            return got[0]
        return "stopped by the sweep" if stop_event.is_set() else None

    def claim() -> bool:
        with slots.get_lock():
            if slots.value <= 0:
                return False
            slots.value -= 1
            return True

    try:
        work(spec, claim, stop, queue.put)
    except MnistTuiError as exc:
        queue.put(("fatal", str(exc), exc.exit_code))
    except Exception as exc:  # noqa: BLE001 - told to the parent, which prints one line
        queue.put(("fatal", f"worker {os.getpid()}: {type(exc).__name__}: {_first_line(exc)}", 1))


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class Workers:
    """``jobs`` worker processes (spawned: fresh interpreters, whatever threads the
    parent runs) sharing ``trials`` trials, the cores divided between them
    (``torch.set_num_threads``). ``messages()`` gives what they report; ``stop()`` asks
    them to end their running trials as ``stopped``."""

    def __init__(self, spec: SweepSpec, trials: int, jobs: int, log: str | None = None):
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        jobs = max(1, min(jobs, trials))
        self.spec = replace(spec, threads=spec.threads or max(1, cores() // jobs))
        self.slots = ctx.Value("i", trials)
        self.stop_event = ctx.Event()
        self.queue = ctx.Queue()
        self.procs = [ctx.Process(target=worker_main, name=f"mnist-tui sweep worker {i + 1}",
                                  args=(self.spec, self.slots, self.stop_event, self.queue, log))
                      for i in range(jobs)]

    def start(self) -> None:
        # A Ctrl+C while a worker starts up would be a traceback there: the workers start
        # with SIGINT ignored and install their own handler first thing.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for p in self.procs:
                p.start()
        finally:
            signal.signal(signal.SIGINT, previous)

    def stop(self) -> None:
        self.stop_event.set()

    def alive(self) -> bool:
        return any(p.is_alive() for p in self.procs)

    def messages(self, timeout: float) -> list[tuple]:
        """What the workers reported, waiting up to ``timeout`` for the first."""
        import queue as queue_mod

        out = []
        try:
            out.append(self.queue.get(timeout=timeout))
            while True:
                out.append(self.queue.get_nowait())
        except queue_mod.Empty:
            pass
        return out

    def join(self, timeout: float | None = None) -> None:
        for p in self.procs:
            p.join(timeout)
