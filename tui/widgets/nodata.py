"""What to do when the dataset's files are nowhere to be found (and cannot be downloaded)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static


def no_data_text(message: str, searched: Sequence[str], dataset: str, data_dir: str | None,
                 alternatives: Sequence[str]) -> Text:
    """The panel's text: the datasets on this machine that training can switch to, the
    two ways to give the files, where they were looked for, then the whole message."""
    t = Text()
    t.append(f"No {dataset} data", "bold red")
    t.append(" (the whole message is below)\n", "dim")
    # What to do first: on a small terminal the long message must not push it away.
    for key, alt in zip("d", alternatives):
        t.append(f"{key}", "bold cyan")
        t.append(f": train on {alt} instead (its files are on this machine)\n")
    cache = next((f for f in searched if f != data_dir), None)
    t.append("To give it the four files (train and t10k images and labels, gzipped or not):\n",
             "bold")
    t.append("  mnist-tui --data-dir DIR", "cyan")
    t.append("   a folder holding them\n")
    if cache:
        t.append(f"  copy them into {cache}", "cyan")
        t.append("   then r to try again\n")
    if searched:
        t.append("Looked in: ", "bold")
        t.append(", ".join(searched) + "\n")
    t.append(f"\n{message}\n")
    t.rstrip()
    return t


class NoDataPanel(Static):
    """Shown by the app in place of the plots and digits (class -nodata on the screen)."""

    DEFAULT_CSS = """
    NoDataPanel { display: none; height: 1fr; border: round $error; padding: 0 1;
                  border-title-color: $text-muted; }
    """

    def show(self, message: str, searched: Sequence[str], dataset: str, data_dir: str | None,
             alternatives: Sequence[str]) -> None:
        self.border_title = "no data"
        self.update(no_data_text(message, searched, dataset, data_dir, alternatives))
