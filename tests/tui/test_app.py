"""The dashboard driven through Textual's Pilot: every key, the edit form, errors, sizes."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

import pytest
from textual.containers import VerticalScroll
from textual.widgets import Input, RichLog, Static

from core import checkpoint
from tests.tui.waiting import FooterLooks
from tui.engine.protocol import EditResult, PauseChanged, Saved, Tick
from tui.widgets.plots import AccuracyPlot, LossPlot
from tui.widgets.progress import BAR_WIDTH, ProgressRow
from tui.screens.confirm import ConfirmScreen
from tui.dashboard.edit import EditScreen
from tui.dashboard.help import HelpScreen
from tui.widgets.gallery import DigitCard, DigitGallery
from tui.widgets.hparams import HparamsPane
from tui.widgets.status import StatusBar

SIZE = (120, 40)
LONG = 500  # epochs: a run that is still going whenever a test looks


def shown(widget) -> str:
    """The plain text a Static widget shows (its content rendered by Rich)."""
    from rich.console import Console

    console = Console(width=200, color_system=None, file=open("/dev/null", "w"))
    with console.capture() as cap:
        console.print(widget.content)
    return cap.get()


def log_text(app) -> str:
    """The log pane's lines (unwrapped), checked against what the pane holds."""
    log = app.query_one("#log", RichLog)
    log.flush()  # training's lines held back for the next write (LogPane.write_soon)
    pane = " ".join(line.text.strip() for line in log.lines)
    assert "".join(app.log_lines).replace(" ", "").replace("\t", "") == pane.replace(" ", "")
    return "\n".join(app.log_lines)


def msg_of(app, ev):
    """``ev`` as the app's worker would post it (from the engine now running)."""
    from tui.dashboard.messages import message_for

    return message_for(ev, app.generation)


async def finished(app):
    return await asyncio.wait_for(app.wait_for_state("finished", "error", "diverged"), 120)


async def test_a_short_run_shows_the_tutorials_lines_and_finishes(make):
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        assert await finished(app) == "finished"
        await pilot.pause()
        text = log_text(app)
        assert "Test set: Avg. loss:" in text and "Accuracy: " in text and "/500 (" in text
        assert "Train Epoch: 1 [0/1000 (0%)]" in text
        assert "Total epochs: 2" in text and "Max Accuracy is: " in text
        status = app.query_one(StatusBar)
        assert status.dataset == "MNIST" and status.network.startswith("784-100-50-10 sigmoid · 84,060")
        assert len(app.view.test_acc) == 3 and len(app.view.train.xs) == 2  # logged: batch 0 of each epoch
        cards = [c for c in app.query(DigitCard) if c.display]
        assert len(cards) == app.query_one(DigitGallery).capacity() >= 5  # 120 columns: 5 a row
        assert not app.dashboard.check_action("toggle_pause", ())  # nothing to pause any more


async def test_space_pauses_and_resumes(make):
    app = make(epochs=LONG)
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.wait_for_state("training"), 60)
        paused = app.next_event(PauseChanged)
        await pilot.press("space")
        ev = await asyncio.wait_for(paused, 30)
        assert ev.paused and app.state == "paused"
        # A round trip through the engine while paused: it answers, and trains no further.
        saved = app.next_event(Saved)
        await pilot.press("s")
        await asyncio.wait_for(saved, 30)
        assert app.engine.run.step == ev.step
        assert app.dashboard._last_tick is None or app.dashboard._last_tick.step <= ev.step
        resumed = app.next_event(PauseChanged)
        tick = app.next_event(Tick)
        await pilot.press("space")
        assert not (await asyncio.wait_for(resumed, 30)).paused
        tick = await asyncio.wait_for(tick, 30)
        assert tick.step > ev.step
        assert "Paused at step" in log_text(app) and "Resumed at step" in log_text(app)


