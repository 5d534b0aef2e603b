"""A diverged run on screen (issue 25: `--activation relu --lr 10 --batch-size 1`, then c,
h, w, d ended in a traceback). A short real run's events are replayed with every float
in them NaN, +-inf or huge (1e308), to the dashboard and with each of its views open."""

from __future__ import annotations

import asyncio
import dataclasses
import math

import numpy as np
import pytest
import torch

import tui.dashboard.messages as msg
from core.events import RunFinished
from tui.screens.confirm import ConfirmScreen
from tui.dashboard.confusion import ConfusionScreen
from tui.dashboard.screen import DashboardScreen
from tui.draw.screen import DrawScreen
from tui.dashboard.hardest import HardestScreen
from tui.dashboard.help import HelpScreen
from tui.dashboard.inside import InsideScreen

BAD = (math.nan, math.inf, -math.inf, 1e308, -1e308)
VIEWS = {"": DashboardScreen, "c": ConfusionScreen, "h": HardestScreen, "w": InsideScreen,
         "d": DrawScreen}
NOT_REPLAYED = {"RunFinished", "EngineStopped", "EngineFailed"}  # they end the run


def poison(value, bad: float):
    """``value`` with every float in it ``bad`` (in tuples, events, float32 weights,
    tensors); other values as they are. Not the hyperparameters' dicts (RunStarted,
    HparamsChanged): they are validated before a run starts or an edit applies."""
    if isinstance(value, float):
        return bad
    if isinstance(value, tuple):
        return tuple(poison(v, bad) for v in value)
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return torch.full_like(value, bad)
    if isinstance(value, bytes) and len(value) > 4000 and len(value) % 4 == 0:  # float32 weights
        return np.full(len(value) // 4, bad, dtype=np.float32).tobytes()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: poison(getattr(value, f.name), bad)
                                            for f in dataclasses.fields(value) if f.init})
    return value


@pytest.mark.parametrize("key, ascii", [*((k, False) for k in VIEWS), ("w", True)],
                         ids=["dashboard", *list(VIEWS)[1:], "w-ascii"])
async def test_a_run_whose_every_number_is_nan_inf_or_huge_shows_on_every_view(make, key, ascii):
    app = make(epochs=1)
    app.ascii = ascii  # (--ascii: the weight tiles drawn in characters)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.next_event(RunFinished)
        await pilot.pause()
        seen = {type(ev).__name__: ev for ev in app.handled}  # the last event of each kind
        # a run's every kind of event is replayed (the test is no test without them)
        assert {"RunStarted", "EpochStarted", "Tick", "TestEnd", "EpochEnd",
                "LayerStats"} <= set(seen), sorted(seen)
        if key:
            await pilot.press(key)
            await pilot.pause()
        assert isinstance(app.screen, VIEWS[key])
        for bad in BAD:
            for name, event in list(seen.items()):
                if name not in NOT_REPLAYED:
                    message = msg.message_for(poison(event, bad), app.generation)
                    if message is not None:
                        app.dashboard.post_message(message)
            await pilot.pause()
            assert app.is_running and isinstance(app.screen, VIEWS[key]), bad
        if key:  # the view closes and opens again on the poisoned run
            await pilot.press("escape", key)
            await pilot.pause()
            assert isinstance(app.screen, VIEWS[key])
            await pilot.press("escape")
            await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "q")
        await pilot.pause()
        if isinstance(app.screen, ConfirmScreen):  # the replayed RunStarted: "running" again
            await pilot.press("y")
            await asyncio.wait_for(app.exited.wait(), 30)  # once the checkpoint is written
    assert app.return_code == 0
