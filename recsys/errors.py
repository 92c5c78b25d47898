"""A small error tree; every message says how to fix the problem."""


class RecsysError(Exception):
    """The root of every error the recommender raises on purpose."""


class ConfigError(RecsysError, ValueError):
    """A setting is missing or invalid; the message names the RECSYS_ variable."""


class SnapshotError(RecsysError):
    """A model snapshot cannot be read; delete it to rebuild from the topics."""


class DatasetError(RecsysError, ValueError):
    """A dataset file is missing or has a bad row; the message names the file and the line.

    ``path``, ``line`` and ``raw`` (the offending row's bytes) are kept for callers that report
    or forward bad rows and read on; ``reason`` is the message without the location.
    """

    def __init__(self, message: str, path: object = None, line: int | None = None, raw: bytes = b"") -> None:
        where = "" if path is None else f"{path}:" if line is None else f"{path}:{line}:"
        super().__init__(f"{where} {message}" if where else message)
        self.path = path
        self.line = line
        self.reason = message
        self.raw = raw


class StateError(RecsysError, ValueError):
    """A user's state cannot be stored or read; the message names the user and what to do."""