async def test_progress_rows_show_a_tick(make):
    app = make(epochs=LONG)
    async with app.run_test(size=SIZE) as pilot:
        tick = await asyncio.wait_for(app.next_event(Tick), 60)
        paused = app.next_event(PauseChanged)
        await pilot.press("space")  # nothing else moves the rows from here
        await asyncio.wait_for(paused, 30)
        n = tick.n_train
        app.dashboard.on_tick(msg_of(app, replace(tick, epoch=3, epoch_samples=n // 4, step=12_345, points=[], lines=[])))
        await pilot.pause()
        epoch, run = (app.query_one(f"#{name}", ProgressRow).plain for name in ("epoch", "run"))
        assert epoch.startswith(f"Epoch 3/{LONG}") and f" 25% {n // 4:,}/{n:,}" in epoch
        assert epoch.count("━") == BAR_WIDTH and run.count("━") == BAR_WIDTH
        assert run.startswith("Run") and f"2/{LONG} epochs · step 12,345" in run
        bar = [seg for seg in app.query_one("#epoch", ProgressRow).render_line(0) if "━" in seg.text]
        assert [len(seg.text) for seg in bar] == [BAR_WIDTH // 4, BAR_WIDTH - BAR_WIDTH // 4]
        assert bar[0].style.bold and not bar[1].style.bold  # done, then still to do
        row = app.query_one("#run", ProgressRow)
        row.styles.width = 40  # narrower than its text: the step goes, "paused" (or the ETA) stays
        await pilot.pause()
        assert len(row.plain) <= 40 and row.plain.endswith("epochs · paused"), row.plain


async def edit(pilot, app, **values):
    await pilot.press("e")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, EditScreen)
    for name, text in values.items():
        field = screen.query_one(f"#f-{name}", Input)
        field.value = text
    await pilot.pause()
    return screen


async def test_live_learning_rate_edit_reaches_the_optimizer(make):
    app = make(epochs=LONG)
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.wait_for_state("training"), 60)
        paused = app.next_event(PauseChanged)
        await pilot.press("space")  # pause, so the edit lands at a known step
        step = (await asyncio.wait_for(paused, 30)).step
        await edit(pilot, app, lr="0.05")
        result = app.next_event(EditResult)
        await pilot.press("enter")
        assert (await asyncio.wait_for(result, 30)).ok
        assert not isinstance(app.screen, EditScreen)
        assert app.engine.run.optimizer.param_groups[0]["lr"] == 0.05
        assert app.view.hp.lr == 0.05
        assert f"Applied at step {step:,}" in log_text(app) and "lr 0.2 → 0.05" in log_text(app)
        assert app.view.marks  # a mark on the loss plot
        assert app.engine.run.history.edits[-1]["step"] == step


async def test_invalid_edit_is_refused_at_its_field(make):
    app = make(epochs=LONG)
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.wait_for_state("training"), 60)
        screen = await edit(pilot, app, lr="-1", hidden="100,x")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen  # not dismissed
        errors = {w.id: shown(w) for w in screen.query(".error") if w.display}
        assert "must be greater than 0" in errors["err-lr"]
        assert "not whole numbers" in errors["err-hidden"]
        await pilot.press("escape")
        await pilot.pause()
        assert app.view.hp.lr == 0.2 and app.engine.run.optimizer.param_groups[0]["lr"] == 0.2
        assert app.engine.run.history.edits == []


async def test_the_form_opens_afresh_each_time(replay):
    """The app keeps one form (building it is slow): each opening shows the current
    values and rules, and nothing typed into a cancelled form."""
    app = replay(epochs=1)
    async with app.run_test(size=SIZE) as pilot:
        await finished(app)
        screen = await edit(pilot, app, lr="-1", hidden="7")
        assert any(w.display for w in screen.query(".error"))
        await pilot.press("escape")
        await pilot.pause()
        screen = await edit(pilot, app)  # reopened: as the run stands
        assert screen.query_one("#f-lr", Input).value == "0.2"
        assert screen.query_one("#f-hidden", Input).value == "100,50"
        assert not any(w.display for w in screen.query(".error"))
        assert "apply on restart" in shown(screen.query_one("#edit-title"))
        screen.query_one("#f-lr", Input).value = "0.05"
        await pilot.pause()
        await pilot.press("enter")  # the run has ended: waits for a restart
        await pilot.pause()
        assert app.view.pending == {"lr": 0.05}
        screen = await edit(pilot, app)
        assert screen.query_one("#f-lr", Input).value == "0.05"  # the waiting value
        await pilot.press("escape")


def test_every_field_explains_itself_in_two_lines_of_the_form():
    import textwrap

    from core import config as cfg

    for name in cfg.FIELD_NAMES:
        for word in (*cfg.EFFECT_WORDS.values(), "on restart"):
            assert len(textwrap.wrap(f"{word} · {cfg.help_of(name)}", 26)) <= 2, name


async def test_batch_size_waits_for_the_next_epoch_and_network_for_restart(make):
    app = make(epochs=LONG)
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.wait_for_state("training"), 60)
        paused = app.next_event(PauseChanged)
        await pilot.press("space")
        await asyncio.wait_for(paused, 30)
        await edit(pilot, app, batch_size="100", hidden="32")
        result = app.next_event(EditResult)
        await pilot.press("enter")
        assert (await asyncio.wait_for(result, 30)).ok
        assert app.view.pending == {"batch_size": 100, "hidden": (32,)}
        pane = shown(app.query_one(HparamsPane))
        assert "(next epoch)" in pane and "(on restart)" in pane
        await pilot.pause()
        box = app.query_one(HparamsPane)
        text = "\n".join(box.render_line(y).text for y in range(box.size.height))
        assert "test_batch_size" in text and "…" not in text  # no name cut beside a waiting edit
        # r: restart with the waiting edits.
        started = app.wait_for_state("testing")
        await pilot.press("r")
        assert isinstance(app.screen, ConfirmScreen)  # a run in progress: it asks first
        await pilot.press("y")
        await asyncio.wait_for(started, 60)
        await pilot.pause()
        assert app.view.hp.hidden == (32,) and app.view.hp.batch_size == 100 and app.view.pending == {}
        assert app.query_one(StatusBar).network.startswith("784-32-10 sigmoid")
        assert "Restarting: 784-32-10 sigmoid" in log_text(app)


async def test_digit_pages_and_misclassified_only(replay):
    app = replay(epochs=1)
    async with app.run_test(size=SIZE) as pilot:
        await finished(app)
        await pilot.pause()
        first = app.dashboard.digit_indices()
        await pilot.press("n")
        assert app.dashboard.digit_indices() == [i + len(first) for i in first]
        await pilot.press("m")
        wrong = app.dashboard.digit_indices()
        assert wrong and all(app.view.predictions[i] != app.view.test_labels[i] for i in wrong)
        captions = [shown(c).splitlines()[-2] for c in app.query(DigitCard) if c.display]
        assert all("✗" in c for c in captions)  # (the caption's first line: ✗ and the true class)
        await pilot.press("m")
        assert app.dashboard.digit_indices() == list(range(len(first)))
        await pilot.press("p")  # previous: from the first page to the last
        pages = app.view.pages(len(first))
        assert app.view.page == pages - 1
        await pilot.press("f", "f", "f", "f")  # the digits of class 3 only
        labels = app.view.test_labels
        shown3 = app.dashboard.digit_indices()
        assert shown3 and all(labels[i] == 3 for i in shown3)
        assert "of class 3" in app.query_one(DigitGallery).border_title
        await pilot.press("g")
        await pilot.pause()
        await pilot.press("2", "enter")
        await pilot.pause()
        assert app.view.page == 1 and app.dashboard.digit_indices() == [
            i for i, y in enumerate(labels) if y == 3][len(first):2 * len(first)]


