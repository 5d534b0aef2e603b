"""The IDX reader: round trips, every kind of bad file, and the real MNIST test set."""

from __future__ import annotations

import gzip
import hashlib
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.datasets import MNISTDataset
from core.errors import DatasetError
from core.idx import read_idx, write_idx
from tests.helpers import T10K, need_full_t10k


def refused(path, *fragments):
    """Assert read_idx refuses ``path`` with one line naming it and every fragment."""
    with pytest.raises(DatasetError) as info:
        read_idx(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert str(path) in msg
    for f in fragments:
        assert f in msg, msg
    return msg


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype", ["u1", "i1", ">i2", ">i4", ">f4", ">f8"])
def test_round_trip(tmp_path, compress, dtype):
    rng = np.random.default_rng(0)
    arr = (rng.random((7, 5, 3)) * 100).astype(dtype)
    p = write_idx(tmp_path / "a.idx", arr, compress=compress)
    back = read_idx(p)
    assert back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)
    assert back.dtype.isnative


def test_gzip_decided_by_content_not_name(tmp_path):
    arr = np.arange(12, dtype=np.uint8)
    plain_named_gz = write_idx(tmp_path / "x.gz", arr, compress=False)
    gz_named_plain = write_idx(tmp_path / "x.idx", arr, compress=True)
    np.testing.assert_array_equal(read_idx(plain_named_gz), arr)
    np.testing.assert_array_equal(read_idx(gz_named_plain), arr)


def header(code=0x08, dims=(2, 28, 28)):
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


@pytest.mark.parametrize("compress", [False, True])
class TestRefusals:
    def write(self, tmp_path, data, compress):
        p = tmp_path / ("f.gz" if compress else "f")
        p.write_bytes(gzip.compress(data) if compress else data)
        return p

    def test_truncated_data(self, tmp_path, compress):
        p = self.write(tmp_path, header() + bytes(2 * 784 - 10), compress)
        refused(p, "truncated", "1,558")

    def test_trailing_bytes(self, tmp_path, compress):
        p = self.write(tmp_path, header() + bytes(2 * 784 + 3), compress)
        refused(p, "unexpected bytes")

    def test_bad_magic(self, tmp_path, compress):
        p = self.write(tmp_path, b"\x12\x34\x08\x03" + bytes(100), compress)
        refused(p, "not an IDX file")

    def test_unknown_type(self, tmp_path, compress):
        p = self.write(tmp_path, header(code=0x07) + bytes(2 * 784), compress)
        refused(p, "element type 0x07")

    def test_bad_dimension_count(self, tmp_path, compress):
        p = self.write(tmp_path, bytes([0, 0, 8, 0]) + bytes(8), compress)
        refused(p, "0 dimensions")

    def test_header_cut_short(self, tmp_path, compress):
        p = self.write(tmp_path, header()[:9], compress)
        refused(p, "header")

    def test_empty_file(self, tmp_path, compress):
        p = self.write(tmp_path, b"", compress)
        refused(p, "too short")

    def test_huge_claim_refused_before_allocating(self, tmp_path, compress):
        # 2^31 - 1 images of 28x28: 1.6 TB if anyone believed it.
        p = self.write(tmp_path, header(dims=(2**31 - 1, 28, 28)) + bytes(784), compress)
        refused(p, "header declares")


def test_corrupt_gzip_stream(tmp_path):
    payload = np.random.default_rng(2).integers(0, 255, 2 * 784, dtype=np.uint8).tobytes()
    data = bytearray(gzip.compress(header() + payload))
    data[len(data) // 2] ^= 0xFF
    p = tmp_path / "bad.gz"
    p.write_bytes(bytes(data))
    refused(p)


def test_gzip_cut_short(tmp_path):
    payload = np.random.default_rng(1).integers(0, 255, 5000, dtype=np.uint8).tobytes()
    p = tmp_path / "cut.gz"
    p.write_bytes(gzip.compress(header(dims=(5000,)) + payload)[:-2000])
    refused(p, "truncated")


def test_missing_file_and_directory(tmp_path):
    refused(tmp_path / "nope.gz", "not found")
    refused(tmp_path, "directory")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200), st.booleans())
def test_random_bytes_never_escape(tmp_path, data, compress):
    p = tmp_path / "fuzz"
    p.write_bytes(gzip.compress(data) if compress else data)
    try:
        read_idx(p)
    except DatasetError as exc:
        assert "\n" not in str(exc)


