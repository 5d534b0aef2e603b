"""The project's exceptions: each carries one line a beginner can act on."""


class MnistTuiError(Exception):
    """Base of every error mnist-tui reports to a user (one line, no traceback)."""


class DatasetError(MnistTuiError):
    """A data file is missing, damaged, or not what it claims to be; or a download failed."""


class ConfigError(MnistTuiError):
    """One or more hyperparameters are invalid.

    ``problems`` maps each bad field to the reason it was refused.
    """

    def __init__(self, problems: dict[str, str]):
        self.problems = dict(problems)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.problems.items()))
