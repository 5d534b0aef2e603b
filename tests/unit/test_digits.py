"""Turning a 28x28 digit into terminal text."""

from __future__ import annotations

import numpy as np
from rich.console import Console

from tests.helpers import t10k_arrays
from tui.render.digits import ASCII_RAMP, ascii_art, downsample, halfblocks, render


def test_halfblocks_are_28_by_14_and_keep_grey_levels():
    px = np.zeros((28, 28), np.uint8)
    px[0, 0] = 255      # top half of the first cell: white
    px[3, 5] = 128      # bottom half of cell (row 1, col 5): mid grey
    text = halfblocks(px)
    lines = text.plain.split("\n")
    assert len(lines) == 14 and all(len(line) == 28 for line in lines)
    assert set(text.plain) <= {"\u2580", "\n"}
    cells = [seg.style for seg in Console().render(text) for ch in seg.text if ch == "\u2580"]
    assert len(cells) == 28 * 14
    first = cells[0]
    assert first.color.triplet.red > 240 and first.bgcolor.triplet.red < 10
    cell = cells[28 + 5]
    assert 100 < cell.bgcolor.triplet.red < 160 and cell.color.triplet.red < 10


def test_ascii_ramp_uses_only_plain_characters():
    images, labels = t10k_arrays()
    art = ascii_art(images[0])
    lines = art.split("\n")
    assert len(lines) == 14 and all(len(line) == 28 for line in lines)
    assert set(art) <= set(ASCII_RAMP) | {"\n"}
    assert art.isascii()
    # The first test digit is a 7: its top stroke is a dark horizontal run, its bottom-left empty.
    assert max(line.count("@") + line.count("%") for line in lines[3:6]) >= 8
    assert "".join(lines[:3]).strip() == "" and lines[13][18:].strip() == ""


def test_blank_and_full_images():
    assert set(ascii_art(np.zeros((28, 28), np.uint8)).replace("\n", "")) == {" "}
    assert set(ascii_art(np.full((28, 28), 255, np.uint8)).replace("\n", "")) == {"@"}


def test_downsampled_digit_is_14_by_7():
    images, _ = t10k_arrays()
    small = downsample(images[1], 2)
    assert small.shape == (14, 14)
    assert int(small[0, 0]) == int(images[1][:2, :2].mean())
    lines = render(images[1], scale=2).plain.split("\n")
    assert len(lines) == 7 and all(len(line) == 14 for line in lines)
    assert len(render(images[1], ascii=True, scale=2).plain.split("\n")) == 7



def test_halfblocks_share_a_segment_per_run_of_equal_cells():
    """Drawing cost follows the segments: a blank row is one, not 28."""
    images, _ = t10k_arrays()
    assert [len(line) for line in halfblocks(np.zeros((28, 28), np.uint8)).lines] == [1] * 14
    digit = halfblocks(images[0])
    assert sum(len(line) for line in digit.lines) < 28 * 14 / 2
    assert "".join(s.text for s in Console().render(digit)).replace("\n", "") == "\u2580" * 28 * 14
