"""mnist-tui's engine: data, network and training, with no user interface.

Nothing in this package imports Textual, Rich or plotext (tests/unit/test_layering.py
proves it), so the engine runs the same under the dashboard, headless, or in a test.
"""

__version__ = "0.1.0"
