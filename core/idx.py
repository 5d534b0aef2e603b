"""The IDX file format used by MNIST, Fashion-MNIST and KMNIST.

Layout (all integers big-endian)::

    0x00 0x00 <type> <ndim>     magic: two zero bytes, element type, number of dimensions
    ndim x int32                size of each dimension
    data                        prod(sizes) elements of <type>

Files may be gzip-compressed; that is decided by the gzip magic bytes, not the name.
Everything is validated before it is trusted: the declared sizes are compared with
the bytes actually present, and no buffer is ever sized from the header alone, so a
header claiming 2^31 images costs nothing. Every refusal is a ``DatasetError`` with a
one-line message naming the file.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from core.errors import DatasetError

GZIP_MAGIC = b"\x1f\x8b"

# IDX element type code -> (numpy dtype, human name). MNIST files use 0x08.
DTYPES: dict[int, tuple[np.dtype, str]] = {
    0x08: (np.dtype(">u1"), "unsigned byte"),
    0x09: (np.dtype(">i1"), "signed byte"),
    0x0B: (np.dtype(">i2"), "16-bit integer"),
    0x0C: (np.dtype(">i4"), "32-bit integer"),
    0x0D: (np.dtype(">f4"), "32-bit float"),
    0x0E: (np.dtype(">f8"), "64-bit float"),
}
_CODES = {dt: code for code, (dt, _) in DTYPES.items()}

# The largest payload we agree to decode (the full MNIST training images are 47 MB).
MAX_PAYLOAD_BYTES = 1 << 31


def read_idx(path: str | os.PathLike, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into a numpy array in native byte order."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DatasetError(f"{path}: is a directory, not an IDX file") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror or exc})") from None

    if raw[:2] == GZIP_MAGIC:
        return _parse_gzip(path, raw, max_bytes)
    return _parse(path, memoryview(raw), max_bytes, compressed=False)


def _header(path: Path, head: bytes) -> tuple[np.dtype, tuple[int, ...], int]:
    """Validate the magic number and dimensions; return dtype, shape, header length."""
    if len(head) < 4:
        raise DatasetError(f"{path}: file is too short to be an IDX file ({len(head)} bytes)")
    zero1, zero2, code, ndim = head[0], head[1], head[2], head[3]
    if zero1 != 0 or zero2 != 0:
        raise DatasetError(
            f"{path}: not an IDX file (magic number {head[:4].hex()} should start with 0000)"
        )
    if code not in DTYPES:
        raise DatasetError(f"{path}: unknown IDX element type 0x{code:02x}")
    if ndim < 1 or ndim > 4:
        raise DatasetError(f"{path}: IDX file declares {ndim} dimensions (expected 1 to 4)")
    header_len = 4 + 4 * ndim
    if len(head) < header_len:
        raise DatasetError(
            f"{path}: file is truncated inside its header "
            f"({len(head)} of {header_len} header bytes present)"
        )
    shape = struct.unpack(f">{ndim}I", bytes(head[4:header_len]))
    for size in shape:
        if size >= 1 << 31:
            raise DatasetError(f"{path}: header declares an impossible size {size}")
    return DTYPES[code][0], tuple(shape), header_len


def _payload_size(path: Path, dtype: np.dtype, shape: tuple[int, ...], max_bytes: int) -> int:
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if expected > max_bytes:
        dims = " x ".join(str(s) for s in shape)
        raise DatasetError(
            f"{path}: header declares {dims} elements ({expected:,} bytes), more than the "
            f"{max_bytes:,} bytes this reader accepts; the header is probably corrupt"
        )
    return expected


def _check_length(path: Path, got: int, expected: int, shape: tuple[int, ...]) -> None:
    if got < expected:
        raise DatasetError(
            f"{path}: file is truncated: header declares {' x '.join(map(str, shape))} "
            f"({expected:,} data bytes) but only {got:,} are present"
        )
    if got > expected:
        raise DatasetError(
            f"{path}: {got - expected:,} unexpected bytes after the data declared by the header"
        )


def _parse(path: Path, buf: memoryview, max_bytes: int, *, compressed: bool) -> np.ndarray:
    dtype, shape, header_len = _header(path, bytes(buf[: 4 + 4 * 4]))
    expected = _payload_size(path, dtype, shape, max_bytes)
    _check_length(path, len(buf) - header_len, expected, shape)
    arr = np.frombuffer(buf, dtype=dtype, count=expected // dtype.itemsize, offset=header_len)
    arr = arr.reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=False) if dtype.itemsize > 1 else arr


def _parse_gzip(path: Path, raw: bytes, max_bytes: int) -> np.ndarray:
    """Decompress incrementally: the output is bounded by the declared size + 1 byte,
    and grows only as real data arrives, so a lying header allocates nothing large."""
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        # The header is at most 4 + 4*4 bytes; ask for exactly what we need.
        head = d.decompress(raw, 4)
        if len(head) == 4 and 1 <= head[3] <= 4:
            head += d.decompress(d.unconsumed_tail, 4 * head[3])
        dtype, shape, header_len = _header(path, head)
        expected = _payload_size(path, dtype, shape, max_bytes)
        body = d.decompress(d.unconsumed_tail, expected + 1)
        if len(body) <= expected and not d.eof:
            # Drain: reaches the end of the stream (checks CRC) or proves the file is short.
            body += d.decompress(d.unconsumed_tail, expected + 1 - len(body))
    except zlib.error as exc:
        raise DatasetError(f"{path}: gzip data is corrupt ({exc})") from None
    if len(body) < expected:
        _check_length(path, len(body), expected, shape)
    if len(body) > expected or (d.eof and d.unused_data.strip(b"\x00")):
        raise DatasetError(
            f"{path}: unexpected bytes after the data declared by the header"
        )
    if not d.eof:
        raise DatasetError(f"{path}: gzip stream is truncated (the file was cut short)")
    arr = np.frombuffer(body, dtype=dtype).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=False) if dtype.itemsize > 1 else arr


def write_idx(path: str | os.PathLike, array: np.ndarray, *, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file; gzip it when ``compress`` (default: name ends in .gz)."""
    path = Path(path)
    if compress is None:
        compress = path.suffix == ".gz"
    path.write_bytes(encode_idx(array, compress=compress))
    return path


