"""`mnist-tui runs` on a terminal: sorting, filtering, selection, the overlay, watch /
resume / delete, live refresh, and a snapshot. Real short runs and damaged folders."""

from __future__ import annotations

import os
import re
import shutil
import time

import pytest
from textual.widgets import DataTable

from tests.helpers import write_split
from tests.run_folders import live_writer, make_runs
from tests.tui.waiting import workers_done
from tui.runs.compare import CompareScreen
from tui.screens.confirm import ConfirmScreen
from tui.runs.screen import RunsApp, RunsScreen
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
        # the result before the settings that differ, the rest after them
        assert cols[:8] == ["", "run", "status", "best", "at", "epochs", "lr", "activation"]
        assert cols[8:] == ["test", "started", "time", "size", "note"]  # all mnist: said above
        started = column(s, "started")
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d|-", v) for v in started), started
        same = str(s.query_one("#runs-same").render())
        assert "momentum 0.9" in same and "lr" not in same.split(" ")
        assert same.startswith("same in all: dataset mnist · ")


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
        legend = str(cmp.query_one("#compare-legend").render())
        assert all(n in legend for n in labels)  # the legend, above the plots, names each run
        text = "\n".join("".join(seg.text for seg in line) for line in acc.render().lines)
        assert not any(n in text for n in labels)  # and not over the curves
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
        assert [n for n, _c in app.screen.runs] == ["base: lr 0.2 epochs 2 activation sigmoid",
                                                    "relu: lr 0.05 epochs 3 activation relu"]
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
            assert any("its dashboard" in n.message and "quit it" in n.message
                       for n in app._notifications)
        move_to(s, "lr-0.05")
        metrics = root / "lr-0.05" / "metrics.jsonl"
        metrics.write_text("".join(metrics.read_text().splitlines(True)[:-1]))  # no end row
        with live_writer(root / "lr-0.05"):
            await pilot.press("d")
            await pilot.pause()
            assert isinstance(app.screen, RunsScreen) and (root / "lr-0.05").is_dir()
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


async def test_a_finished_run_with_its_dashboard_open_says_so_live(root):
    app = RunsApp(root)
    async with app.run_test(size=SIZE) as pilot:
        s = await loaded(app, pilot)
        with live_writer(root / "relu") as pid:
            s.load_all()
            await loaded(app, pilot)
            move_to(s, "relu")
            await pilot.pause()
            assert dict(zip(names(s), column(s, "status")))["relu"] == "finished (dashboard open)"
            assert f"(pid {pid})" in str(s.query_one("#runs-detail").render())
        s.refresh_live()  # read again while its dashboard holds it: closed now
        await workers_done(app)
        await pilot.pause()
        assert dict(zip(names(s), column(s, "status")))["relu"] == "finished"


async def test_choose_the_columns_shown(root):
    from textual.widgets import SelectionList

    from tui.screens.columns import ColumnsScreen

    app = RunsApp(root)
    async with app.run_test(size=(80, 24)) as pilot:
        s = await loaded(app, pilot)
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, ColumnsScreen)
        chooser = app.screen.query_one(SelectionList)
        keys = [chooser.get_option_at_index(i).value for i in range(chooser.option_count)]
        assert keys[:3] == ["name", "status", "best"] and set(chooser.selected) == set(keys)
        for key in ("epochs", "hp.lr", "hp.activation"):  # hide these three
            chooser.highlighted = keys.index(key)
            await pilot.press("space")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)
        shown = [c.key.value for c in s.query_one(DataTable).columns.values()]
        assert shown[:6] == ["sel", "name", "status", "best", "best_epoch", "test_loss"]
        assert "hp.lr" not in shown and "epochs" not in shown
        table = s.query_one(DataTable)  # at 80 columns the test loss is now on screen
        cols = list(table.columns.values())
        i = next(n for n, c in enumerate(cols) if c.key.value == "test_loss")
        assert sum(c.get_render_width(table) for c in cols[:i + 1]) <= table.size.width
        await pilot.press("slash", *"relu", "enter")  # the filter still reads every column
        assert names(s) == ["relu"]
        await pilot.press("v")
        await pilot.pause()
        chooser = app.screen.query_one(SelectionList)
        assert "hp.lr" not in chooser.selected and "best" in chooser.selected
        chooser.highlighted = keys.index("hp.lr")
        await pilot.press("space", "escape")
        await pilot.pause()
        assert "hp.lr" in [c.key.value for c in s.query_one(DataTable).columns.values()]


@pytest.mark.parametrize("size", [(120, 40), (80, 24), (60, 20)])
async def test_the_footer_keeps_columns_and_quit_at_every_size(root, size):
    from tui.widgets.footer import KeyFooter

    app = RunsApp(root)
    async with app.run_test(size=size) as pilot:
        await loaded(app, pilot)
        await pilot.pause()
        footer = app.screen.query_one(KeyFooter)
        keys = [(k, d) for k, d, *_ in footer.shown_keys()]
        assert ("v", "Columns") in keys and ("q", "Quit") in keys
        # what it draws fits: its keys' cells end within the terminal
        assert max(w.region.right for w in footer.children) <= size[0]
        assert footer.children[-1].region.right > 0 and "Quit" in str(footer.children[-1].render())


async def test_an_edit_of_a_running_run_shows_both_values_in_full(root):
    import json

    app = RunsApp(root)
    async with app.run_test(size=SIZE) as pilot:
        s = await loaded(app, pilot)
        with live_writer(root / "killed"):
            s.load_all()
            await loaded(app, pilot)
            assert dict(zip(names(s), column(s, "hp.lr")))["killed"] == "0.05"
            metrics = root / "killed" / "metrics.jsonl"
            rows = metrics.read_text().splitlines()[:-1]  # (the line cut by the kill)
            edit = {"kind": "edit", "step": 12, "epoch": 2, "seen": 600, "applied": True,
                    "effect": "live", "changes": {"lr": [0.05, 0.123456789]}}
            metrics.write_text("\n".join([*rows, json.dumps(edit)]) + "\n")
            s.refresh_live()  # the row is redrawn in place
            await workers_done(app)
            await pilot.pause()
            text = "0.05→0.123456789"
            assert dict(zip(names(s), column(s, "hp.lr")))["killed"] == text
            table = s.query_one(DataTable)
            assert table.columns["hp.lr"].get_render_width(table) >= len(text) + 2  # not cut
