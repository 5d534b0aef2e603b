"""Random keys (fixed seeds, 700 a screen, thousands in all) on every screen: the dashboard, help, edit
form, confusion, hardest, inside and draw screens, the runs table and the draw app (issue
25: 500 random keys once ended each of these in a traceback). Textual's run_test re-raises
an app's unhandled exception, so a handler that raises fails the test (checked below).
Afterwards the app still answers: ? opens the help (where there is one) and q exits."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import random
import shutil
import string
import sys

import pytest
from textual import events
from textual.command import CommandPalette
from textual.widgets import Input

from core.events import RunFinished
from tests.run_folders import make_runs
from tests.helpers import write_split
from tests.tui.waiting import workers_done
from tui.draw.app import DrawApp, resolve
from tui.screens.confirm import ConfirmScreen
from tui.dashboard.confusion import ConfusionScreen
from tui.dashboard.screen import DashboardScreen
from tui.draw.screen import DrawScreen
from tui.dashboard.edit import EditScreen
from tui.dashboard.hardest import HardestScreen
from tui.dashboard.help import HelpScreen
from tui.dashboard.inside import InsideScreen
from tui.runs.screen import RunsApp, RunsScreen

SIZE = (100, 30)
KEYS_PER_SCREEN = 700  # 6,300 in all: under a minute on 2 cores
PAUSE_EVERY = 50  # a pause lets the presses' handlers and the screens' refreshes run
ENDING = {"q", "ctrl+c", "ctrl+q"}  # they end the app: pressed once, at the end


def bound_keys() -> set[str]:
    """Every key any of the apps, screens or widgets binds (all of them imported: the
    pool, and so what a seed types, is the same whichever tests ran before)."""
    packages = [importlib.import_module(f"tui.{name}")
                for name in ("dashboard", "draw", "runs", "screens", "sweep", "widgets")]
    modules = [importlib.import_module(f"{package.__name__}.{info.name}")
               for package in packages for info in pkgutil.iter_modules(package.__path__)]
    keys: set[str] = set()
    for module in modules:
        for obj in vars(module).values():
            for binding in vars(obj).get("BINDINGS", ()) if isinstance(obj, type) else ():
                key = binding.key if hasattr(binding, "key") else binding[0]
                keys.update(k.strip() for k in key.split(","))
    return keys


def key_pool(*leave_out: str) -> list[str]:
    keys = bound_keys() | set(string.ascii_letters) | set(string.digits) | {
        "up", "down", "left", "right", "tab", "shift+tab", "enter", "escape", "space",
        "backspace", "delete", "home", "end", "pageup", "pagedown", "ctrl+p", "slash",
        "question_mark", "full_stop", "minus", "comma"}
    return sorted(keys - ENDING - set(leave_out))


def assert_no_palette(app) -> None:
    # every app here turns Textual's command palette off (it offers nothing of theirs)
    assert app.ENABLE_COMMAND_PALETTE is False
    assert not any(isinstance(s, CommandPalette) for s in app.screen_stack)


CHARS = {"space": " ", "enter": "\r", "tab": "\t", "escape": "\x1b", "backspace": "\x7f",
         "slash": "/", "question_mark": "?", "full_stop": ".", "minus": "-", "comma": ","}


def key_event(key: str) -> events.Key:
    """The event a terminal sends for ``key`` (as Pilot.press builds it)."""
    return events.Key(key, key if len(key) == 1 else CHARS.get(key))


async def mash(app, pilot, keys: list[str], seed: int, keep_open=None) -> None:
    """KEYS_PER_SCREEN random keys, typed in bursts: Pilot.press waits for the app to
    go idle after each key, which costs a second a key while training runs. After
    each burst of PAUSE_EVERY, a pause and ``keep_open(pilot)`` (back to the screen
    under test, if the keys left it)."""
    rng = random.Random(seed)
    await pilot.press("ctrl+p")
    await pilot.pause()
    assert_no_palette(app)
    typed: list[str] = []
    for i in range(1, KEYS_PER_SCREEN + 1):
        typed.append(rng.choice(keys))
        app.post_message(key_event(typed[-1]))
        if i % PAUSE_EVERY == 0:
            await pilot.pause()
            assert app.is_running, f"the app ended after key {i} ({app.return_code}): {typed[-PAUSE_EVERY:]}"
            assert_no_palette(app)
            if keep_open is not None:
                await keep_open(pilot)
    await pilot.pause()


async def back_to(app, pilot, base: type) -> None:
    """Escape out of whatever the keys opened, to the screen ``base``."""
    for _ in range(8):
        if isinstance(app.screen, base):
            return
        await pilot.press("escape")
        await pilot.pause()
    assert isinstance(app.screen, base), app.screen_stack


# ------------------------------------------------------------------ the dashboard

OPEN = {"dashboard": (None, DashboardScreen), "help": ("question_mark", HelpScreen),
        "edit": ("e", EditScreen), "confusion": ("c", ConfusionScreen),
        "hardest": ("h", HardestScreen), "inside": ("w", InsideScreen), "draw": ("d", DrawScreen)}


def keeper(app, key: str | None, screen: type):
    """Back to ``screen`` (opened from the dashboard with ``key``) if the keys left it."""

    async def keep_open(pilot):
        if not isinstance(app.screen, screen):
            await back_to(app, pilot, DashboardScreen)
            if key is not None:
                await pilot.press(key)
                await pilot.pause()

    return keep_open


#: the screens that ask the engine something it must answer (a drawing's prediction,
#: an edit's result) mash keys at a live engine; the others at a recorded run played
#: back (``replay``): no run is trained for them
LIVE = {"edit", "draw"}


@pytest.mark.parametrize("where", list(OPEN))
async def test_random_keys_on_every_dashboard_screen_then_help_and_quit(make, replay, where):
    key, screen = OPEN[where]
    app = (make if where in LIVE else replay)(epochs=1)
    keep_open = keeper(app, key, screen)
    async with app.run_test(size=SIZE) as pilot:
        await app.handled_one(lambda ev: isinstance(ev, RunFinished))  # the screens have a test to show
        await keep_open(pilot)
        assert isinstance(app.screen, screen)
        await mash(app, pilot, key_pool(), seed=25 + len(where), keep_open=keep_open)
        await back_to(app, pilot, DashboardScreen)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "q")
        await pilot.pause()
        if isinstance(app.screen, ConfirmScreen):  # still training: it asks first
            await pilot.press("y")
            await asyncio.wait_for(app.exited.wait(), 30)  # once the checkpoint is written
    assert app.return_code == 0


# ------------------------------------------------------------------ the runs table

@pytest.fixture(scope="module")
def made(tmp_path_factory):
    data = write_split(tmp_path_factory.mktemp("mash-data"), 500, 200)
    return make_runs(tmp_path_factory.mktemp("mash-runs"), data)


async def test_random_keys_on_the_runs_table_then_quit(made, tmp_path):
    root = shutil.copytree(made, tmp_path / "runs")  # d deletes: a copy
    launched: list[list[str]] = []
    app = RunsApp(root, launcher=launched.append)
    async with app.run_test(size=SIZE) as pilot:
        await workers_done(app)
        await pilot.pause()
        await mash(app, pilot, key_pool(), seed=2502)
        await workers_done(app)
        await back_to(app, pilot, RunsScreen)
        await pilot.press("escape")  # out of the filter line, if the keys left it there (q is a letter in it)
        await pilot.pause()
        assert not isinstance(app.focused, Input)
        await pilot.press("question_mark")  # the table has no help screen: nothing opens
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


# ------------------------------------------------------------------ the draw app

async def test_random_keys_on_the_draw_app_then_escape_leaves(made, tmp_path):
    run = next(p for p in sorted(made.rglob("checkpoint-last.pt"))).parent
    app = DrawApp(resolve(shutil.copytree(run, tmp_path / "run")))  # s saves into it
    async with app.run_test(size=SIZE) as pilot:
        await workers_done(app)
        await pilot.pause()
        # escape on the drawing leaves the app: pressed in the label dialog only
        await mash(app, pilot, key_pool("escape"), seed=2503,
                   keep_open=lambda pilot: back_to(app, pilot, DrawScreen))
        await back_to(app, pilot, DrawScreen)
        await pilot.press("escape")  # the draw app's way out (it has no q, no help)
        await pilot.pause()
    assert app.return_code == 0


# ------------------------------------------------------------------ the test can fail

async def test_a_key_handler_that_raises_fails_the_mash(make, monkeypatch):
    def broken(self):
        raise RuntimeError("injected")

    monkeypatch.setattr(DashboardScreen, "action_zoom", broken)  # z
    app = make(epochs=1)
    with pytest.raises(RuntimeError, match="injected"):
        async with app.run_test(size=SIZE) as pilot:
            await app.next_event(RunFinished)
            await mash(app, pilot, key_pool(), seed=25, keep_open=keeper(app, None, DashboardScreen))