async def test_save_writes_a_loadable_checkpoint(make, tmp_path):
    app = make(epochs=1)
    async with app.run_test(size=SIZE) as pilot:
        await finished(app)
        saved = app.next_event(Saved)
        await pilot.press("s")
        path = (await asyncio.wait_for(saved, 30)).path
        state = checkpoint.load(path)
        assert state["epoch"] == 1 and state["hparams"]["lr"] == 0.2
        assert f"Checkpoint saved: {path}" in log_text(app)


async def test_help_screen(make):
    app = make(epochs=1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        first = str(app.screen.query_one("#help-keys").render()).splitlines()[0]
        assert first == "mnist-tui keys  Esc closes · ↑↓ PgDn End scroll"  # how to leave it
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_quit_asks_while_running_and_stops_the_engine(make):
    app = make(epochs=LONG)
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.wait_for_state("training"), 60)
        engine = app.engine
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen) and app.engine is engine
        await pilot.press("q")
        saved = app.next_event(Saved)
        await pilot.press("y")
        path = (await asyncio.wait_for(saved, 30)).path  # nothing lost: --resume continues
        await pilot.pause()
    assert app.engine is None and not engine.alive()
    assert checkpoint.load(path)["step"] > 0


async def test_quit_without_asking_when_finished(make):
    app = make(epochs=1)
    async with app.run_test(size=SIZE) as pilot:
        await finished(app)
        engine = app.engine
        await pilot.press("q")
        await pilot.pause()
    assert not engine.alive()


async def test_bad_data_is_a_message_not_a_crash(make, tmp_path, tui_data):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tui_data, bad)
    (bad / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8bnot really gzip")
    app = make()
    app.spec = app.spec.__class__(**{**app.spec.__dict__, "data_dir": str(bad)})
    async with app.run_test(size=SIZE) as pilot:
        assert await finished(app) == "error"
        await pilot.pause()
        assert "train-labels-idx1-ubyte.gz" in app.error and "\n" not in app.error
        assert f"Error: {app.error}" in log_text(app)
        assert app.query_one(StatusBar).state == "error"


@pytest.mark.parametrize("size", [(80, 24), (40, 12), (20, 6)])
async def test_small_terminals_degrade_without_crashing(replay, size):
    app = replay(epochs=1)
    async with app.run_test(size=size) as pilot:
        await finished(app)
        await pilot.press("n", "m")
        await pilot.pause()
        assert app.screen.has_class("-compact")


async def test_plots_are_redrawn_one_per_timer_tick_after_a_test(replay):
    """A test dirties both plots and the digits: the timer draws one plot per tick, so
    no single frame carries all of it (a key press waits behind the longest frame)."""
    app = replay(epochs=1)
    async with app.run_test(size=SIZE):
        await finished(app)
        drawn: list[str] = []
        for plot in (app.query_one(LossPlot), app.query_one(AccuracyPlot)):
            plot.replot = lambda *a, _name=type(plot).__name__, **kw: drawn.append(_name)
        app.dashboard.plots.dirty.update(("loss", "accuracy"))
        app.dashboard.plots.redraw()
        assert len(drawn) == 1
        app.dashboard.plots.redraw()
        assert sorted(drawn) == ["AccuracyPlot", "LossPlot"] and not app.dashboard.plots.dirty
        app.dashboard.plots.dirty.update(("loss", "accuracy"))
        app.dashboard.plots.redraw(everything=True)  # a pause or the end: all at once
        assert len(drawn) == 4 and not app.dashboard.plots.dirty


async def footer_caught_up(pilot, footer, looks: FooterLooks | None = None, since: int = 0):
    """Yield to the app until ``footer`` shows what the screen's bindings say (and, given
    ``looks``, has looked at the keys more than ``since`` times, whatever it decided
    carried out). Its rebuild comes a few callbacks after a change (on idle, then after
    a refresh): one pause is not always enough on a busy machine."""
    from textual.widgets._footer import FooterKey

    for _ in range(500):
        await pilot.pause()
        shown = [k.action for k in footer.query(FooterKey)]
        if (looks is None or looks.count > since) and shown == [key[2] for key in footer.shown_keys()]:
            return list(footer.query(FooterKey))
    raise AssertionError(f"the footer shows {shown}, not {footer.shown_keys()}")


async def test_footer_rebuilds_only_when_its_keys_change(replay):
    """Opening and closing a view leaves the dashboard's keys as they were: the footer
    keeps its key widgets (rebuilding them held up the next key press)."""
    from tui.widgets.footer import KeyFooter

    app = replay(epochs=1)
    async with app.run_test(size=SIZE) as pilot:
        await finished(app)
        footer = app.dashboard.query_one(KeyFooter)
        looks = FooterLooks(footer)
        keys = await footer_caught_up(pilot, footer)
        by_action = {k.action: k for k in keys}
        assert "app.toggle_pause" not in by_action and "app.help" in by_action  # the run is over
        for view in ("question_mark", "c", "h"):
            await pilot.press(view)
            assert app.screen is not app.dashboard
            since = looks.count
            await pilot.press("escape")
            now = await footer_caught_up(pilot, footer, looks, since)  # it has looked again ...
            assert app.screen is app.dashboard
            assert len(now) == len(keys) and all(a is b for a, b in zip(now, keys))  # ... and kept its keys


async def test_footer_catches_up_with_keys_that_changed_under_a_view(make):
    from tui.widgets.footer import KeyFooter

    app = make(epochs=LONG)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")  # at once: the data is still loading
        assert isinstance(app.screen, HelpScreen)
        await asyncio.wait_for(app.wait_for_state("training"), 60)
        await asyncio.wait_for(app.next_event(Tick), 30)
        footer = app.dashboard.query_one(KeyFooter)
        looks = FooterLooks(footer)
        await pilot.press("escape")
        actions = {k.action for k in await footer_caught_up(pilot, footer, looks)}
        assert {"app.toggle_pause", "next_digits", "misclassified", "confusion"} <= actions


async def test_a_training_process_that_cannot_start_is_an_error_on_screen(make, monkeypatch):
    """E.g. no process can be spawned (out of file descriptors or PIDs): a message,
    the error state, keys still live; not a dashboard stuck on "loading"."""
    from tui.engine.bridge import ThreadTransport

    def refuse(self):
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(ThreadTransport, "start", refuse)
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        assert await asyncio.wait_for(app.wait_for_state("error"), 10) == "error"
        assert "could not start training: [Errno 24] Too many open files" in log_text(app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)


async def test_engine_events_and_the_plot_timer_after_shutdown_are_ignored(make):
    """The engine and the plot timer can still deliver while the app closes (its
    widgets going): they must not raise."""
    from tui.widgets.plotsrow import PLOTS

    app = make(epochs=LONG)
    async with app.run_test(size=SIZE):
        tick = await asyncio.wait_for(app.next_event(Tick), 60)
    app.dashboard.plots.dirty.update(PLOTS)
    app.dashboard.plots.redraw()
    before = app.view.train.count
    app.dashboard.on_tick(msg_of(app, tick))
    assert app.dashboard.plots.dirty and app.view.train.count == before  # nothing drawn or added


async def test_resize_storm_while_training(make):
    app = make(epochs=LONG)
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.wait_for_state("training"), 60)
        for i in range(12):
            await pilot.resize_terminal(40 + (i * 37) % 100, 10 + (i * 13) % 40)
        tick = app.next_event(Tick)
        await pilot.resize_terminal(*SIZE)
        tick = await asyncio.wait_for(tick, 30)
        assert tick.step > 0 and app.state in ("training", "testing")


