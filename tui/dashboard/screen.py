"""The dashboard screen: the run's view (``RunView``) and its keys.

The keys that act on the run (space, e, s, ?, q) are the App's, done there, so that
they work on every screen; the dashboard lists them as ``app.*`` actions in its footer's
order. Which keys apply is one pure function (``tui.dashboard.viewmodel.key_applies``)
of one context (``key_context``), for the App's keys and the screen's alike. What a key
sends the run is a typed command (``tui.engine.protocol``), through the App
(``app.send``); what comes back is shown by ``RunView``'s handlers.
"""

from __future__ import annotations

from textual.binding import Binding

import tui.dashboard.messages as msg
from core import events as run_events
from tui.engine import protocol
from tui.engine.protocol import PredictImage, Trace
from tui.dashboard.messages import engine_handler
from tui.screens.confirm import ConfirmScreen
from tui.dashboard.runview import RunView
from tui.dashboard.viewmodel import KeyContext, key_applies
from tui.widgets.gallery import DigitGallery


class DashboardScreen(RunView):
    BINDINGS = [
        Binding("space", "app.toggle_pause", "Pause"),
        Binding("space", "app.resume", "Resume"),  # the same key: the footer says what it does now
        Binding("e", "app.edit", "Edit"),
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
        Binding("s", "app.save", "Save", show=False),
        # The plots' keys: the plot titles say what they show (the footer has no room).
        Binding("z", "zoom", "Zoom", show=False),
        Binding("o", "smooth", "Smooth", show=False),
        Binding("l", "log_scale", "Log", show=False),
        Binding("d", "other_dataset", "Other data"),  # only when the data is missing
        Binding("question_mark", "app.help", "Help"),
        Binding("q", "app.quit_app", "Quit"),
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

    def key_context(self) -> KeyContext:
        """What decides which keys apply, besides the model: the app's state and engine,
        this screen's layout."""
        app = self.app
        return KeyContext(app.state, app.engine is not None, app.watch_dir is not None,
                          app.start_paused, self.alternatives, self.has_class("-compact"),
                          self.has_class("-digits"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return key_applies(action, self.key_context(), self.model)

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
        if self.model.test_labels:
            self.app.send(Trace(index % len(self.model.test_labels)))

    def action_draw(self) -> None:
        from tui.draw.screen import DrawScreen, EnginePredictor

        def send(request_id: int, image: bytes) -> bool:
            return self.app.send(PredictImage(request_id, image))

        self._draw_predictor = EnginePredictor(send)
        self.app.push_screen(DrawScreen(self._draw_predictor, classes=self.model.class_names,
                                        run_dir=self.app.run_dir, ascii=self.app.ascii,
                                        tests=self.run_signals.test))

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
