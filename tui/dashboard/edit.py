"""The hyperparameter form: every field validated where it is typed."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Input, Label, Select, Static

from core import config as cfg
from core.config import Hyperparameters
from core.edits import field_problem
from core.config import show_value

CHOICES = {"activation": cfg.ACTIVATIONS, "optimizer": cfg.OPTIMIZERS, "model": cfg.MODELS}


class FieldValidator(Validator):
    def __init__(self, name: str, min_epochs: int) -> None:
        super().__init__()
        self.field_name, self.min_epochs = name, min_epochs

    def validate(self, value: str) -> ValidationResult:
        problem = field_problem(self.field_name, value, self.min_epochs)
        return self.failure(problem) if problem else self.success()


class FieldInput(Input):
    """An Input that runs its own editing keys (home, ctrl+k, backspace, enter ...) as
    they arrive. Textual's Input handles typed characters itself but its bound keys
    only once the key has bubbled up to the App, through each parent's queue: keys
    typed in a burst overtake them. ``C-a C-k 0.4`` inserted 0.4, then went home and
    deleted everything to the right: an empty field (tests/tui: the form's burst test).
    Tab is run here too, and keys that reach a field after the focus left it are passed
    on to the field that has it."""

    def _on_focus(self, event: events.Focus) -> None:
        # The form is built off-screen while the data loads; when the app closes in the
        # meantime, a field can still be given the focus after the app's last screen has
        # gone, and Input's own handler then asks for that screen (ScreenStackError).
        # (Textual calls each class's handler in turn: preventing the default skips
        # Input's.)
        if not self.app.screen_stack:
            event.prevent_default()

    async def _on_key(self, event: events.Key) -> None:
        focused = self.screen.focused if self.is_attached else None
        if focused is not self and isinstance(focused, FieldInput):
            # A key that overtook a move to another field (Tab, then 4, in one burst):
            # it was meant for the field that has the focus now.
            event.stop()
            event.prevent_default()
            focused.post_message(events.Key(event.key, event.character))
            return
        if event.key in ("tab", "shift+tab"):  # move at once, before the next key is read
            event.stop()
            event.prevent_default()
            (self.screen.focus_next if event.key == "tab" else self.screen.focus_previous)()
            return
        if not event.is_printable:
            for binding in self._bindings.key_to_bindings.get(event.key, ()):
                if await self.app.run_action(binding.action, self):
                    event.stop()
                    event.prevent_default()
                    return
        await super()._on_key(event)


NARROW = 72  # columns: under this, the form's narrow fields (EditScreen._fit)


class EditScreen(ModalScreen[dict[str, Any] | None]):
    """Dismisses with the changed fields (parsed values), or None when cancelled.

    The app keeps one and calls ``load`` before each opening: building the form (some
    fifty widgets and their CSS) costs far more than filling it in.

    Nothing here queries the form before it is opened: the app composes it off-screen
    while the data loads, and that can still be under way when the app shuts down
    (a query in ``on_mount`` then found its widgets already gone: NoMatches '#f-lr').
    Each field's error line is kept from compose, not queried: every Input posts a
    Changed for its first value as it mounts, and when the app closed meanwhile the
    form handled those with its widgets gone (NoMatches '#err-momentum').
    """

    DEFAULT_CSS = """
    EditScreen { align: center middle; background: $background; }
    EditScreen > Vertical { width: 72; max-width: 100%; height: auto; max-height: 100%;
                            border: thick $primary; background: $surface; padding: 0 1; }
    EditScreen VerticalScroll { height: auto; max-height: 70vh; }
    EditScreen .field { height: 3; }  /* fixed: the layout need not measure each row */
    EditScreen .field > Label { width: 17; height: 3; padding-top: 1; }
    EditScreen .field > Input, EditScreen .field > Select { width: 24; }
    EditScreen .field > .when { width: 1fr; height: 3; padding-top: 1; color: $text-muted; }
    EditScreen .error { color: $error; height: auto; padding-left: 17; }
    EditScreen .error:disabled { display: none; }
    EditScreen #buttons { height: auto; align: right middle; }
    /* Under 72 columns (60x20) the explanations keep 26 cells, their two lines' width */
    EditScreen.-narrow .field > Label { width: 15; }
    EditScreen.-narrow .field > Label.when { width: 1fr; }
    EditScreen.-narrow .field > Input, EditScreen.-narrow .field > Select { width: 14; }
    EditScreen.-narrow VerticalScroll { scrollbar-size-vertical: 1; }
    EditScreen.-narrow SelectCurrent { padding: 0 1; }  /* "adadelta" in 14 cells */
    EditScreen.-narrow .error { padding-left: 15; }
    EditScreen Button { margin-left: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "apply", "Apply")]
    AUTO_FOCUS = "#f-lr"  # Textual focuses it each time the form is shown

    def __init__(self, hp: Hyperparameters, *, min_epochs: int = 1, restart_only: bool = False):
        super().__init__()
        self.hp, self.min_epochs, self.restart_only = hp, min_epochs, restart_only
        self._styled = False
        self._errors: dict[str, Static] = {}  # each field's error line, from compose

    def _title(self, refused: int = 0) -> str:
        """The form's first line; ``refused``: the values the last Apply refused, said
        here rather than in a toast, which outlived the form (a later successful Apply
        left "1 value(s) refused" on screen)."""
        title = "Edit hyperparameters"
        if self.restart_only:
            title += " (the run has ended: they apply on restart)"
        if refused:
            return (f"[b]{title}[/b]  [b red]{refused} value{'s' if refused > 1 else ''} "
                    f"refused, nothing changed[/]")
        return f"[b]{title}[/b]  Enter applies, Esc cancels"

    def _when(self, name: str) -> str:
        word = "on restart" if self.restart_only else cfg.EFFECT_WORDS[cfg.effect_of(name)]
        return f"{word} · {cfg.help_of(name)}"

    def load(self, hp: Hyperparameters, *, min_epochs: int = 1, restart_only: bool = False) -> None:
        """Show these values and rules, as a new form would; errors cleared."""
        self.hp, self.min_epochs, self.restart_only = hp, min_epochs, restart_only
        if not self.is_mounted:
            return  # compose reads them
        self.query_one("#edit-title", Static).update(self._title())
        for name in cfg.FIELD_NAMES:
            widget = self.query_one(f"#f-{name}")
            current = getattr(hp, name)
            if isinstance(widget, Select):
                widget.value = current
            else:
                for validator in widget.validators:
                    if isinstance(validator, FieldValidator):
                        validator.min_epochs = min_epochs
                widget.value = show_value(current)
                widget.cursor_position = len(widget.value)
            self.query_one(f"#when-{name}", Label).update(self._when(name))
            self._show_error(name, None)
        first = self.query_one("#f-lr", Input)
        first.focus()
        first.select_all()  # as a new form's focused field is: typing replaces it

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._title(), id="edit-title")
            with VerticalScroll():
                for name in cfg.FIELD_NAMES:
                    current = getattr(self.hp, name)
                    with Horizontal(classes="field"):
                        yield Label(name)
                        if name in CHOICES:
                            yield Select([(c, c) for c in CHOICES[name]], value=current,
                                         allow_blank=False, id=f"f-{name}")
                        else:
                            kind = Hyperparameters.__dataclass_fields__[name].type
                            yield FieldInput(
                                show_value(current), id=f"f-{name}",
                                type={"float": "number", "int": "integer"}.get(kind, "text"),
                                validators=[FieldValidator(name, self.min_epochs)],
                                validate_on=["changed", "submitted"])
                        yield Label(self._when(name), classes="when", id=f"when-{name}")
                    error = Static("", classes="error", id=f"err-{name}")
                    error.display = False
                    self._errors[name] = error
                    yield error
            with Horizontal(id="buttons"):
                yield Button("Apply", variant="primary", id="apply")
                yield Button("Cancel", id="cancel")

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        """Reopened: the widgets keep their styles (Textual would restyle all fifty of
        them on every push; the form's CSS and classes do not change). Screen's own
        handler is private: if another Textual lacks it, the form restyles as usual
        (pyproject.toml bounds textual below 9)."""
        self._fit(self.app.size.width)  # (the terminal may have changed size meanwhile)
        resume = getattr(Screen, "_on_screen_resume", None)
        if self._styled and event.refresh_styles and resume is not None:
            event.prevent_default()  # instead of Screen's handler, the same without restyling
            resume(self, events.ScreenResume(refresh_styles=False))

    def on_mount(self) -> None:
        self._styled = True  # mounting styled every widget (the app composes it off-screen)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        """Narrower fields under 72 columns: each explanation keeps two lines of 26 cells
        (at 60 columns it had 15, and 'now · learning rate of the optimizer' lost its end)."""
        self.set_class(width < NARROW, "-narrow")

    def _show_error(self, name: str, message: str | None) -> None:
        err = self._errors.get(name)
        if err is None:  # not composed (yet)
            return
        err.update(message or "")
        err.display = bool(message)

    def on_input_changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("f-")
        result = event.validation_result
        self._show_error(name, None if result is None or result.is_valid
                         else "; ".join(result.failure_descriptions))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_apply()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self.action_apply()
        else:
            self.action_cancel()

    def collect(self) -> tuple[dict[str, Any], dict[str, str]]:
        """(changes, problems) from the form as it stands."""
        changes: dict[str, Any] = {}
        problems: dict[str, str] = {}
        for name in cfg.FIELD_NAMES:
            widget = self.query_one(f"#f-{name}")
            if isinstance(widget, Select):
                value = widget.value
            else:
                problem = field_problem(name, widget.value, self.min_epochs)
                if problem:
                    problems[name] = problem
                    continue
                value = cfg.parse_field(name, widget.value)
            if value != getattr(self.hp, name):
                changes[name] = value
        return changes, problems

    def action_apply(self) -> None:
        changes, problems = self.collect()
        for name in cfg.FIELD_NAMES:
            self._show_error(name, problems.get(name))
        self.query_one("#edit-title", Static).update(self._title(len(problems)))
        if problems:
            return
        self.dismiss(changes)

    def action_cancel(self) -> None:
        self.dismiss(None)