def encode_idx(array: np.ndarray, *, compress: bool = False) -> bytes:
    """The bytes of ``array`` as an IDX file (gzipped when ``compress``)."""
    array = np.asarray(array)
    big = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    code = _CODES.get(np.dtype(big))
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(big, copy=False).tobytes()
    if compress:
        data = gzip.compress(data, compresslevel=6, mtime=0)
    return data


def append_idx(path: str | os.PathLike, rows: np.ndarray, *, keep: int | None = None) -> int:
    """Append ``rows`` (items along the first axis) to the IDX file at ``path``, creating
    it when absent, and return the new item count. The file is rewritten whole, under a
    temporary name, fsynced and renamed over the old one: a kill at any moment leaves
    the previous file or the new one, never half of either. ``keep``: use only the
    first ``keep`` items already there (to drop the unpaired tail a crash between the
    two files of a pair can leave). A file of another item shape or type: DatasetError."""
    from core.safewrite import atomic_write_bytes  # the one atomic writer in core

    path = Path(path)
    rows = np.asarray(rows)
    if path.exists():
        old = read_idx(path)
        if old.shape[1:] != rows.shape[1:] or old.dtype.kind != rows.dtype.kind \
                or old.dtype.itemsize != rows.dtype.itemsize:
            raise DatasetError(
                f"{path}: holds items of shape {old.shape[1:]} ({old.dtype}), cannot append "
                f"items of shape {rows.shape[1:]} ({rows.dtype})")
        rows = np.concatenate([old[:keep], rows.astype(old.dtype)])
    data = encode_idx(rows, compress=path.suffix == ".gz")
    atomic_write_bytes(path, lambda f: f.write(data))
    return len(rows)