async def test_training_goes_on_under_a_modal_screen(make):
    app = make(epochs=LONG)
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.wait_for_state("training"), 60)
        await pilot.press("e")
        assert isinstance(app.screen, EditScreen)
        first = await asyncio.wait_for(app.next_event(Tick), 30)
        later = await asyncio.wait_for(app.next_event(Tick), 30)
        assert later.step > first.step and isinstance(app.screen, EditScreen)
        assert app.is_running


async def test_the_dashboard_writes_a_run_folder(make, tmp_path):
    app = make(epochs=1)
    async with app.run_test(size=SIZE):
        await finished(app)
        shown_log = log_text(app)
    run = tmp_path / "run"
    assert {p.name for p in run.iterdir()} >= {"config.json", "metrics.jsonl", "metrics.csv",
                                               "checkpoint-last.pt", "checkpoint-best.pt"}
    assert checkpoint.load(run / "checkpoint-last.pt")["epoch"] == 1
    assert f"run folder: {run}" in shown_log


def layout_of(app) -> dict:
    """What a user sees of the layout: each pane's place, the cards shown, the keys."""
    from textual.widgets._footer import FooterKey

    from tui.widgets.footer import KeyFooter

    screen = app.screen_stack[0]
    panes = {}
    for sel in ("#status", "#progress", "#plots", "#loss-plot", "#acc-plot", "#middle",
                "#gallery", "#hparams", "#log"):
        w = screen.query_one(sel)
        panes[sel] = (w.display and w.parent.display, tuple(w.region) if w.display else None)
    footer = screen.query_one(KeyFooter)
    return {"classes": sorted(c for c in screen.classes if c.startswith("-")), "panes": panes,
            "footer": tuple(footer.region),
            "keys": [k.description for k in screen.query(FooterKey)
                     if k.region.right <= app.size.width],  # on screen, not cut off
            "log_at_end": screen.query_one("#log").is_vertical_scroll_end,
            "cards": sum(1 for c in screen.query(DigitCard) if c.display)
            if screen.query_one("#middle").display else 0,
            "plots": plots_drawn(screen)}


def plots_drawn(screen) -> dict:
    """The plots as drawn, once any replot the last resize asked for has been done (the
    timer would do it within half a second; a resize must have asked for it)."""
    from tui.widgets.plots import AccuracyPlot, LossPlot
    from tui.widgets.plotsrow import PlotsRow

    row = screen.query_one(PlotsRow)
    row.redraw(everything=True)  # what the row knows is stale, drawn now
    return {p.NAME: p.render().plain for p in (screen.query_one(LossPlot), screen.query_one(AccuracyPlot))
            if p.display and row.display and p.size.width > 0}


async def settled(pilot) -> None:
    for _ in range(3):  # the resize, then the gallery refilled after the new layout
        await pilot.pause()


SIZES = [(120, 40), (80, 24), (40, 12), (120, 40)]


async def test_any_resize_sequence_ends_in_the_fresh_start_layout(replay):
    fresh = {}
    for size in set(SIZES):
        app = replay(epochs=1)
        async with app.run_test(size=size) as pilot:
            await finished(app)
            await settled(pilot)
            fresh[size] = layout_of(app)
    assert fresh[(120, 40)]["classes"] == [] and fresh[(40, 12)]["classes"] == ["-compact", "-tiny"]
    assert "Quit" in fresh[(80, 24)]["keys"] and "Help" in fresh[(80, 24)]["keys"]
    assert fresh[(120, 40)]["cards"] >= 5
    app = replay(epochs=1)
    async with app.run_test(size=SIZES[0]) as pilot:
        await finished(app)
        await settled(pilot)
        for size in SIZES:
            await pilot.resize_terminal(*size)
            await settled(pilot)
            assert layout_of(app) == fresh[size], size


