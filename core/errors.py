"""The project's exceptions: each carries one line a beginner can act on."""


class MnistTuiError(Exception):
    """Base of every error mnist-tui reports to a user (one line, no traceback).

    ``exit_code`` is what the command line exits with: 2 for bad input or data.
    """

    exit_code = 2


class DatasetError(MnistTuiError):
    """A data file is missing, damaged, or not what it claims to be; or a download failed.

    ``searched``: the folders the files were looked for in, when they were not found.
    """

    def __init__(self, message: str, *, searched: tuple[str, ...] = ()):
        super().__init__(message)
        self.searched = tuple(searched)


class RunFolderError(MnistTuiError):
    """A run folder cannot be used: held by another process, already holding a run, or
    not writable (disk full, read-only, permissions)."""


class WriteError(RunFolderError):
    """Writing into the run folder failed (disk full, read-only, permissions): exit 74,
    sysexits' EX_IOERR. What was written before stays readable."""

    exit_code = 74


class UnsafeFileError(WriteError):
    """A symbolic link, or anything but a regular file (a folder, a named pipe), stands
    where mnist-tui would write a file of a run folder, or a link stands in place of the
    folder itself: refused, and nothing written through it. Exit 2, as for any unusable
    run folder; during a run it is handled as any failed write."""

    exit_code = 2


class ConfigError(MnistTuiError):
    """One or more hyperparameters are invalid.

    ``problems`` maps each bad field to the reason it was refused.
    """

    def __init__(self, problems: dict[str, str]):
        self.problems = dict(problems)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.problems.items()))
