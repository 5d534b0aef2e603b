"""`mnist-tui runs [DIR]`: every run folder under DIR in one table.

On a terminal, a Textual table (tui/runs/screen.py): sort by any column, filter by typing after `/`, select
runs with space and overlay their curves (`c`), watch (`w`), resume (`r`) or delete (`d`)
the highlighted one; running rows refresh live. Piped or with --plain, the same table
as aligned text, one line per run; --json for scripts. The folders are read by
core.runs, which never raises for a damaged one.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from core.runs import scan
from tui.argparsing import Parser, say_error
from tui.runs.table import json_text, plain_table


# ------------------------------------------------------------------------- command line

def build_runs_parser() -> argparse.ArgumentParser:
    p = Parser(prog="mnist-tui runs", description="Every run folder under DIR (recursively, "
                "restarts included) in one table: settings that differ, epochs, best accuracy, "
                "last test loss, duration, status (running, finished, stopped, diverged, "
                "pruned: a sweep's trial, damaged) and size. On a terminal: sort, filter, overlay the curves of the "
                "runs you select, watch, resume or delete one.",
                epilog="keys: space select · c compare curves · s / S sort by the next column / "
                       "reverse · / filter · v columns · w watch · r resume · d delete · q quit\n"
                       "examples:\n  mnist-tui runs\n  mnist-tui runs runs/ --plain | sort -k3 -n\n"
                       "  mnist-tui runs --json | jq '.runs[].best_accuracy'",
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", metavar="DIR", nargs="?", default="runs",
                   help="where to look for run folders (default ./runs)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--plain", action="store_true",
                     help="aligned text, one line per run (automatic when stdout is not a terminal)")
    out.add_argument("--json", action="store_true", help="JSON, for scripts")
    return p


def runs_main(argv: list[str]) -> int:
    args = build_runs_parser().parse_args(argv)
    root = Path(args.dir)
    if not os.path.isdir(root):
        say_error(f"mnist-tui: error: {args.dir}: no such folder"
                  f"{' (runs are written to ./runs by default)' if args.dir == 'runs' else ''}")
        return 2
    try:
        os.scandir(root).close()
    except OSError as exc:
        say_error(f"mnist-tui: error: {args.dir}: cannot be read ({exc.strerror or exc})")
        return 2
    if args.json or args.plain or not sys.stdout.isatty():
        runs = scan(root)
        try:
            if args.json:
                print(json_text(str(root), runs))
            elif runs:
                print(plain_table(runs))
            else:
                sys.stderr.write(f"no run folders under {root}\n")
            sys.stdout.flush()
        except BrokenPipeError:  # `| head`
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    from tui.runs.screen import RunsApp  # Textual only here: 0.3 s the piped listing saves

    app = RunsApp(root)
    app.run()
    if app.return_value:  # a command the app could not run under itself (no suspend)
        os.execv(sys.executable, [sys.executable, "-m", "tui.cli", *app.return_value])
    return 0