async def test_after_a_resize_the_plots_are_drawn_for_their_new_size_at_once(replay):
    """A plot's labels and ticks are chosen for its size: after a resize, drawn until the
    row's timer came round (up to a second) with the old size's labels, the labels stood
    unevenly apart and the points on rows not their own (seen once at 80x24)."""
    from tests.plotcheck import assert_points_on_nearest_rows

    app = replay()
    async with app.run_test(size=(120, 40)) as pilot:
        await finished(app)
        await pilot.press("z")  # the whole run: every test on the plots
        await settled(pilot)
        for size in ((80, 24), (60, 20), (120, 40), (80, 24)):
            await pilot.resize_terminal(*size)
            await pilot.pause()  # the resize, and no more: not the plots' timer
            acc, loss = app.dashboard.query_one(AccuracyPlot), app.dashboard.query_one(LossPlot)
            assert_points_on_nearest_rows(acc.render().plain, list(app.view.test_acc))
            assert_points_on_nearest_rows(loss.render().plain, list(app.view.test_loss), log=loss.log)


async def test_under_60x20_only_the_progress_and_the_log_remain_after_v_too(replay):
    """v at 80x24 shows the digits in the plots' place; made smaller than 60x20 the
    screen keeps only the progress and the log, as the README says (the digits stayed:
    the rule for v outweighed the one for tiny screens)."""
    app = replay()
    async with app.run_test(size=(80, 24)) as pilot:
        await finished(app)
        await pilot.press("v")
        await settled(pilot)
        assert app.dashboard.query_one("#middle").display  # the digits, in the plots' place
        await pilot.resize_terminal(50, 15)
        await settled(pilot)
        shown = [w.id for w in app.dashboard.children if w.display]
        assert "middle" not in shown and "plots" not in shown and "log" in shown, shown
        await pilot.resize_terminal(80, 24)
        await settled(pilot)
        assert app.dashboard.query_one("#middle").display  # v still in force at 80x24


async def test_an_edit_while_training_is_announced_once_and_marked_once(make):
    """One lr edit: one "Applied at step" line, one mark on the loss plot, labelled
    with what changed. (Run.apply returned the event and also queued it for
    Run.events(): the bridge forwarded both.)"""
    from tui.widgets.plots import Mark

    app = make(epochs=LONG)
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.wait_for_state("training"), 60)
        await asyncio.wait_for(app.next_event(Tick), 30)
        await edit(pilot, app, lr="0.05")
        result = app.next_event(EditResult)
        await pilot.press("enter")
        assert (await asyncio.wait_for(result, 30)).ok
        # A second copy would come out of the run's events before its next steps.
        for _ in range(2):
            await asyncio.wait_for(app.next_event(Tick), 30)
        paused = app.next_event(PauseChanged)
        await pilot.press("space")
        await asyncio.wait_for(paused, 30)
        await pilot.pause()
        applied = [line for line in app.log_lines if line.startswith("Applied at step")]
        assert len(applied) == 1 and applied[0].endswith("lr 0.2 → 0.05"), applied
        assert app.view.marks == [Mark(app.engine.run.history.edits[-1]["seen"], "lr 0.05")]
        await pilot.press("z")  # the whole run: training went on, the edit may be out of the recent part
        plot = app.query_one(LossPlot)
        assert plot.whole and plot.render().plain.count("lr 0.05") == 1


async def test_plots_zoom_on_the_recent_tests_and_switch_to_the_whole_run(replay):
    """A run from 10 % to 95 %: the accuracy axis covers the recent tests (the first
    test's 10 % would flatten them), z shows the whole run; the loss likewise; o smooths
    the train loss, l puts the loss on a log axis; the title keeps the best and its epoch."""
    app = replay(epochs=1)
    async with app.run_test(size=SIZE) as pilot:
        await finished(app)
        accs = [10.0, 83.0, 86.0, 87.5, 88.0, 88.6, 89.0, 94.0, 95.0, 94.5, 94.8, 94.9, 94.7]
        view = app.view
        view.reset_run()
        losses = [2.36, *(0.5 - 0.02 * e for e in range(1, len(accs)))]
        for epoch, (acc, loss) in enumerate(zip(accs, losses)):
            view.add_test(epoch, epoch * 1000, loss, acc)
        view.train.extend((x, 2.3 if x < 1000 else 0.5 - x / 60000 + 0.05 * (x % 30 == 0))
                          for x in range(10, view.test_x[-1] + 1, 10))
        app.dashboard.plots.now()
        loss, acc = app.query_one(LossPlot), app.query_one(AccuracyPlot)
        x_lo, x_hi, y_lo, y_hi = acc.shown_range
        assert x_lo == 3000 and x_hi == 12000  # the last ten tests
        assert 86 < y_lo <= 87.5 and 95 <= y_hi <= 100
        assert "best 95.00 (epoch 8)" in acc.render().plain and "recent" in acc.render().plain
        assert loss.shown_range[0] == 3000 and loss.shown_range[3] < 1.0
        await pilot.press("z")
        assert acc.shown_range[0] == 0 and acc.shown_range[2] <= 10 and acc.shown_range[3] == 100
        assert loss.shown_range[0] == 0 and loss.shown_range[3] >= 2.36
        assert "best 95.00 (epoch 8)" in acc.render().plain and "whole run" in acc.render().plain
        await pilot.press("z")
        assert acc.shown_range[0] == 3000
        # Smoothing: the smoothed line drawn over the raw one (dimmed), the title says so.
        before = loss.render().plain
        await pilot.press("o")
        assert "smoothed 0.6" in loss.render().plain and loss.render().plain != before
        await pilot.press("o", "o", "o")
        assert loss.smoothing == 0.0 and "smoothed" not in loss.render().plain
        assert not loss.log  # auto: these losses span less than a decade, a linear axis
        await pilot.press("l")
        assert loss.scale == "log" and loss.log and loss.shown_range[3] < 0  # log10 of losses under 1
        assert "log" in loss.render().plain.splitlines()[0]
        await pilot.press("l")
        assert loss.scale == "linear" and not loss.log and "linear" in loss.render().plain


