"""Setting up a run, once for every front end: what to train (``RunSpec``) and
``open_session(spec)``, which takes the run folder, loads the data, builds the ``Run``
(or restores it from a checkpoint, every field checked) and returns a ``Session`` that
records the run's events into its folder. Headless runs and the dashboard's training
process both start here."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core import checkpoint
from core.config import Hyperparameters
from core.edits import resume_edits
from core.errors import RunFolderError
from core.metrics import best_test, read_rows
from core.runfolder import LAST, LOCK, RunFolder, check_folder, default_run_dir, read_config
from core.safewrite import write_error

HARDEST = 16  # hardest test examples kept with each test (for the views and test-last.json)


@dataclass(frozen=True)
class Resumed:
    """What reading a run folder to resume it learned, read and checked once and passed
    along (``RunSpec.resumed``), so that no later step reads it again.

    ``read_resume(folder)`` loads everything (headless: one process); ``read_resume(folder,
    load=False)`` reads config.json and only the plain fields of the checkpoint, without
    PyTorch (the dashboard's process, which shows ``hparams`` from its first frame); the
    training process then loads the checkpoint and the metrics (``loaded``)."""

    folder: str
    config: dict[str, Any]
    hparams: Hyperparameters       # the checkpoint's: the run's edits included
    epoch: int                     # epochs done, and a batch in the next one (0: none)
    batch_in_epoch: int
    state: dict[str, Any] | None = None      # the checkpoint, loaded and checked
    rows: list[dict[str, Any]] | None = None  # metrics.jsonl's rows

    @property
    def checkpoint(self) -> Path:
        return Path(self.folder) / LAST

    def loaded(self) -> "Resumed":
        """With the checkpoint (its archive already tested) and the metrics read."""
        if self.state is not None:
            return self
        state = checkpoint.load(self.checkpoint, archive_tested=True)
        return _resumed(self.folder, self.config, state, checkpoint.check(state, self.checkpoint))


def read_resume(run_dir: str, *, load: bool = True) -> Resumed:
    """A run folder to resume, every field checked (``CheckpointError`` naming the file
    and the field): config.json, the checkpoint and the metrics, each read once;
    ``load=False``: the checkpoint's plain fields only, without PyTorch, and no metrics."""
    config = read_config(run_dir)
    last = Path(run_dir) / LAST
    if not load:
        state = checkpoint.peek(last)
        hp = checkpoint.check_plain(state, last)
        return Resumed(str(run_dir), config, hp, state["epoch"], state["batch_in_epoch"])
    state = checkpoint.load(last)
    return _resumed(str(run_dir), config, state, checkpoint.check(state, last))


def _resumed(folder: str, config: dict[str, Any], state: dict[str, Any],
             hp: Hyperparameters) -> Resumed:
    rows, _ = read_rows(folder)  # a metrics file that cannot be read at all is one line too
    return Resumed(folder, config, hp, state["epoch"], state["batch_in_epoch"], state, rows)


@dataclass(frozen=True)
class RunSpec:
    """What to train, on what, and where its folder is."""

    hparams: Hyperparameters = field(default_factory=Hyperparameters)
    dataset: str = "mnist"
    data_dir: str | None = None
    device: str = "auto"
    limit_train: int | None = None
    limit_test: int | None = None
    run_dir: str | None = None
    hardest: int = HARDEST
    allow_download: bool = True
    resume: str | None = None      # a run folder to continue (its checkpoint-last.pt)
    resume_changes: dict[str, Any] = field(default_factory=dict)  # edits made on resuming
    overwrite: bool = False        # replace a run already in run_dir
    # ``resume`` as read already (``read_resume``); None: open_session reads it
    resumed: Resumed | None = field(default=None, compare=False, repr=False)

    def placed(self) -> "RunSpec":
        """With its run folder decided: ``run_dir``, else the folder resumed, else a new
        ``runs/<time>`` (decided once: a second call would name another second)."""
        if self.run_dir:
            return self
        return replace(self, run_dir=str(self.resume or default_run_dir()))


def check_writable(folder: Path) -> None:
    """Before the first write of a resume: nothing but regular files where the run's
    files go (``check_folder``: a folder, named pipe or link there is refused now, not
    after the folder was half rewritten), and the folder can be written (``WriteError``:
    read-only, permissions, as a write would say). Nothing is changed."""
    check_folder(folder)
    if os.path.isdir(folder) and not os.access(folder, os.W_OK | os.X_OK):
        try:
            read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
        except OSError:
            read_only = False
        cause = OSError(errno.EROFS if read_only else errno.EACCES, "")
        raise write_error(folder, cause)  # WriteError, exit 74


class Session:
    """A run and its folder. ``record(ev)`` logs each event the run yields (and
    checkpoints after each test); ``apply`` edits; ``save`` writes checkpoint-last.pt.
    Write failures raise ``WriteError`` and leave the run as it was."""

    def __init__(self, spec: RunSpec, run: Any, folder: RunFolder, data: Any, resumed: bool):
        self.spec, self.run, self.folder, self.data = spec, run, folder, data
        self.resumed = resumed
        self.pending_edits: dict[str, Any] = {}  # edits given with --resume, applied at start
        self.past: list[dict[str, Any]] = []     # a resumed run's metrics rows, its picture so far

    @property
    def path(self) -> Path:
        return self.folder.path

    def events(self):
        return self.run.events()

    def record(self, ev: Any) -> dict[str, Any] | None:
        """Log an event in the folder (its metrics row, returned; a checkpoint after a
        test, the summary at the end)."""
        from core.events import RunFinished, TestEnd

        row = self.folder.record(ev)
        if isinstance(ev, TestEnd) and (ev.epoch > 0 or self.run.step == 0):
            # The initial test of a resumed run happens only on a run never tested.
            self.folder.after_test(self.run.state_dict(), ev.accuracy)
        elif isinstance(ev, RunFinished):
            self._summarise()
        return row

    def end(self, status: str, **detail: Any) -> None:
        """The run stops before it finished (a signal, the output gone, the dashboard
        quit): its end row says why."""
        self.folder.end(status, epoch=self.run.epoch, **detail)
        self._summarise()

    def _summarise(self) -> None:
        from core.runs import write_summary  # what `mnist-tui runs` lists; never raises

        write_summary(self.path)

    def apply(self, **changes: Any) -> list:
        """A validated edit (``ConfigError``, nothing changed, otherwise): its events,
        already logged in the folder."""
        events = self.run.apply(**changes)
        for ev in events:
            self.folder.record(ev)
        return events

    def save(self) -> Path:
        return self.folder.save(self.run.state_dict())

    def close(self) -> None:
        self.folder.close()


def _check_resume_target(spec: RunSpec, target: Path, forked: bool) -> None:
    """The folder a resume will write: refused (a link or a pipe there named first, a
    fork over another run) before anything is written."""
    check_writable(target)
    if forked:
        from core.runfolder import holds_run

        if holds_run(target) and not spec.overwrite:
            raise RunFolderError(
                f"{target}: already holds a run; --resume {spec.resume} --run-dir DIR "
                f"continues that run in a new folder DIR")


def _restore(spec: RunSpec, resumed: Resumed, run: Any, folder: RunFolder,
             forked: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The checkpoint into ``run`` (its position checked against the training set now
    loaded), the folder continued from it: (the edits given on resuming, the rows kept)."""
    state, last = resumed.state, resumed.checkpoint
    checkpoint.check_position(state, resumed.hparams, last, len(run.train_data))
    try:
        run.load_state_dict(state)
    except (KeyError, ValueError, TypeError, RuntimeError, IndexError) as exc:
        raise checkpoint.CheckpointError(
            f"{last}: cannot be restored ({str(exc).splitlines()[0][:120]})") from None
    edits = resume_edits(resumed.hparams, resumed.epoch, bool(resumed.batch_in_epoch),
                         spec.resume_changes)
    if forked:  # the run continues in target; spec.resume stays as it was
        folder.fork(spec.resume)
    past = folder.resume(run.step, rows=resumed.rows)
    h = run.history
    best = best_test([*((r["accuracy"], r["epoch"]) for r in past if r["kind"] == "test"),
                      *zip(h.test_accuracy, h.test_epoch)])
    folder.best_accuracy = best[0] if best else None
    return edits, past


def open_session(spec: RunSpec, *, progress: Callable[[Any], None] | None = None,
                 on_stage: Callable[[str, str], None] | None = None) -> Session:
    """Take the run folder, load the data and build (or restore) the run.

    The folder is taken first, so that a folder in use or already holding a run is
    refused before the data is loaded. ``on_stage(stage, dataset)`` hears "folder" (with
    the folder taken) and "data" (data loaded), with the name of the dataset loaded: the
    resumed run's, whatever ``spec.dataset`` says."""
    from core import datasets
    from core.network import resolve_device
    from core.training import Run

    # Everything that is read, and every file that will be written, is checked before
    # the first write: a refused resume leaves its folder byte for byte as it was.
    resumed = None
    hparams = spec.hparams
    device = resolve_device(spec.device)
    if spec.resume:
        resumed = spec.resumed.loaded() if spec.resumed else read_resume(spec.resume)
        hparams = resumed.hparams
    target = Path(spec.placed().run_dir)
    forked = bool(spec.resume) and target.resolve() != Path(spec.resume).resolve()
    if resumed is not None:
        _check_resume_target(spec, target, forked)
    created = not os.path.lexists(target)
    had_lock = os.path.lexists(target / LOCK)
    folder = RunFolder(target)
    try:
        config = resumed.config if resumed else None
        dataset = config["dataset"] if config else spec.dataset
        if on_stage:
            on_stage("folder", dataset)
        data_dir = spec.data_dir or (config.get("data_dir") if config else None)
        limit_train = config.get("limit_train") if config else spec.limit_train
        limit_test = config.get("limit_test") if config else spec.limit_test
        data = datasets.load(dataset, data_dir, progress=progress,
                             allow_download=spec.allow_download)
        train, test = data.train.head(limit_train), data.test.head(limit_test)
        if on_stage:
            on_stage("data", dataset)
        run = Run(hparams, train, test, device=device,
                  hardest=spec.hardest, classes=data.spec.classes)
        if resumed is not None:
            edits, past = _restore(spec, resumed, run, folder, forked)
        else:
            edits, past = {}, []
            folder.start({"dataset": dataset,  # absolute: a resume from another folder finds it
                          "data_dir": str(data.files["test_images"].parent.resolve()),
                          "device": spec.device, "limit_train": limit_train,
                          "limit_test": limit_test, "hparams": hparams.to_dict()},
                         overwrite=spec.overwrite)
        session = Session(spec, run, folder, data, resumed=resumed is not None)
        session.pending_edits = edits
        session.past = past
        return session
    except BaseException:
        if not had_lock and not created:  # refused: the folder as it was, no lock file added
            try:
                (target / LOCK).unlink(missing_ok=True)
            except OSError:
                pass
        folder.close()
        if created:
            folder.discard_if_empty()  # a run that could not start leaves no folder behind
        raise
