"""Reading a file we did not write ourselves, safely: every reader of a run folder or a
data folder opens its files here.

- Only regular files are read. The file is opened without blocking (``O_NONBLOCK``), so
  that a named pipe (FIFO) put where ``config.json`` should be is refused at once instead
  of waiting forever for a writer; a device (``/dev/zero`` behind a symlink), a socket or
  a folder is refused the same way (``NotRegularFile``, an ``OSError``).
- What is read is capped (``limit``): a file that should be small and is not is refused
  (``TooLarge``, an ``OSError``) before it is read into memory.

Both errors are ``OSError``s with a ``strerror`` that reads well after the file's name
("not a regular file (a named pipe)"), so the callers' ``except OSError`` keep working.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

#: caps for the files of a run folder (bytes)
SMALL = 1 << 20          # config.json, summary.json: a few hundred bytes when we wrote them
MEDIUM = 64 << 20        # test-last.json (every prediction of a test), report.json
LARGE = 1 << 30          # first-layer-weights.npy (hidden units x 784 floats)

_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


class NotRegularFile(OSError):
    """A folder, named pipe, device or socket where a file should be."""


class TooLarge(OSError):
    """A file larger than what it should ever be."""


def kind_of(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str | os.PathLike, *, limit: int | None = None) -> BinaryIO:
    """``path`` opened for reading in binary mode, if it is a regular file (at most
    ``limit`` bytes long). Never blocks on a FIFO. Raises ``OSError``: the usual ones
    (``FileNotFoundError``, ``PermissionError`` ...), ``IsADirectoryError`` for a folder,
    ``NotRegularFile`` and ``TooLarge``."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = kind_of(st.st_mode)
            if stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
            raise NotRegularFile(errno.EINVAL, f"{kind}, not a regular file", str(path))
        if limit is not None and st.st_size > limit:
            raise TooLarge(errno.EFBIG, f"{st.st_size:,} bytes, more than the "
                                        f"{limit:,} such a file can be", str(path))
        os.set_blocking(fd, True)  # a regular file: reads never block anyway
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | os.PathLike, *, limit: int | None = None) -> bytes:
    """The whole of a regular file (see ``open_regular``); a file that grows past
    ``limit`` while it is read is refused too."""
    with open_regular(path, limit=limit) as f:
        data = f.read() if limit is None else f.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise TooLarge(errno.EFBIG, f"more than the {limit:,} bytes such a file can be", str(path))
    return data


def read_text(path: str | os.PathLike, *, limit: int | None = None) -> str:
    """``read_bytes`` decoded as UTF-8 (``UnicodeDecodeError``, a ``ValueError``, if not)."""
    return read_bytes(path, limit=limit).decode("utf-8")


def why(exc: OSError) -> str:
    """The cause of a failed read, for a one-line message after the file's name."""
    return exc.strerror or str(exc) or type(exc).__name__


def is_regular(path: str | os.PathLike) -> bool:
    """``path`` is a regular file (symlinks followed); never raises."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


__all__ = ["open_regular", "read_bytes", "read_text", "why", "is_regular", "NotRegularFile",
           "TooLarge", "SMALL", "MEDIUM", "LARGE"]