VALID = header(dims=(3, 4)) + bytes(range(12))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), max_size=4),
       st.integers(-5, 5), st.booleans())
def test_mutated_files_never_escape(tmp_path, flips, cut, compress):
    data = bytearray(gzip.compress(VALID) if compress else VALID)
    for pos, val in flips:
        data[pos % len(data)] = val
    data = data[:cut] if cut < 0 else data + bytes(cut)
    p = tmp_path / "mut"
    p.write_bytes(bytes(data))
    try:
        arr = read_idx(p)
    except DatasetError as exc:
        assert "\n" not in str(exc)
    else:
        assert arr.size * arr.itemsize <= len(VALID)


# ------------------------------------------------------------------ dataset checks

def write_pair(tmp_path, images, labels):
    ip = write_idx(tmp_path / "img.gz", images)
    lp = write_idx(tmp_path / "lbl.gz", labels)
    return ip, lp


def test_dataset_refuses_wrong_image_size(tmp_path):
    ip, lp = write_pair(tmp_path, np.zeros((3, 32, 32), np.uint8), np.zeros(3, np.uint8))
    with pytest.raises(DatasetError, match=r"img\.gz: expected 28x28 images, found shape 3 x 32 x 32"):
        MNISTDataset(ip, lp)


def test_dataset_refuses_count_mismatch(tmp_path):
    ip, lp = write_pair(tmp_path, np.zeros((3, 28, 28), np.uint8), np.zeros(4, np.uint8))
    with pytest.raises(DatasetError, match="4 labels but .* has 3 images"):
        MNISTDataset(ip, lp)


def test_dataset_refuses_label_out_of_range(tmp_path):
    ip, lp = write_pair(tmp_path, np.zeros((3, 28, 28), np.uint8), np.array([1, 12, 3], np.uint8))
    with pytest.raises(DatasetError, match="label 12 at position 1 is outside 0-9"):
        MNISTDataset(ip, lp)


def test_dataset_refuses_swapped_files(tmp_path):
    ip, lp = write_pair(tmp_path, np.zeros((3, 28, 28), np.uint8), np.zeros(3, np.uint8))
    with pytest.raises(DatasetError, match="is this a labels file"):
        MNISTDataset(lp, ip)


# ------------------------------------------------------------------ the real test set

def test_real_mnist_test_set():
    t10k = need_full_t10k()
    ds = MNISTDataset(t10k / "t10k-images-idx3-ubyte.gz", t10k / "t10k-labels-idx1-ubyte.gz")
    assert len(ds) == 10000
    counts = np.bincount(ds.labels.numpy(), minlength=10).tolist()
    assert counts == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    x, y = ds[0]
    assert int(y) == 7 and y.dtype.is_floating_point is False and str(y.dtype) == "torch.int64"
    assert x.shape == (784,) and str(x.dtype) == "torch.float32"
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0 and float(x.max()) > 0.9


def test_real_files_parse_to_the_published_bytes(tmp_path):
    """Writing the parsed arrays back gives the originals' SHA-256 (shared/data/README.md)."""
    expected = {
        "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    }
    t10k = need_full_t10k()
    for name, sha in expected.items():
        out = write_idx(tmp_path / name.removesuffix(".gz"), read_idx(t10k / name), compress=False)
        assert hashlib.sha256(out.read_bytes()).hexdigest() == sha


def test_batches_match_getitem():
    ds = MNISTDataset(T10K / "t10k-images-idx3-ubyte.gz", T10K / "t10k-labels-idx1-ubyte.gz").head(120)
    import torch

    g = torch.Generator().manual_seed(3)
    seen = []
    for x, y in ds.batches(50, shuffle=True, generator=g):
        assert x.dtype == torch.float32 and x.shape[1] == 784
        seen.append(y)
    assert sorted(torch.cat(seen).tolist()) == sorted(ds.labels.tolist())
    xb, yb = ds.batch(torch.tensor([5, 9]))
    assert torch.equal(xb[1], ds[9][0]) and int(yb[0]) == int(ds[5][1])
    # A DataLoader over the dataset still works, and fetches whole batches at once.
    loader = torch.utils.data.DataLoader(ds, batch_size=40)
    x, y = next(iter(loader))
    assert x.shape == (40, 784) and torch.equal(x[3], ds[3][0])
