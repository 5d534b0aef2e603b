"""mnist-tui's engine: data, network and training, with no user interface.

Nothing in this package imports Textual, Rich or plotext (tests/unit/test_layering.py
proves it), so the engine runs the same under the dashboard, headless, or in a test.
"""

import os

__version__ = "0.1.0"

# OpenMP threads that wait by sleeping, not spinning: with the cores shared (the
# dashboard, another run, a browser), spinning threads waiting at each of the tiny
# MLP's parallel regions for a descheduled sibling made training 30-50x slower
# (bench/bench_threads.py). Read by PyTorch's OpenMP when it loads, so it is set here,
# before any engine module imports torch; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
