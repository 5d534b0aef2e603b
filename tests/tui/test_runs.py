"""`mnist-tui runs` on a terminal: sorting, filtering, selection, the overlay, watch /
resume / delete, live refresh, and a snapshot. Real short runs and damaged folders."""

from __future__ import annotations

import os
import shutil
import time

import pytest
from textual.widgets import DataTable

from tests.helpers import write_split
from tests.run_folders import live_writer, make_runs
from tests.tui.waiting import workers_done
from tui.screens.compare import CompareScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.runs import RunsApp, RunsScreen
from tui.widgets.compareplot import CompareAccuracyPlot, CompareLossPlot

SIZE = (120, 40)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    data = write_split(tmp_path_factory.mktemp("runs-data"), 500, 200)
    return make_runs(tmp_path_factory.mktemp("runs-made"), data)


@pytest.fixture
def root(made, tmp_path):
    """A copy per test (deleting changes it); times kept."""
    return shutil.copytree(made, tmp_path / "runs", copy_function=shutil.copy2)


async def loaded(app, pilot) -> RunsScreen:
    await workers_done(app)
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, RunsScreen) and screen.loaded
    return screen


def names(screen: RunsScreen) -> list[str]:
    table = screen.query_one(DataTable)
    return [screen.runs[k.value].name for k in table.rows]  # in table order


def column(screen: RunsScreen, key: str) -> list[str]:
    table = screen.query_one(DataTable)
    return [str(table.get_cell(row, key)) for row in table.rows]


async def test_the_table_lists_every_run_with_its_status(root):
    app = RunsApp(root)
    async with app.run_test(size=SIZE) as pilot:
        s = await loaded(app, pilot)
        assert sorted(names(s)) == sorted(["bad-config", "bad-line", "base", "diverged",
                                           "group/base-restart1", "killed", "lr-0.05",
                                           "no-metrics", "relu"])
        status = dict(zip(names(s), column(s, "status")))
        assert status["diverged"] == "diverged" and status["killed"] == "stopped"
        assert status["bad-line"] == "damaged" and status["relu"] == "finished"
        cols = [str(c.label).split(" ")[0] for c in s.query_one(DataTable).columns.values()]
        assert cols[:7] == ["", "run", "status", "started", "dataset", "lr", "activation"]  # the differing ones
        same = str(s.query_one("#runs-same").render())
        assert "momentum 0.9" in same and "lr" not in same.split(" ")


async def test_sorting_by_any_column(root):
    app = RunsApp(root)
    async with app.run_test(size=SIZE) as pilot:
        s = await loaded(app, pilot)
        assert s.sort_key == "started"
        while s.sort_key != "best":
            await pilot.press("s")
        best = [v for v in column(s, "best") if v != "-"]
        assert best == sorted(best, key=float) and len(best) == 6
        assert column(s, "best")[-3:] == ["-", "-", "-"]  # the damaged ones last
        await pilot.press("S")
        best_rev = [v for v in column(s, "best") if v != "-"]
        assert best_rev == sorted(best, key=float, reverse=True)
        assert column(s, "best")[-1] == "-"  # last either way
        assert "▼" in str(s.query_one(DataTable).columns[s.sort_key].label)
        while s.sort_key != "name":
            await pilot.press("s")
        assert names(s) == sorted(names(s))
        # a click on a header sorts by that column; a second click reverses
        table = s.query_one(DataTable)
        cols = list(table.columns.values())
        i = next(n for n, c in enumerate(cols) if c.key.value == "test_loss")
        x = sum(c.get_render_width(table) for c in cols[:i]) + 2
        await pilot.click(DataTable, offset=(x, 0))
        assert (s.sort_key, s.reverse) == ("test_loss", False)
        losses = [float(v) for v in column(s, "test_loss") if v != "-"]
        assert losses == sorted(losses) and len(losses) == 6
        await pilot.click(DataTable, offset=(x, 0))
        assert (s.sort_key, s.reverse) == ("test_loss", True)


async def test_filter_by_typing_after_slash(root):
    app = RunsApp(root)
    async with app.run_test(size=SIZE) as pilot:
        s = await loaded(app, pilot)
        await pilot.press("slash")
        await pilot.press(*"relu")
        assert names(s) == ["relu"]
        await pilot.press("backspace", "backspace", "backspace", "backspace", *"damaged")
        assert sorted(names(s)) == ["bad-config", "bad-line", "no-metrics"]
        await pilot.press("enter")  # back to the table, the filter kept
        assert isinstance(app.focused, DataTable) and len(names(s)) == 3
        await pilot.press("slash", "escape")  # cleared
        assert len(names(s)) == 9 and isinstance(app.focused, DataTable)