async def test_restart_asks_first_during_a_run(make):
    app = make(epochs=LONG)
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.wait_for_state("training"), 60)
        engine = app.engine
        await pilot.press("r")
        assert isinstance(app.screen, ConfirmScreen) and "Restart" in shown(app.screen.query_one(Static))
        await pilot.press("n")
        await pilot.pause()
        assert app.engine is engine and app.restarts == 0 and app.state in ("training", "testing")


async def test_paused_the_footer_offers_resume_and_the_rows_say_paused(make):
    from tui.widgets.footer import KeyFooter

    app = make(epochs=LONG)  # show_eta is off in tests: turn it on to see it go
    app.show_eta = True
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.wait_for_state("training"), 60)
        footer = app.dashboard.query_one(KeyFooter)
        rows = []
        # The epoch row as each Tick leaves it (an EpochStarted may come in before a
        # check after an await: its row has no rate yet).
        app.on_handled.append(lambda ev: isinstance(ev, Tick) and rows.append(
            app.dashboard.query_one("#epoch", ProgressRow).plain))
        await asyncio.wait_for(app.next_event(Tick), 30)
        assert "samples/s" in rows[-1]
        keys = {k.action: k.description for k in await footer_caught_up(pilot, footer)}
        assert keys.get("app.toggle_pause") == "Pause" and "app.resume" not in keys
        paused = app.next_event(PauseChanged)
        await pilot.press("space")
        await asyncio.wait_for(paused, 30)
        keys = {k.action: k.description for k in await footer_caught_up(pilot, footer)}
        assert keys.get("app.resume") == "Resume" and "app.toggle_pause" not in keys
        epoch, run = (app.query_one(f"#{n}", ProgressRow).plain for n in ("epoch", "run"))
        assert epoch.endswith("· paused") and "samples/s" not in epoch and "ETA" not in epoch
        assert run.endswith("· paused") and "ETA" not in run
        resumed = app.next_event(PauseChanged)
        await pilot.press("space")
        assert not (await asyncio.wait_for(resumed, 30)).paused


