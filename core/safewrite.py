"""Writing the files of a run folder without ever following a link out of it. Every
writer of a run folder (and of the drawings kept in it) goes through these functions;
the rules, each once, here:

- A run folder is often shared (a ``runs/`` on a group machine), so anyone who can write
  into it can plant a link. The folder a file is written in is opened with
  ``O_NOFOLLOW``: a link in its place is refused, never written through. (The folders
  above it are the path the user gave, and may be links.)
- Where the file goes there is nothing or a regular file. A symbolic link (even one
  pointing nowhere), a folder, a named pipe ... is refused: ``UnsafeFileError``, one
  line naming it, exit 2; nothing is written through it (``refuse_unsafe`` checks a
  whole folder before its first write).
- A whole file is written to a new temporary file beside it (created with
  ``O_CREAT | O_EXCL | O_NOFOLLOW``: never an existing file or a link), fsynced, and
  renamed over the target: a rename replaces a link that appeared meanwhile, and never
  changes what a hard link elsewhere holds.
- The files written in place (the metrics, appended to; the lock) are opened with
  ``O_NOFOLLOW`` (new ones with ``O_EXCL``) and checked after opening (``fstat``) to
  be regular files.
- New files take the umask's permissions (created 0666, the kernel applies the umask),
  copied ones too.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from core.errors import RunFolderError, UnsafeFileError, WriteError

TMP_SUFFIX = ".tmp"  # temporary files are ".<name>.<random>.tmp" beside their target
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # NONBLOCK: a named pipe never hangs us


def write_error(path: Path, exc: BaseException) -> WriteError:
    """One line naming the file and the cause of a failed write."""
    if isinstance(exc, OSError) and exc.errno is not None:
        cause = {errno.ENOSPC: "no space left on the device",
                 errno.EDQUOT: "disk quota exceeded",
                 errno.EROFS: "read-only file system",
                 errno.EACCES: "permission denied",
                 errno.EPERM: "permission denied",
                 errno.ENOTDIR: "a file stands where a folder should be",
                 errno.EISDIR: "a folder stands where the file should be"}.get(
                     exc.errno, exc.strerror or str(exc))
    elif _nearly_full(path.parent):
        # torch.save reports a full disk as a RuntimeError from its zip writer
        cause = "no space left on the device"
    else:
        cause = (str(exc).splitlines() or [type(exc).__name__])[0][:120]
    return WriteError(f"{path}: could not write ({cause}); what was saved before is unchanged")


def _nearly_full(folder: Path) -> bool:
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 1 << 20


# ----------------------------------------------------------------- what stands there

def _kind(st: os.stat_result, link_target: Callable[[], str]) -> str | None:
    """None for a regular file; otherwise what it is, in words."""
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        try:
            target = link_target()
        except OSError:
            return "a symbolic link"
        shown = target if target.isprintable() else ascii(target)
        return f"a symbolic link (to {shown[:100]})"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device file"


def _there(dir_fd: int, name: str) -> str | None:
    """What stands at ``name`` in the folder ``dir_fd`` when it is not a regular file
    (None: a regular file, or nothing)."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    return _kind(st, lambda: os.readlink(name, dir_fd=dir_fd))


def refused(path: Path, what: str) -> UnsafeFileError:
    return UnsafeFileError(
        f"{path}: is {what}, not a regular file; mnist-tui writes no run file through it "
        f"(remove it, or use another folder)")


# ------------------------------------------------------------------------- folders

def open_folder(path: str | os.PathLike, *, create: bool = False) -> int:
    """A descriptor on the folder ``path``, opened without following a link in its
    place (``create``: made first, with its parents, when missing). A link there:
    ``UnsafeFileError``; a file: ``RunFolderError``; other failures: ``WriteError``."""
    path = Path(path)
    if create:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.mkdir(path)
        except FileExistsError:
            pass
        except OSError as exc:
            raise write_error(path, exc) from None
    try:
        return os.open(path, _DIR)
    except OSError as exc:
        try:
            st = os.lstat(path)
        except OSError:
            raise write_error(path, exc) from None
        if stat.S_ISLNK(st.st_mode):
            target = _kind(st, lambda: os.readlink(path))
            raise UnsafeFileError(
                f"{path}: is {target}; mnist-tui writes no run folder through a link "
                f"(give the folder's real path)") from None
        if not stat.S_ISDIR(st.st_mode):
            raise RunFolderError(f"{path}: a file stands where the folder should be") from None
        raise write_error(path, exc) from None


def refuse_unsafe(folder: str | os.PathLike, names: Iterable[str]) -> None:
    """Refuse (``UnsafeFileError`` naming it) the first of ``names`` in ``folder`` that
    is there and is not a regular file; the folder itself must not be a link. Called
    before a folder's first write, so that a refused folder is left as it was."""
    folder = Path(folder)
    fd = open_folder(folder)
    try:
        for name in names:
            what = _there(fd, name)
            if what is not None:
                raise refused(folder / name, what)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- files

def open_regular(path: str | os.PathLike, flags: int, mode: int = 0o666) -> int:
    """A descriptor on the regular file ``path``, opened with ``flags`` (``os.O_*``)
    without following a link, in its folder opened without following one either. A
    link or anything but a regular file there: ``UnsafeFileError``; other failures
    (``FileNotFoundError``, ``FileExistsError`` with ``O_EXCL`` ...) are ``OSError``."""
    path = Path(path)
    dir_fd = open_folder(path.parent)
    try:
        try:
            fd = os.open(path.name, flags | _FILE, mode, dir_fd=dir_fd)
        except OSError:
            what = _there(dir_fd, path.name)
            if what is not None:
                raise refused(path, what) from None
            raise
        what = _kind(os.fstat(fd), lambda: "")
        if what is not None:
            os.close(fd)
            raise refused(path, what)
        return fd
    finally:
        os.close(dir_fd)