async def test_select_and_overlay_the_curves(root):
    app = RunsApp(root)
    async with app.run_test(size=SIZE) as pilot:
        s = await loaded(app, pilot)
        await pilot.press("slash", *"finished", "enter")
        assert sorted(names(s)) == ["base", "group/base-restart1", "lr-0.05", "relu"]
        order = names(s)
        await pilot.press("space", "space")  # selects and moves down
        assert {s.runs[p].name for p in s.selected} == set(order[:2])
        assert column(s, "sel")[:3] == ["●", "●", ""]
        await pilot.press("up", "space")  # unselect the second
        assert {s.runs[p].name for p in s.selected} == {order[0]}
        await pilot.press("space")  # the cursor moved on to the third
        chosen = [order[0], order[2]]
        await pilot.press("c")
        await pilot.pause()
        cmp = app.screen
        assert isinstance(cmp, CompareScreen)
        assert [c.test_epoch[-1] for _n, c in cmp.runs] == [
            s.runs[next(p for p in s.selected if s.runs[p].name == n)].epochs_done for n in chosen]
        labels = [n for n, _c in cmp.runs]
        assert len(set(labels)) == 2 and all(n for n in labels)
        loss, acc = cmp.query_one(CompareLossPlot), cmp.query_one(CompareAccuracyPlot)
        assert loss.size.width > 20 and acc.size.height > 10
        text = "\n".join("".join(seg.text for seg in line) for line in acc.render().lines)
        assert all(n in text for n in labels)  # the legend names each run
        assert "number of training examples seen" in text
        await pilot.press("x")
        await pilot.pause()
        text = "\n".join("".join(seg.text for seg in line) for line in acc.render().lines)
        assert "epochs" in text and "number of training examples seen" not in text
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_legend_names_runs_by_their_differing_settings(root):
    app = RunsApp(root)
    async with app.run_test(size=SIZE) as pilot:
        s = await loaded(app, pilot)
        s.selected = {str(root / "base"), str(root / "relu")}
        await pilot.press("c")
        await pilot.pause()
        assert [n for n, _c in app.screen.runs] == ["lr 0.2 epochs 2 activation sigmoid",
                                                    "lr 0.05 epochs 3 activation relu"]
        await pilot.press("escape")
        s.selected = {str(root / "base"), str(root / "group" / "base-restart1")}  # the same settings
        await pilot.press("c")
        await pilot.pause()
        assert [n for n, _c in app.screen.runs] == ["base", "group/base-restart1"]


def move_to(s: RunsScreen, name: str) -> None:
    table = s.query_one(DataTable)
    path = next(p for p, r in s.runs.items() if r.name == name)
    table.move_cursor(row=table.get_row_index(path), animate=False)


async def test_watch_and_resume_launch_the_commands(root):
    launched = []
    app = RunsApp(root, launcher=launched.append)
    async with app.run_test(size=SIZE) as pilot:
        s = await loaded(app, pilot)
        move_to(s, "relu")
        await pilot.press("w", "r")
        assert launched == [["watch", str(root / "relu")], ["--resume", str(root / "relu")]]
        move_to(s, "bad-line")
        await pilot.pause()
        await pilot.press("w", "r")  # damaged: refused
        assert len(launched) == 2
        assert "damaged" in str(s.query_one("#runs-detail").render())


async def test_delete_asks_first_and_refuses_a_running_one(root):
    app = RunsApp(root)
    async with app.run_test(size=SIZE) as pilot:
        s = await loaded(app, pilot)
        move_to(s, "killed")
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert (root / "killed").is_dir()
        await pilot.press("d")
        await pilot.press("y")
        await pilot.pause()
        assert not (root / "killed").exists() and "killed" not in names(s)
        move_to(s, "relu")
        with live_writer(root / "relu"):
            await pilot.press("d")  # the table still says finished; the check is made now
            await pilot.pause()
            assert isinstance(app.screen, RunsScreen) and (root / "relu").is_dir()
            assert any("is running" in n.message for n in app._notifications)


async def test_delete_never_follows_a_link_out_of_the_root(root, tmp_path):
    """A folder of the listed path swapped for a link after the listing (to the same
    runs, outside the root): the delete is refused in one message; nothing outside goes."""
    outside = tmp_path / "outside"
    outside.mkdir()
    app = RunsApp(root)
    async with app.run_test(size=SIZE) as pilot:
        s = await loaded(app, pilot)
        move_to(s, "group/base-restart1")
        shutil.move(root / "group", outside / "group")
        (root / "group").symlink_to(outside / "group", target_is_directory=True)
        victim = outside / "group" / "base-restart1"
        before = sorted(p.name for p in victim.iterdir())
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        assert sorted(p.name for p in victim.iterdir()) == before
        assert any(f"{root / 'group'}: is a symbolic link" in n.message
                   for n in app._notifications)


async def test_running_rows_refresh_live(root):
    app = RunsApp(root)
    async with app.run_test(size=SIZE) as pilot:
        s = await loaded(app, pilot)
        with live_writer(root / "killed") as pid:
            s.load_all()
            await loaded(app, pilot)
            move_to(s, "killed")
            await pilot.pause()
            assert dict(zip(names(s), column(s, "status")))["killed"] == "running"
            assert f"pid {pid}" in str(s.query_one("#runs-detail").render())
            await pilot.press("r")  # no resume of a running run
            assert any("is running" in n.message for n in app._notifications)
            metrics = root / "killed" / "metrics.jsonl"
            rows = metrics.read_text().splitlines()
            done = [r for r in rows if '"kind": "epoch"' in r][-1].replace('"epoch": 2', '"epoch": 3')
            metrics.write_text("\n".join(rows[:-1]) + "\n" + done + "\n")
            s.refresh_live()
            await workers_done(app)
            await pilot.pause()
            assert dict(zip(names(s), column(s, "epochs")))["killed"] == "3/2"
        s.refresh_live()  # the writer is gone
        await workers_done(app)
        await pilot.pause()
        assert dict(zip(names(s), column(s, "status")))["killed"] == "stopped"


def test_snapshot_of_the_table(snap_compare, root, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    # paths shown on screen: a fixed name in place of the temporary folder
    fixed = root.parent.parent / "mnist-tui-runs-snapshot"
    shutil.rmtree(fixed, ignore_errors=True)
    shutil.copytree(root, fixed, copy_function=shutil.copy2)
    cwd = os.getcwd()
    os.chdir(fixed.parent)

    async def before(pilot):
        await workers_done(pilot.app)
        await pilot.pause()
        await pilot.press("down", "space", "down", "down", "space")

    try:
        assert snap_compare(RunsApp(fixed.name), terminal_size=SIZE, run_before=before)
    finally:
        os.chdir(cwd)
        time.tzset()
