"""A screen whose footer leaves keys out as the terminal narrows, so that the last ones
(q Quit) stay on screen; every key still works."""

from __future__ import annotations

from dataclasses import replace

from textual.binding import ActiveBinding
from textual.screen import Screen

from tui.widgets.footer import KeyFooter


class FitFooterScreen(Screen):
    """``FOOTER_FITS``: (width, actions) pairs: below ``width`` columns, the footer
    leaves those actions out (they stay bound: the help or the screen itself names
    them). Below ``FULL_FOOTER`` columns the footer is compact (one space between keys)."""

    FULL_FOOTER = 100
    FOOTER_FITS: tuple[tuple[int, frozenset[str]], ...] = ()

    def left_out(self, width: int) -> set[str]:
        return {a for below, actions in self.FOOTER_FITS if width < below for a in actions}

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The keys, as the footer shows them at this width."""
        bindings = super().active_bindings
        gone = self.left_out(self.app.size.width)
        return {key: ab._replace(binding=replace(ab.binding, show=False))
                if ab.binding.action in gone else ab for key, ab in bindings.items()}

    def on_mount(self) -> None:
        self.fit_footer()

    def on_resize(self) -> None:
        self.fit_footer()

    def fit_footer(self) -> None:
        for footer in self.query(KeyFooter):
            footer.compact = self.app.size.width < self.FULL_FOOTER
        self.refresh_bindings()