def open_append(path: str | os.PathLike, *, new: bool) -> IO[str]:
    """``path`` opened for appending text; ``new``: created, and refused if anything is
    there already (``O_EXCL``); else it must be there. ``WriteError`` on failure."""
    flags = os.O_WRONLY | os.O_APPEND | (os.O_CREAT | os.O_EXCL if new else 0)
    try:
        fd = open_regular(path, flags)
    except OSError as exc:
        raise write_error(Path(path), exc) from None
    return os.fdopen(fd, "a", encoding="utf-8", newline="")


def atomic_write_bytes(path: str | os.PathLike, write: Callable[[IO[bytes]], Any], *,
                       times_ns: tuple[int, int] | None = None) -> None:
    """Call ``write(file)`` on a new temporary file beside ``path``, fsync, then rename
    it over ``path``. ``times_ns``: (atime, mtime) the file gets (a copy keeps its
    original's).

    The file gets the umask's permissions like any other file of the run folder. A link
    or a non-regular file at ``path``: ``UnsafeFileError``, nothing written. A failure
    (full disk, read-only folder ...) removes the temporary file and raises
    ``WriteError``; the previous ``path`` is untouched.
    """
    path = Path(path)
    dir_fd = open_folder(path.parent, create=True)
    tmp = None
    try:
        what = _there(dir_fd, path.name)
        if what is not None:
            raise refused(path, what)
        while tmp is None:
            name = f".{path.name}.{secrets.token_hex(4)}{TMP_SUFFIX}"
            try:
                fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _FILE, 0o666,
                             dir_fd=dir_fd)
                tmp = name
            except FileExistsError:
                continue
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            if times_ns is not None:
                os.utime(f.fileno(), ns=times_ns)
            os.fsync(f.fileno())
        os.replace(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        tmp = None
    except (OSError, RuntimeError) as exc:
        raise write_error(path, exc) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp, dir_fd=dir_fd)
            except OSError:
                pass
        os.close(dir_fd)


def copy_file(source: str | os.PathLike, target: str | os.PathLike) -> bool:
    """Copy the regular file ``source`` to ``target`` (written as ``atomic_write_bytes``
    writes, with the umask's permissions and ``source``'s times); False when there is no
    ``source``. A link or a non-regular file at either end: ``UnsafeFileError``."""
    source = Path(source)
    try:
        fd = open_regular(source, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise RunFolderError(f"{source}: cannot be read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        atomic_write_bytes(target, lambda out: shutil.copyfileobj(f, out, 1 << 20),
                           times_ns=(st.st_atime_ns, st.st_mtime_ns))
    return True


def remove(path: str | os.PathLike) -> None:
    """Remove the file ``path`` if it is there (a link is removed, never followed);
    ``WriteError`` on failure."""
    path = Path(path)
    dir_fd = open_folder(path.parent)
    try:
        os.unlink(path.name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise write_error(path, exc) from None
    finally:
        os.close(dir_fd)


def remove_temporaries(folder: str | os.PathLike, names: Iterable[str]) -> list[Path]:
    """Temporary files of interrupted writes of ``names`` (".<name>.<random>.tmp") in
    ``folder``: removed (they are never read)."""
    folder = Path(folder)
    prefixes = tuple(f".{name}." for name in names)
    removed = []
    try:
        dir_fd = open_folder(folder)
    except (OSError, RunFolderError):
        return removed
    try:
        for entry in os.listdir(dir_fd):
            if entry.startswith(prefixes) and entry.endswith(TMP_SUFFIX):
                try:
                    os.unlink(entry, dir_fd=dir_fd)
                    removed.append(folder / entry)
                except OSError:
                    pass
    finally:
        os.close(dir_fd)
    return removed


def remove_folder(root: str | os.PathLike, path: str | os.PathLike) -> None:
    """Delete the folder ``path``, which is under ``root``, and all it holds, never
    following a link: every folder from ``root`` (the user's path, which may be one) down
    to ``path`` is opened with ``O_NOFOLLOW``, so one swapped for a link since it was
    listed is refused (``UnsafeFileError``), and what is inside goes with
    ``shutil.rmtree``'s descriptor-based walk, which removes the links it meets and
    follows none. Other failures: ``WriteError`` (one line)."""
    root, path = Path(root), Path(path)
    parts = path.relative_to(root).parts  # ValueError: not under root
    if ".." in parts:
        raise ValueError(f"{path} is not a folder under {root}")
    try:
        if not parts:  # the listed folder is itself the run: rmtree refuses a link there
            shutil.rmtree(path)
        else:
            _remove_below(root, parts)
    except OSError as exc:
        raise WriteError(f"{path}: not deleted ({exc.strerror or exc})") from None


def _remove_below(root: Path, parts: tuple[str, ...]) -> None:
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        here = root
        for i, part in enumerate(parts):
            here = here / part
            st = os.stat(part, dir_fd=fd, follow_symlinks=False)  # FileNotFoundError: gone
            if not stat.S_ISDIR(st.st_mode):
                what = _kind(st, lambda: os.readlink(part, dir_fd=fd)) or "a file"  # noqa: B023
                raise UnsafeFileError(f"{here}: is {what}; not deleted (mnist-tui follows no "
                                      f"link out of the folder it lists)")
            if i == len(parts) - 1:
                shutil.rmtree(part, dir_fd=fd)
            else:
                inner = os.open(part, _DIR, dir_fd=fd)
                os.close(fd)
                fd = inner
    finally:
        os.close(fd)
