"""The receipt printed when the dashboard closes: aligned, and a suggestion that fits
how the run went."""

from __future__ import annotations

import re

from tui.receipt import receipt_text


def folder_with(tmp_path, *names):
    run = tmp_path / "runs" / "big"
    run.mkdir(parents=True)
    for name in ("config.json", *names):
        (run / name).write_text("x")
    return run


def values_column(text: str) -> set[int]:
    """Where the value starts on each `label: value` line."""
    return {m.end() for m in (re.match(r"[a-z ]+: +", line) for line in text.splitlines()) if m}


def test_a_run_whose_best_came_long_before_its_end_is_pointed_to_its_best_checkpoint(tmp_path):
    run = folder_with(tmp_path, "checkpoint-last.pt", "checkpoint-best.pt")
    text = receipt_text(run, 300, 300, (86.03, 23))
    assert "--epochs 310" not in text and "train further" not in text  # more would not help
    assert f"best model: {run}/checkpoint-best.pt (epoch 23; the 277 epochs after it did no " \
           f"better: --epochs 23 was enough)" in text
    assert f"try it:     mnist-tui draw --checkpoint {run}/checkpoint-best.pt" in text
    assert len(values_column(text)) == 1 and len(text.splitlines()) == 5


def test_a_run_still_improving_at_its_end_is_offered_more_epochs(tmp_path):
    run = folder_with(tmp_path, "checkpoint-last.pt", "checkpoint-best.pt")
    text = receipt_text(run, 300, 300, (97.5, 299))
    assert f"train further: mnist-tui --resume {run} --epochs 360" in text
    assert "best model" not in text and len(values_column(text)) == 1


def test_a_stopped_run_continues_and_names_its_best_model(tmp_path):
    run = folder_with(tmp_path, "checkpoint-last.pt", "checkpoint-best.pt")
    lines = receipt_text(run, 12, 25, (95.0, 10)).splitlines()
    assert lines == [f"run folder:  {run}",
                     "epochs:      12/25 · best accuracy 95.00% (epoch 10)",
                     f"best model:  {run}/checkpoint-best.pt (epoch 10)",
                     f"continue it: mnist-tui --resume {run}",
                     f"watch it:    mnist-tui watch {run}"]
    watching = receipt_text(run, 12, 25, (95.0, 10), watching=True)
    assert "--resume" not in watching and len(values_column(watching)) == 1
