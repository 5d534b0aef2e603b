"""The dashboard screen: the run's view (``RunView``) and its keys.

The keys that act on the run (space, e, s, ?, q) are the app's too, so that they work
on every screen; the App hands them here. What each key sends the run is a typed
command (``tui.engine.bridge``); what comes back is shown by ``RunView``'s handlers.
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

import tui.dashboard.messages as msg
from core import events as run_events
from tui.engine import protocol
from tui.engine.protocol import Edit, Pause, PredictImage, Resume, Save, Trace
from tui.dashboard.messages import engine_handler
from tui.screens.confirm import ConfirmScreen
from tui.dashboard.edit import EditScreen
from tui.dashboard.runview import RunView
from tui.dashboard.states import AppState
from tui.dashboard.viewmodel import KeyContext, key_applies
from tui.widgets.gallery import DigitGallery

# Keys that drive the run itself: the App binds them too, for every other screen.
RUN_KEYS = ("toggle_pause", "resume", "edit", "save", "help", "quit_app")


class DashboardScreen(RunView):
    BINDINGS = [
        Binding("space", "toggle_pause", "Pause"),
        Binding("space", "resume", "Resume"),  # the same key: the footer says what it does now
        Binding("e", "edit", "Edit"),
        Binding("r", "restart", "Rerun"),  # short: "space Resume ... q Quit" fits 80 columns
        Binding("v", "show_digits", "Digits"),  # the compact layout's pane: plots or digits
        Binding("v", "show_plots", "Plots"),
        Binding("n", "next_digits", "Next"),
        # The gallery's title names these (the footer has no room at 80 columns).
        Binding("p", "prev_digits", "Prev", show=False),
        Binding("g", "goto_page", "Page", show=False),
        Binding("f", "class_filter", "Class", show=False),
        Binding("m", "misclassified", "Wrong"),
        Binding("c", "confusion", "Matrix"),
        Binding("h", "hardest", "Hard"),
        Binding("w", "inside", "Inside"),
        Binding("d", "draw", "Draw"),
        # Not in the footer: a checkpoint is written after every test and on quitting
        # anyway (s is in the help screen).
        Binding("s", "save", "Save", show=False),
        # The plots' keys: the plot titles say what they show (the footer has no room).
        Binding("z", "zoom", "Zoom", show=False),
        Binding("o", "smooth", "Smooth", show=False),
        Binding("l", "log_scale", "Log", show=False),
        Binding("d", "other_dataset", "Other data"),  # only when the data is missing
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit_app", "Quit"),
    ]

    # ------------------------------------------------------------------ keys
    WATCH_KEYS = {"space": "pause", "e": "edit", "r": "rerun", "s": "save", "d": "draw"}

    def on_key(self, event) -> None:
        """Watching, the keys that would act on the run say why they do nothing (they
        are left out of the footer, which a user may not look at)."""
        what = self.WATCH_KEYS.get(event.key)
        if what and self.app.watch_dir is not None and self.app.screen is self:
            event.stop()
            event.prevent_default()
            self.app.notify(f"read-only: watching {self.app.watch_dir} ({what} acts on a run "
                            "this dashboard trains)", timeout=4)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        app = self.app
        return key_applies(action, KeyContext(app.state, app.engine is not None,
                                              app.watch_dir is not None, self.start_paused,
                                              self.alternatives, self.has_class("-compact"),
                                              self.has_class("-digits")), self.model)

    def action_toggle_pause(self) -> None:
        engine = self.app.engine
        if engine is None:
            return
        if self.app.state.loading:
            # The engine reads its commands once the run has started: it pauses there,
            # before the first step.
            self.start_paused = not self.start_paused
            engine.send(Pause() if self.start_paused else Resume())
            self.log_line("Training will start paused (space: resume)" if self.start_paused
                          else "Training will start at once")
            self.app.refresh_bindings()
        else:
            engine.send(Resume() if self.app.state == AppState.PAUSED else Pause())

    def action_resume(self) -> None:
        self.action_toggle_pause()

    def action_edit(self) -> None:
        """The form, then the edit: sent to the run, or waiting for a restart once it has
        ended (what waits and what is in force: the model's EditState)."""
        app, m = self.app, self.model
        restart_only = app.state.ended or app.engine is None

        def done(changes: dict[str, Any] | None) -> None:
            if not changes:
                return
            if restart_only:
                self.log_line(m.wait_for_restart(changes))
                self.refresh_static()
            elif app.engine is not None:
                app.engine.send(Edit(changes))

        form = self.edit_form()
        form.load(m.edits.target, min_epochs=1 if restart_only else m.min_epochs(),
                  restart_only=restart_only)
        app.push_screen(form, done)

    def edit_form(self) -> EditScreen:
        """The one form, filled in afresh for each opening (see EditScreen)."""
        if not self.app.is_screen_installed("edit"):
            self.app.install_screen(EditScreen(self.model.edits.target), "edit")
        return self.app.get_screen("edit")

    def action_restart(self) -> None:
        if self.app.state.active:  # as q does: a run in progress is not thrown away unasked
            def done(yes: bool | None) -> None:
                if yes:
                    self.app.restart()
            self.app.push_screen(ConfirmScreen("A run is in progress. Restart and start it over? "
                                               "(This run's folder and checkpoint stay as they are.)"),
                                 done)
        else:
            self.app.restart()

    def action_other_dataset(self) -> None:
        """The data is missing; train on a dataset whose files are here instead."""
        if self.alternatives:
            self.app.restart(dataset=self.alternatives[0])

    def action_show_digits(self) -> None:
        self.swap_view()

    def action_show_plots(self) -> None:
        self.swap_view()

    def swap_view(self) -> None:
        """The compact layout's one pane: the plots, or the digits."""
        self.toggle_class("-digits")
        self.refresh_bindings()
        if not self.has_class("-digits"):
            self.plots.now()

    def action_next_digits(self) -> None:
        self.model.page += 1
        self.show_digits()

    def action_prev_digits(self) -> None:
        self.model.page -= 1
        self.show_digits()

    def action_class_filter(self) -> None:
        """Only the digits of one true class: 0, 1, ... then all again."""
        m = self.model
        classes = len(m.class_names) or 10
        m.only_class = None if m.only_class == classes - 1 else (
            0 if m.only_class is None else m.only_class + 1)
        m.page = 0
        self.show_digits()

    def action_goto_page(self) -> None:
        from tui.screens.pagejump import PageScreen

        pages = self.model.pages(self.query_one(DigitGallery).capacity())

        def done(page: int | None) -> None:
            if page is not None:
                self.model.page = page - 1
                self.show_digits()

        self.app.push_screen(PageScreen(pages), done)

    def action_misclassified(self) -> None:
        self.model.only_wrong = not self.model.only_wrong
        self.model.page = 0
        self.show_digits()

    def action_confusion(self) -> None:
        from tui.dashboard.confusion import ConfusionScreen

        self.app.push_screen(ConfusionScreen(self.run_signals))

    def action_hardest(self) -> None:
        from tui.dashboard.hardest import HardestScreen

        self.app.push_screen(HardestScreen(self.run_signals))

    def action_zoom(self) -> None:
        self.plots.zoom()

    def action_smooth(self) -> None:
        self.plots.smooth()

    def action_log_scale(self) -> None:
        self.plots.log_scale()

    def action_inside(self) -> None:
        from tui.dashboard.inside import InsideScreen

        indices = self.digit_indices()
        self.app.push_screen(InsideScreen(ascii=self.app.ascii, follow=self.run_signals,
                                          architecture=self.model.hp.architecture(),
                                          digit=indices[0] if indices else 0,
                                          watching=self.app.watch_dir is not None))

    def want_digit(self, index: int) -> None:
        if self.app.engine is not None and self.model.test_labels:
            self.app.engine.send(Trace(index % len(self.model.test_labels)))

    def action_draw(self) -> None:
        from tui.draw.screen import DrawScreen, EnginePredictor

        def send(request_id: int, image: bytes) -> bool:
            if self.app.engine is None:
                return False
            self.app.engine.send(PredictImage(request_id, image))
            return True

        self._draw_predictor = EnginePredictor(send)
        self.app.push_screen(DrawScreen(self._draw_predictor, classes=self.model.class_names,
                                        run_dir=self.app.run_dir, ascii=self.app.ascii,
                                        tests=self.run_signals.test))

    def action_save(self) -> None:
        if self.app.engine is not None:
            self.app.engine.send(Save())

    def action_help(self) -> None:
        self.app.open_help()

    def action_quit_app(self) -> None:
        self.app.action_quit_app()

    # "Inside the network" (tui/dashboard/inside.py) and the drawing (tui/draw/screen.py)
    @engine_handler(msg.LayerStats)
    def on_layer_stats(self, ev: run_events.LayerStats) -> None:
        self.model.add_layer_stats(ev)
        self.run_signals.stats.publish(ev)

    @engine_handler(msg.FirstWeights)
    def on_first_weights(self, ev: protocol.FirstWeights) -> None:
        """Paused: the tiles of "Inside the network" show the weights as they are now."""
        import numpy as np

        weights = np.frombuffer(ev.weights, dtype=np.float32).reshape(ev.shape)
        self.run_signals.weights.publish((weights, f"paused at epoch {ev.epoch + 1}, step {ev.step:,}"))

    @engine_handler(msg.DigitTrace)
    def on_digit_trace(self, ev: run_events.DigitTrace) -> None:
        images = self.model.test_images
        image = images[ev.index] if images is not None else None
        self.run_signals.trace.publish((ev, image, self.model.class_names))

    @engine_handler(msg.ImagePredicted)
    def on_image_predicted(self, ev: protocol.ImagePredicted) -> None:
        """The live network's answer to a drawing."""
        if self._draw_predictor is not None:
            self._draw_predictor.deliver(ev)