async def test_an_epochs_first_ticks_show_the_last_epochs_rate_not_its_start(replay):
    """At an epoch's first Tick the engine's rate is its first steps' (the shuffle, cold
    caches): the rows show the rate and ETAs of the epoch before it, moving over to the
    epoch's own by half-way (viewmodel.steady_rate)."""
    from core.events import EpochEnd

    app = replay()
    app.show_eta = True
    async with app.run_test(size=SIZE) as pilot:
        tick = await asyncio.wait_for(app.next_event(Tick), 60)
        await finished(app)  # nothing else moves the rows from here
        n, board = tick.n_train, app.dashboard

        def at(epoch: int, done: int, rate: float):
            board.on_tick(msg_of(app, replace(tick, epoch=epoch, epoch_samples=done,
                                              samples_per_sec=rate, points=[], lines=[])))

        def rows() -> tuple[str, str]:
            return tuple(app.query_one(f"#{name}", ProgressRow).plain for name in ("epoch", "run"))

        at(3, n - 50, 80_000.0)
        board.on_epoch_end(msg_of(app, EpochEnd(3, 3 * n, 3 * n // 50, 0.3, 1.0)))
        at(4, n // 20, 9_000.0)  # a step into epoch 4, at a ninth of the speed
        await pilot.pause()
        epoch = rows()[0]
        shown = int(re.search(r"([\d,]+) samples/s", epoch).group(1).replace(",", ""))
        assert 70_000 < shown < 80_000, epoch  # mostly the last epoch's (9,000 before the fix)
        at(4, n // 2, 70_000.0)
        await pilot.pause()
        assert "70,000 samples/s" in rows()[0], rows()
        app.view.reset_run()  # a restart (as app.restart does): no epoch before it
        at(1, 50, 9_000.0)
        await pilot.pause()
        assert "9,000 samples/s" in rows()[0], rows()


async def test_space_while_loading_starts_training_paused(make, monkeypatch):
    import threading

    from core import datasets

    loaded, real_load = threading.Event(), datasets.load

    def slow_load(*args, **kwargs):  # the data comes when the test says so
        loaded.wait(30)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(datasets, "load", slow_load)
    app = make(epochs=LONG)
    async with app.run_test(size=SIZE) as pilot:
        assert app.state == "loading"
        paused = app.next_event(PauseChanged)
        await pilot.press("space", "n")
        loaded.set()
        ev = await asyncio.wait_for(paused, 60)
        assert ev.paused and ev.step == 0 and app.state == "paused"
        assert "Training will start paused" in log_text(app)
        await pilot.pause()
        assert app.view.page == 1 and app.dashboard.digit_indices()[0] == len(app.dashboard.digit_indices())
        assert app.engine.run.step == 0


async def test_missing_data_shows_where_it_looked_and_switches_to_a_dataset_found_here(make, tmp_path):
    """The engine's EngineFailed for missing files names the folders it searched and
    the datasets whose files are here; posted as the engine would."""
    from dataclasses import replace as dc_replace

    from tests.helpers import FASHION
    from tui.engine.protocol import DataReady, EngineFailed
    from tui.widgets.nodata import NoDataPanel

    empty = tmp_path / "empty"
    empty.mkdir()
    app = make()
    app.spec = dc_replace(app.spec, data_dir=str(empty))
    message = (f"MNIST: the files were not found in {empty} or {tmp_path / 'cache' / 'mnist'}, "
               f"and downloading is off; copy the four files there or pass --data-dir")
    async with app.run_test(size=(80, 24)) as pilot:
        assert await finished(app) == "error"
        app.dashboard.post_message(msg_of(app, EngineFailed(
            message, searched=(str(empty), str(tmp_path / "cache" / "mnist")),
            alternatives=("fashion-mnist",))))
        await pilot.pause()
        panel = app.query_one(NoDataPanel)
        text = shown(panel)
        assert panel.display and not app.query_one("#plots").display
        assert " ".join(message.split()) in " ".join(text.split())  # whole, wrapped
        assert "Looked in:" in text and str(empty) in text
        assert "--data-dir DIR" in text and f"copy them into {tmp_path / 'cache' / 'mnist'}" in text
        assert "d: train on fashion-mnist instead" in text
        assert app.dashboard.check_action("other_dataset", ())
        if not (FASHION / "t10k-labels-idx1-ubyte.gz").exists():
            pytest.skip("Debian's dataset-fashion-mnist is not installed")
        ready = app.next_event(DataReady)
        await pilot.press("d")
        assert (await asyncio.wait_for(ready, 60)).title == "Fashion-MNIST"
        await pilot.pause()
        assert app.spec.dataset == "fashion-mnist" and app.spec.data_dir is None
        assert not panel.display and app.query_one("#plots").display
        assert not app.dashboard.check_action("other_dataset", ())


async def test_leaving_prints_a_receipt(make, tmp_path, capsys):
    from tui.dashboard.app import print_receipt

    app = make(epochs=2)
    async with app.run_test(size=SIZE) as pilot:
        await finished(app)
        await pilot.press("q")
    run = tmp_path / "run"
    best, epoch = max(zip(app.view.test_acc, app.view.test_epochs), key=lambda t: (t[0], -t[1]))
    assert app.view.best == (best, epoch)  # kept as the tests came
    print_receipt(app)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"run folder:    {run}",
                     f"epochs:        2/2 · best accuracy {best:.2f}% (epoch {epoch})",
                     f"train further: mnist-tui --resume {run} --epochs 12",
                     f"watch it:      mnist-tui watch {run}"]


def test_the_receipt_of_a_run_that_never_started_is_its_error(tmp_path):
    from tui.dashboard.app import receipt_text

    assert receipt_text(tmp_path / "none", 0, 25, error="no data") == "mnist-tui: error: no data"
    (tmp_path / "config.json").write_text("{}")
    text = receipt_text(tmp_path, 0, 25, (9.8, 0))
    assert "epochs:     0/25 · best accuracy 9.80% (epoch 0)" in text and "--resume" not in text


async def test_narrow_rows_header_and_captions_keep_what_matters_and_end_in_an_ellipsis(make):
    import numpy as np
    from rich.console import Console

    from tui.widgets.gallery import digit_card

    app = make(epochs=LONG)
    async with app.run_test(size=SIZE) as pilot:
        tick = await asyncio.wait_for(app.next_event(Tick), 60)
        paused = app.next_event(PauseChanged)
        await pilot.press("space")
        await asyncio.wait_for(paused, 30)
        n = tick.n_train
        app.dashboard.on_tick(msg_of(app, replace(tick, epoch=3, epoch_samples=n * 82 // 100, points=[], lines=[])))
        row = app.query_one("#epoch", ProgressRow)
        for width in (58, 38):
            row.styles.width = width
            await pilot.pause()
            assert len(row.plain) <= width and "82%" in row.plain, row.plain
            assert f"{n * 82 // 100:,}/{n:,}" in row.plain, row.plain  # the count is whole
        status = app.query_one(StatusBar)
        status.network = "784-100-50-10 sigmoid · 84,060 params " * 3
        await pilot.pause()
        line = status.render().plain  # the long network left out, lr and batch size kept
        assert len(line) <= status.content_size.width and "lr 0.2" in line and "batch 50" in line
        status.mode = "watching " + "/very/long/path" * 8 + "/run (read-only)"
        await pilot.pause()
        line = status.render().plain  # the folder by its name: lr and batch size stay
        assert "watching run │" in line and "lr 0.2" in line and len(line) <= status.content_size.width
        status.network, status.short_optimizer = "x" * 300, "y" * 300  # nothing left out fits
        await pilot.pause()
        line = status.render().plain
        assert line.endswith("…") and len(line) == status.content_size.width
    console = Console(width=40, color_system=None, file=open("/dev/null", "w"))
    with console.capture() as cap:
        console.print(digit_card(np.zeros((28, 28), np.uint8), "Ankle boot", "Ankle boot", 0.97,
                                 ascii=True, scale=1, index=0))
    caption = cap.get().splitlines()[-1].rstrip()
    assert caption.endswith("…") and len(caption) == 28 and caption.startswith("✓ Ankle boot → Ankle")


async def test_keys_typed_in_a_burst_into_the_form_after_a_refused_apply_all_count(replay):
    """As a terminal delivers them (tmux send-keys C-a C-k 0.4 Enter): all the keys
    queued at once, not one per frame as Pilot presses them."""
    from textual import events

    app = replay(epochs=1)
    async with app.run_test(size=SIZE) as pilot:
        await finished(app)
        screen = await edit(pilot, app, lr="-1")
        await pilot.press("enter")  # refused at its field
        await pilot.pause()
        assert app.screen is screen
        for key, char in [("ctrl+a", "\x01"), ("ctrl+k", "\x0b"), ("0", "0"), ("full_stop", "."),
                          ("4", "4"), ("enter", "\r")]:
            app.post_message(events.Key(key, char))
        for _ in range(20):  # a few frames (a refused value would keep the form open)
            if app.screen is not screen:
                break
            await pilot.pause()
        assert app.screen is not screen and app.view.pending == {"lr": 0.4}


async def test_tab_and_a_value_typed_in_one_burst_land_in_the_next_field(replay):
    """tmux send-keys Tab 4 (fast typing over SSH): the 4 belongs to momentum, not lr."""
    from textual import events

    from tui.dashboard.edit import EditScreen

    app = replay(epochs=1)
    async with app.run_test(size=SIZE) as pilot:
        await finished(app)
        await pilot.press("e")
        for _ in range(20):
            if isinstance(app.screen, EditScreen):
                break
            await pilot.pause()
        screen = app.screen
        await pilot.pause()
        assert screen.focused.id == "f-lr"
        for key, char in [("tab", "\t"), ("ctrl+a", "\x01"), ("ctrl+k", "\x0b"), ("0", "0"),
                          ("full_stop", "."), ("5", "5")]:
            app.post_message(events.Key(key, char))
        for _ in range(20):
            if screen.query_one("#f-momentum").value == "0.5":
                break
            await pilot.pause()
        assert screen.query_one("#f-momentum").value == "0.5"
        assert screen.query_one("#f-lr").value == "0.2" and screen.focused.id == "f-momentum"


async def test_a_transport_started_before_the_app_is_the_first_runs_and_a_restart_builds_a_new_one(
        make, tmp_path):
    """The command line can start the training process before it imports Textual: the
    app takes it as its first run's; a restart starts a fresh one (the old is closed)."""
    from tui.engine.bridge import ThreadTransport

    app = make(epochs=1)
    spec = replace(app.spec, run_dir=str(tmp_path / "early"))
    early = ThreadTransport(spec)
    early.start()
    app = type(app)(spec, engine="thread", show_eta=False, run_dir=spec.run_dir, transport=early)
    async with app.run_test(size=SIZE) as pilot:
        assert await finished(app) == "finished"
        assert app.engine is early and (tmp_path / "early" / "config.json").exists()
        started = app.next_event(Tick)
        await pilot.press("r")  # the run is over: no question asked
        await asyncio.wait_for(started, 60)
        assert app.engine is not early and isinstance(app.engine, ThreadTransport)
        assert not early.alive() and app.restarts == 1


async def test_the_edit_form_mounting_needs_none_of_its_widgets(make):
    """The app composes the form off-screen while the data loads; the app can close
    meanwhile, its widgets removed before the form's Mount is handled (NoMatches '#f-lr',
    now and then under load). Its on_mount queries nothing, so an app closed at once,
    its form half built, closes cleanly, and the form still opens focused on lr."""
    from core.config import Hyperparameters

    form = EditScreen(Hyperparameters())
    form.on_mount()  # no children at all: nothing to find, nothing raised
    for _ in range(3):
        app = make(epochs=LONG)
        async with app.run_test(size=SIZE):
            pass  # closed at once: the form may be composing
    app = make(epochs=LONG)
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.wait_for_state("training"), 60)
        screen = await edit(pilot, app)
        assert screen.focused is screen.query_one("#f-lr", Input)
        assert not any(e.display for e in screen.query(".error"))
        await pilot.press("escape")


async def test_edits_made_after_the_run_ended_say_they_wait_for_a_restart(replay):
    """With no run in progress every edit waits for r: the pane says "on restart", as
    the log does, not "now" (lr's effect during a run)."""
    from tui.widgets.hparams import HparamsPane

    app = replay(epochs=1)
    async with app.run_test(size=SIZE) as pilot:
        await finished(app)
        await edit(pilot, app, lr="0.05")
        await pilot.press("enter")
        await pilot.pause()
        assert app.view.pending == {"lr": 0.05}
        pane = app.screen.query_one(HparamsPane)
        text = "\n".join(pane.render_line(y).text for y in range(pane.size.height))
        assert "0.2 → 0.05" in text and "(on restart)" in text and "(now)" not in text
        assert "Waiting (on restart): lr → 0.05" in log_text(app)


async def test_a_form_field_given_the_focus_after_the_app_closed_does_not_raise(replay):
    """The edit form is built off-screen while the data loads: an app closed meanwhile
    can still focus one of its fields once its last screen has gone (seen in CI as
    ScreenStackError from Input's focus handler)."""
    from textual import events

    from tui.dashboard.edit import FieldInput

    app = replay(epochs=1)
    async with app.run_test(size=SIZE) as pilot:
        await finished(app)
        await pilot.press("e")  # the form exists, with its fields
        await pilot.pause()
        field = app.screen.query_one("#f-lr", FieldInput)
    assert not app.screen_stack
    from textual._context import active_app  # as inside the app's own message loop

    token = active_app.set(app)
    try:
        from textual.widgets.input import Selection

        field.set_reactive(FieldInput.selection, Selection.cursor(0))  # (no watcher runs)
        # so that focusing selects the text: Input then asks
        await field.on_event(events.Focus())  # the app for its screen; there is none: no error
    finally:
        active_app.reset(token)


async def test_the_edit_form_handles_a_fields_first_value_with_its_widgets_gone(make):
    """Each field posts a Changed for its first value as it mounts; the form composed
    off-screen handles those later, and when the app closed meanwhile its widgets were
    gone (NoMatches '#err-momentum', now and then under load). The form keeps its error
    lines from compose, so a Changed handled after they were removed raises nothing."""
    app = make(epochs=LONG)
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.wait_for_state("training"), 60)
        screen = await edit(pilot, app)
        field = screen.query_one("#f-momentum", Input)
        await screen.query_one(VerticalScroll).remove()  # as at shutdown: the fields gone
        assert not screen.query("#err-momentum")
        screen.on_input_changed(Input.Changed(field, "-1", field.validate("-1")))
        screen.on_input_changed(Input.Changed(field, "0.5", field.validate("0.5")))
        await pilot.press("escape")
