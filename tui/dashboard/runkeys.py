"""The keys that act on the run, on every screen: space (pause / resume), e (edit), s
(save), ? (help), q and Ctrl+C (quit). ``RunKeysApp`` binds them and does what they do;
``MnistTuiApp`` (tui/dashboard/app.py), which holds what they act on (the state, the
transport, the model), is one. The dashboard screen lists them as ``app.*`` actions in its
footer's order, so each key is bound to one action, done in one place.

Which keys apply now is ``tui.dashboard.viewmodel.key_applies`` (pure), of the context
the dashboard screen gives (``DashboardScreen.key_context``): the App's keys and the
screen's are decided by the one rule.
"""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.binding import Binding

from tui.dashboard.edit import EditScreen
from tui.dashboard.help import HelpScreen
from tui.dashboard.signals import save_then
from tui.dashboard.states import AppState
from tui.dashboard.viewmodel import key_applies
from tui.engine.protocol import Edit, Pause, Resume, Save
from tui.screens.confirm import ConfirmScreen


class RunKeysApp(App):
    """The run's keys, for every screen (see the module's docstring)."""

    BINDINGS = [
        Binding("space", "toggle_pause", "Pause"),
        Binding("space", "resume", "Resume"),
        Binding("e", "edit", "Edit"),
        Binding("s", "save", "Save", show=False),  # (as on the dashboard)
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit_app", "Quit"),
        Binding("ctrl+c", "quit_app", "Quit", show=False, priority=True),
    ]

    # What the keys act on: MnistTuiApp's
    state: AppState
    start_paused: bool
    engine: Any
    watch_dir: str | None
    view: Any        # tui.dashboard.viewmodel.DashboardModel
    dashboard: Any   # tui.dashboard.screen.DashboardScreen

    def send(self, command: Any) -> bool:
        raise NotImplementedError

    def shutdown(self) -> None:
        raise NotImplementedError

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return key_applies(action, self.dashboard.key_context(), self.view)

    def action_toggle_pause(self) -> None:
        if self.engine is None:
            return
        if self.state.loading:  # the run pauses before its first step (or not)
            self.start_paused = not self.start_paused
            self.send(Pause() if self.start_paused else Resume())
            self.dashboard.log_line("Training will start paused (space: resume)"
                                    if self.start_paused else "Training will start at once")
            self.refresh_bindings()
        else:
            self.send(Resume() if self.state == AppState.PAUSED else Pause())

    def action_resume(self) -> None:
        self.action_toggle_pause()

    def action_save(self) -> None:
        self.send(Save())

    def action_edit(self) -> None:
        """The form, then the edit: sent to the run, or waiting for a restart once it has
        ended (what waits and what is in force: the model's EditState)."""
        restart_only = self.state.ended or self.engine is None

        def done(changes: dict[str, Any] | None) -> None:
            if changes and restart_only:
                self.dashboard.log_line(self.view.wait_for_restart(changes))
                self.dashboard.refresh_static()
            elif changes:
                self.send(Edit(changes))

        form = self.edit_form()
        form.load(self.view.edits.target, restart_only=restart_only,
                  min_epochs=1 if restart_only else self.view.min_epochs())
        self.push_screen(form, done)

    def edit_form(self) -> EditScreen:
        """The one form, filled in afresh for each opening (see EditScreen)."""
        if not self.is_screen_installed("edit"):
            self.install_screen(EditScreen(self.view.edits.target), "edit")
        return self.get_screen("edit")

    def action_help(self) -> None:
        # One instance, composed once and kept: opening it again is a restyle and a paint.
        if not self.is_screen_installed("help"):
            self.install_screen(HelpScreen(), "help")
        self.push_screen("help")

    def action_quit_app(self) -> None:
        if self.state.active and self.watch_dir is None:
            def done(yes: bool | None) -> None:
                if yes:
                    save_then(self, self.shutdown)  # nothing lost: --resume continues it
            self.push_screen(ConfirmScreen("A run is in progress. Quit and stop training? "
                                           "(A checkpoint is saved; --resume continues it.)"), done)
        else:
            self.shutdown()

    def _compose_edit_form(self) -> None:
        """Build the form off-screen while the data loads, so that the first e shows it
        as fast as the others. App._get_screen is how push_screen starts a screen (there
        is no public way to compose one without showing it); without it, the first
        opening composes, as before."""
        if not self.is_running:
            return
        try:
            self._get_screen(self.edit_form())
        except AttributeError:  # another Textual
            pass
