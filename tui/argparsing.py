"""The command line's argument parser: a bad flag is one line and exit code 2, for
every subcommand (``mnist-tui``, ``watch``, ``runs``, ``draw``)."""

from __future__ import annotations

import argparse
import sys


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit code 2
        sys.stderr.write(f"mnist-tui: error: {message}\n")
        sys.exit(2)
