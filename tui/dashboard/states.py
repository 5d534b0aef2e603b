"""The dashboard's states: what the run is doing, as the status bar names it."""

from __future__ import annotations

from enum import StrEnum


class AppState(StrEnum):
    """A ``StrEnum``: each state is also its name as shown ("paused" == AppState.PAUSED)."""

    STARTING = "starting"
    LOADING = "loading"
    DOWNLOADING = "downloading"
    TESTING = "testing"
    TRAINING = "training"
    PAUSED = "paused"
    FINISHED = "finished"
    STOPPED = "stopped"
    DIVERGED = "diverged"
    ERROR = "error"

    @property
    def active(self) -> bool:
        """A run in progress: quitting or restarting asks first."""
        return self in ACTIVE

    @property
    def loading(self) -> bool:
        return self in LOADING

    @property
    def ended(self) -> bool:
        return self in ENDED


ACTIVE = frozenset({AppState.TRAINING, AppState.TESTING, AppState.PAUSED})
LOADING = frozenset({AppState.STARTING, AppState.LOADING, AppState.DOWNLOADING})
ENDED = frozenset({AppState.FINISHED, AppState.STOPPED, AppState.DIVERGED, AppState.ERROR})
