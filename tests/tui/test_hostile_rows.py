"""`watch` on metrics rows no run writes (generated: tests/hostile_rows.py): every field of
every row kind NaN, infinite, huge, negative or of the wrong type or shape, and lines that
are not rows. Each file is the rows of a real run, the hostile rows, and a last `end` row;
watch shows what it can, counts what it skips, keeps answering its keys, and q exits."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from core.events import RunFinished
from core.runfolder import METRICS_JSONL, parse_row
from tests.hostile_rows import GARBAGE_LINES, dumps, hostile_rows, templates
from tests.run_folders import real_run
from tests.tui.waiting import WatchedApp
from tui.engine.bridge import RunSpec

KINDS = [*templates(), "garbage"]
LAST_EPOCH = 777  # the last row's: once it has been shown, every row before it has been read


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory, tui_data):
    folder = tmp_path_factory.mktemp("real") / "run"
    real_run(folder, tui_data, epochs=1)
    return folder


def lines_of(kind: str) -> list[bytes]:
    if kind == "garbage":
        return [line + b"\n" for line in GARBAGE_LINES]
    return [dumps(r) for r in hostile_rows(kind)]


async def shown_to_the_end(app) -> None:
    await asyncio.wait_for(app.handled_one(
        lambda ev: isinstance(ev, RunFinished) and ev.epochs_done == LAST_EPOCH), 120)


@pytest.mark.parametrize("kind", KINDS)
async def test_watch_shows_what_it_can_counts_what_it_skips_and_q_exits(kind, run_folder, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(run_folder, folder)
    real = [ln for ln in (run_folder / METRICS_JSONL).read_bytes().splitlines(keepends=True)
            if b'"kind": "end"' not in ln]
    hostile = lines_of(kind)
    (folder / METRICS_JSONL).write_bytes(b"".join(
        [*real, *hostile, dumps({**templates()["end"], "epoch": LAST_EPOCH})]))
    refused = sum(parse_row(line) is None for line in hostile)
    app = WatchedApp(RunSpec(), watch=str(folder))
    async with app.run_test(size=(120, 40)) as pilot:
        await shown_to_the_end(app)
        await pilot.pause()
        for key in "cwh":  # every view of the rows opens and closes
            await pilot.press(key, "escape")
            await pilot.pause()
        transport = app.engine
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0
    # the rows the reader refuses, and those well-formed but not a run's, are counted
    assert refused <= transport.skipped <= len(hostile)
    assert kind == "garbage" or transport.skipped < len(hostile)  # some are shown
    assert f"skipped {transport.skipped:,} damaged lines" in "\n".join(app.log_lines)
    assert app.view.test_epochs[:2] == [0, 1]  # the real run's tests are shown
