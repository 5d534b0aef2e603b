"""Setting up a run, once for every front end: what to train (``RunSpec``) and
``open_session(spec)``, which takes the run folder, loads the data, builds the ``Run``
(or restores it from a checkpoint, every field checked) and returns a ``Session`` that
records the run's events into its folder. Headless runs and the dashboard's training
process both start here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import checkpoint
from core.config import Hyperparameters
from core.edits import resume_edits
from core.errors import RunFolderError
from core.runfolder import LAST, RunFolder, best_of, default_run_dir, read_config, read_rows

HARDEST = 16  # hardest test examples kept with each test (for the views and test-last.json)


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


def read_resume(run_dir: str) -> tuple[dict[str, Any], dict[str, Any], Hyperparameters]:
    """(config, checkpoint state, its hyperparameters) of a run folder, every field
    checked: ``CheckpointError`` naming the file and the field."""
    config = read_config(run_dir)
    state = checkpoint.load(Path(run_dir) / LAST)
    hp = checkpoint.check(state, Path(run_dir) / LAST)
    read_rows(run_dir)  # a metrics file that cannot be read at all is one line too
    return config, state, hp


class Session:
    """A run and its folder. ``record(ev)`` logs each event the run yields (and
    checkpoints after each test); ``apply`` edits; ``save`` writes checkpoint-last.pt.
    Write failures raise ``WriteError`` and leave the run as it was."""

    def __init__(self, spec: RunSpec, run: Any, folder: RunFolder, data: Any, resumed: bool):
        self.spec, self.run, self.folder, self.data = spec, run, folder, data
        self.resumed = resumed

    @property
    def path(self) -> Path:
        return self.folder.path

    def events(self):
        return self.run.events()

    def record(self, ev: Any) -> None:
        from core.events import RunFinished, TestEnd

        self.folder.record(ev)
        if isinstance(ev, TestEnd) and (ev.epoch > 0 or self.run.step == 0):
            # The initial test of a resumed run happens only on a run never tested.
            self.folder.after_test(self.run.state_dict(), ev.accuracy)
        elif isinstance(ev, RunFinished):
            self._summarise()

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


def open_session(spec: RunSpec, *, progress: Callable[[Any], None] | None = None,
                 on_stage: Callable[[str], None] | None = None) -> Session:
    """Take the run folder, load the data and build (or restore) the run.

    The folder is taken first, so that a folder in use or already holding a run is
    refused before the data is loaded. ``on_stage`` hears "folder" (with the folder
    taken) and "data" (data loaded)."""
    from core import datasets
    from core.network import resolve_device
    from core.training import Run

    config = state = None
    hparams = spec.hparams
    if spec.resume:
        config, state, hparams = read_resume(spec.resume)
    target = Path(spec.run_dir or spec.resume or default_run_dir())
    forked = bool(spec.resume) and target.resolve() != Path(spec.resume).resolve()
    created = not target.exists()
    folder = RunFolder(target)
    try:
        if state is not None and forked:
            from core.runfolder import holds_run

            if holds_run(target) and not spec.overwrite:
                raise RunFolderError(
                    f"{target}: already holds a run; --resume {spec.resume} --run-dir DIR "
                    f"continues that run in a new folder DIR")
        if on_stage:
            on_stage("folder")
        dataset = config["dataset"] if config else spec.dataset
        data_dir = spec.data_dir or (config.get("data_dir") if config else None)
        limit_train = config.get("limit_train") if config else spec.limit_train
        limit_test = config.get("limit_test") if config else spec.limit_test
        data = datasets.load(dataset, data_dir, progress=progress,
                             allow_download=spec.allow_download)
        train, test = data.train.head(limit_train), data.test.head(limit_test)
        if on_stage:
            on_stage("data")
        run = Run(hparams, train, test, device=resolve_device(spec.device),
                  hardest=spec.hardest, classes=data.spec.classes)
        if state is not None:
            last = Path(spec.resume) / LAST
            checkpoint.check(state, last, n_train=len(train))
            try:
                run.load_state_dict(state)
            except (KeyError, ValueError, TypeError, RuntimeError, IndexError) as exc:
                raise checkpoint.CheckpointError(
                    f"{last}: cannot be restored ({str(exc).splitlines()[0][:120]})") from None
            edits = resume_edits(hparams, state["epoch"], bool(state["batch_in_epoch"]),
                                 spec.resume_changes)
            if forked:  # the run continues in target; spec.resume stays as it was
                folder.fork(spec.resume)
            rows, _ = read_rows(target)
            folder.resume(run.step, best_accuracy=max(best_of(rows), run.history.best[0]
                                                      if run.history.test_accuracy else -1.0))
        else:
            edits = {}
            folder.start({"dataset": dataset,  # absolute: a resume from another folder finds it
                          "data_dir": str(data.files["test_images"].parent.resolve()),
                          "device": spec.device, "limit_train": limit_train,
                          "limit_test": limit_test, "hparams": hparams.to_dict()},
                         overwrite=spec.overwrite)
        session = Session(spec, run, folder, data, resumed=state is not None)
        session.pending_edits = edits
        return session
    except BaseException:
        folder.close()
        if created:
            folder.discard_if_empty()  # a run that could not start leaves no folder behind
        raise
