"""How every mnist-tui app shows notifications (Textual's toasts), as CSS an App sets.

Textual draws toasts over the bottom right of the screen, half its width at most: at
80x24 and 60x20 they covered the log's newest lines and the frames' borders, and a
path wrapped mid-word. Here they are a line (or two) of their own at the top, in the
layout rather than over it: the panes below move down for the toast's few seconds
(the plots, which take what is left, give up the rows); a message wraps at spaces
across the whole width, and at most four lines of toasts show at once."""

CSS = """
ToastRack { layer: default; dock: top; align: left top; margin-bottom: 0; max-height: 4;
            overflow-y: hidden; }
ToastHolder { align-horizontal: left; }
Toast { width: 1fr; max-width: 100%; margin-top: 0; padding: 0 1; }
"""
