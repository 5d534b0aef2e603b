"""The private Textual and plotext names the code still uses (README, "Private APIs"):
each one checked here, so that an upgrade that removes or changes it fails this test
rather than quietly falling back (pyproject.toml bounds textual below 9 while any is left)."""

from __future__ import annotations

import inspect

from textual.app import App
from textual.screen import Screen
from textual.widgets import Footer, Input
from textual_plotext import PlotextPlot


def _params(fn) -> list[str]:
    return list(inspect.signature(fn).parameters)


def test_app_get_screen_composes_a_screen_without_showing_it():
    assert _params(App._get_screen)[:2] == ["self", "screen"]  # tui/dashboard/app.py: the edit form


def test_screen_on_screen_resume_is_the_handler_the_edit_form_replaces():
    assert _params(Screen._on_screen_resume) == ["self", "event"]  # tui/dashboard/edit.py


def test_input_key_handler_and_bindings_map():
    # tui/dashboard/edit.py FieldInput: Input's own key handler, its focus handler, and
    # the widget's bindings looked up by key.
    assert inspect.iscoroutinefunction(Input._on_key)
    assert _params(Input._on_focus) == ["self", "event"]
    field = Input()
    assert isinstance(field._bindings.key_to_bindings, dict)


def test_footer_bindings_changed():
    assert _params(Footer.bindings_changed) == ["self", "screen"]  # tui/widgets/footer.py


def test_plotext_plot_internals():
    # tui/widgets/plots.py: PlotextPlot.render's steps, without its last one.
    plot = PlotextPlot()
    for name in ("plotsize", "_set_size", "theme", "build"):
        assert callable(getattr(plot._plot, name)), name
    assert _params(PlotextPlot._get_plotext_theme_name) == ["self", "app_theme_name"]
