"""The command line's argument parser: a bad flag is one line and exit code 2, for
every subcommand (``mnist-tui``, ``watch``, ``runs``, ``draw``)."""

from __future__ import annotations

import argparse
import os
import sys


from core.errors import one_line


def say_error(text: str) -> None:
    """One line on stderr (control characters escaped: a path holding a newline stays
    on it), never raising (stderr may be a terminal that hung up)."""
    try:
        sys.stderr.write(one_line(text) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stderr.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit code 2
        say_error(f"mnist-tui: error: {message}")
        sys.exit(2)
