"""A drawing made into what the network sees (MNIST's preprocessing), the brush, and
the drawings store, on real MNIST test digits."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from core.datasets import MNISTDataset
from core.drawing import (
    bounding_box,
    brush_radius,
    count_drawings,
    drawings_paths,
    preprocess,
    resize,
    save_drawing,
    stamp,
    stroke,
)
from core.errors import DatasetError
from core.idx import append_idx, read_idx, write_idx
from tests.helpers import t10k_arrays


@pytest.fixture(scope="module")
def t10k():
    return t10k_arrays()


def on_canvas(digit: np.ndarray, scale: float, side: int, top: int, left: int) -> np.ndarray:
    """A test digit's ink (its bounding box) scaled by ``scale`` onto an empty canvas."""
    d = digit.astype(np.float64) / 255
    t, b, lft, r = bounding_box(d)
    crop = d[t:b, lft:r]
    big = np.clip(resize(crop, round(crop.shape[0] * scale), round(crop.shape[1] * scale)), 0, 1)
    canvas = np.zeros((side, side), np.float32)
    canvas[top:top + big.shape[0], left:left + big.shape[1]] = big
    return canvas


def off_by_at_most_a_pixel(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference (grey levels) of two images, the better of ``a`` as it
    is and shifted by one pixel: MNIST centred its digits to the nearest pixel only, so
    a centre of mass near 13.5 may as well have been put on 14.5."""
    a, b = a.astype(int), b.astype(int)
    best = np.abs(a - b).mean()
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            best = min(best, np.abs(np.roll(a, (dy, dx), axis=(0, 1)) - b).mean())
    return float(best)


def test_mnist_digits_are_what_preprocessing_assumes(t10k):
    """The facts preprocess is built on: every test digit's ink has a bounding box whose
    longer side is 20, and its centre of mass within half a pixel of (14, 14)."""
    images, _ = t10k
    for im in images[:500]:
        t, b, lft, r = bounding_box(im / 255)
        assert max(b - t, r - lft) == 20
        m = im.astype(np.float64)
        cy = (m.sum(1) * np.arange(28)).sum() / m.sum()
        cx = (m.sum(0) * np.arange(28)).sum() / m.sum()
        assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


def test_a_digit_painted_twice_as_big_anywhere_comes_back_as_it_was(t10k):
    images, _ = t10k
    for i in range(100):
        canvas = np.zeros((70, 70), np.float32)
        top, left = 3 + i % 11, 1 + (7 * i) % 13
        canvas[top:top + 56, left:left + 56] = np.kron(images[i], np.ones((2, 2))) / 255
        back = preprocess(canvas)
        assert back.dtype == np.uint8 and back.shape == (28, 28)
        assert np.abs(back.astype(int) - images[i]).max() <= 1  # 254 peaks become 255


@pytest.mark.parametrize("scale,side", [(2.5, 80), (1.7, 56), (3.3, 84)])
def test_a_digit_shifted_and_scaled_comes_back_within_a_small_error(t10k, scale, side):
    images, _ = t10k
    errors = []
    for i in range(60):
        d = images[i]
        room = side - round(20 * scale)
        canvas = on_canvas(d, scale, side, top=(5 * i) % max(room, 1), left=(3 * i + 2) % max(room, 1))
        err = off_by_at_most_a_pixel(preprocess(canvas), d)
        errors.append(err)
        # the same digit: far closer to itself than to the next test digit
        assert err < 0.5 * off_by_at_most_a_pixel(images[i + 1], d)
    assert np.mean(errors) < 8  # grey levels of 255, on average over the pixels


def test_an_empty_canvas_is_nothing_drawn():
    assert preprocess(np.zeros((56, 56), np.float32)) is None
    assert preprocess(np.full((40, 40), 0.001, np.float32)) is None  # less than a grey level


def test_a_single_dot_becomes_a_centred_blob():
    canvas = np.zeros((56, 56), np.float32)
    stamp(canvas, 9.5, 47.5, brush_radius(56))  # near a corner
    img = preprocess(canvas)
    assert img is not None and img.max() == 255
    t, b, lft, r = bounding_box(img / 255)
    assert max(b - t, r - lft) == 20
    ys, xs = np.nonzero(img)
    m = img[ys, xs].astype(float)
    assert abs((ys * m).sum() / m.sum() - 14) <= 0.5 and abs((xs * m).sum() / m.sum() - 14) <= 0.5


def test_a_one_pixel_dot_works_too():
    canvas = np.zeros((30, 30), np.float32)
    canvas[4, 25] = 1.0
    img = preprocess(canvas)
    assert img is not None and (img == 255).sum() == 400  # the pixel, scaled up to 20x20


def test_a_long_thin_stroke_keeps_its_aspect_ratio():
    canvas = np.zeros((60, 60), np.float32)
    stroke(canvas, (5.0, 30.0), (55.0, 30.0), 2.0)
    img = preprocess(canvas)
    t, b, lft, r = bounding_box(img / 255)
    assert b - t == 20 and 1 <= r - lft <= 4


def test_the_brush_is_soft_and_erasing_undoes_it():
    canvas = np.zeros((40, 40), np.float32)
    stamp(canvas, 20.0, 20.0, 4.0)
    assert canvas[19, 19] == 1.0  # full ink at the centre
    assert 0 < canvas[19, 22] < 1  # grey towards the edge
    assert canvas[19, 25] == 0 and canvas[0, 0] == 0
    greys = np.unique(canvas)
    assert len(greys) > 4
    stamp(canvas, 20.0, 20.0, 4.0, erase=True)
    assert not canvas.any()


def test_a_stroke_is_unbroken_however_fast():
    canvas = np.zeros((50, 50), np.float32)
    stroke(canvas, (5.0, 5.0), (45.0, 45.0), 1.5)
    assert all(canvas[i, i] > 0.5 for i in range(5, 45))


def test_stamps_off_the_canvas_are_harmless():
    canvas = np.zeros((10, 10), np.float32)
    stamp(canvas, -20.0, 50.0, 3.0)
    stamp(canvas, 0.0, 0.0, 3.0)
    assert not canvas[5:, 5:].any() and canvas[0, 0] > 0


# ------------------------------------------------------------------------ the store

def test_drawings_are_appended_and_read_back_by_mnist_dataset(tmp_path, t10k):
    images, labels = t10k
    for i in range(3):
        assert save_drawing(tmp_path, images[i], int(labels[i])) == i + 1
    assert count_drawings(tmp_path) == 3
    ds = MNISTDataset(*drawings_paths(tmp_path))
    assert len(ds) == 3
    x, y = ds[2]
    assert int(y) == int(labels[2])
    np.testing.assert_array_equal((x * 255).round().numpy().reshape(28, 28), images[2])
    assert drawings_paths(tmp_path)[0].parent == tmp_path / "drawings"
    assert not [p for p in (tmp_path / "drawings").iterdir() if p.name.startswith(".")]


def test_a_half_saved_pair_loses_only_the_unlabelled_image(tmp_path, t10k):
    images, labels = t10k
    save_drawing(tmp_path, images[0], 7)
    img_path, lbl_path = drawings_paths(tmp_path)
    append_idx(img_path, images[1][None])  # a crash between the two files left this
    assert save_drawing(tmp_path, images[2], 2) == 2
    ds = MNISTDataset(img_path, lbl_path)
    assert ds.labels.tolist() == [7, 2]
    np.testing.assert_array_equal(ds.images[1].numpy().reshape(28, 28), images[2])


def test_bad_drawings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="28x28 uint8"):
        save_drawing(tmp_path, np.zeros((28, 27), np.uint8), 1)
    with pytest.raises(ValueError, match="not a class"):
        save_drawing(tmp_path, np.zeros((28, 28), np.uint8), 10)


def test_append_idx_refuses_another_shape_naming_the_file(tmp_path):
    p = write_idx(tmp_path / "x-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DatasetError, match=str(p)):
        append_idx(p, np.zeros((1, 14, 14), np.uint8))
    assert append_idx(p, np.ones((1, 28, 28), np.uint8)) == 3
    assert read_idx(p)[2].sum() == 784


def test_drawing_imports_no_torch():
    code = "import sys, core.drawing; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_image_probabilities_are_predicts_and_leave_the_model_as_it_was(t10k):
    import torch

    from core.config import Hyperparameters
    from core.network import build_model
    from core.training import image_probabilities, predict

    images, labels = t10k
    torch.manual_seed(3)
    model = build_model(Hyperparameters())
    model.train()
    rng = torch.get_rng_state()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    probs = image_probabilities(model, images[5].tobytes())
    ds = MNISTDataset.from_tensors(torch.from_numpy(images[:10].copy()), torch.from_numpy(labels[:10].astype(np.int64)))
    np.testing.assert_allclose(probs, predict(model, ds, [5])[0].probs, atol=1e-6)
    assert model.training and torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
