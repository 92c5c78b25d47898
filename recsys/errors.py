"""A small error tree; every message says how to fix the problem."""


class RecsysError(Exception):
    """The root of every error the recommender raises on purpose."""


class ConfigError(RecsysError, ValueError):
    """A setting is missing or invalid; the message names the RECSYS_ variable."""


class SnapshotError(RecsysError):
    """A model snapshot cannot be read; delete it to rebuild from the topics."""
