"""Read event files into validated records, ready to produce; no Kafka here.

Two formats:

* **JSON lines**: one event per line, either a plain interaction object or a wrapper
  ``{"item": {...}}``, ``{"user": {...}}``, ``{"follow": {...}}``, ``{"context": {...}}``, ``{"rule": {...}}``,
  ``{"interaction": {...}}``. Blank lines and lines starting with ``#`` are skipped.
* **MovieLens "latest"** (``ratings.csv`` with ``userId,movieId,rating,timestamp``): first the
  movies of ``movies.csv`` next to it as items (with their ``tags.csv`` tags, if present), then
  the ratings in timestamp order.

Each reader yields ``(topic_kind, key, record)`` with ``topic_kind`` one of ``"interactions"``,
``"items"``, ``"users"``, ``"follows"``, ``"context"``, ``"rules"``. A bad line raises
:class:`EventFileError` naming the file and the line, or, when an ``on_error`` callback is given,
is handed to it and reading goes on.

The parsing lives in :mod:`recsys.datasets` (shared with ``recsys evaluate``); this module only
adds the topic and key of each record and this command's error type.

Examples
--------
>>> import io, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "events.jsonl"
>>> _ = path.write_text('{"item": {"item_id": "matrix", "title": "The Matrix"}}\\n'
...                     '# alice watches it\\n'
...                     '{"event_id": "e1", "user_id": "alice", "item_id": "matrix", '
...                     '"type": "view", "timestamp": 10}\\n')
>>> [(kind, key, type(rec).__name__) for kind, key, rec in read_jsonl(path)]
[('items', 'matrix', 'Item'), ('interactions', 'alice', 'Interaction')]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import msgspec

from recsys.datasets import load_jsonl, load_movielens_latest
from recsys.datasets.base import Event as Record
from recsys.errors import DatasetError
from schemas import Context, Follow, Interaction, Item, Rule

__all__ = [
    "Event",
    "EventFileError",
    "ErrorHandler",
    "Format",
    "TopicKind",
    "detect_format",
    "read_events",
    "read_jsonl",
    "read_movielens",
    "topic_and_key",
]

TopicKind = Literal["interactions", "items", "users", "follows", "context", "rules"]
Format = Literal["jsonl", "movielens"]
Event = tuple[TopicKind, str, Record]


EventFileError = DatasetError
"""A line of an event file is not a valid event (``line``, and ``raw``: the line's bytes)."""

ErrorHandler = Callable[[EventFileError], None]


def detect_format(path: Path | str) -> Format:
    """``"movielens"`` for a ``ratings.csv`` or a folder holding one, else ``"jsonl"``."""
    path = Path(path)
    if path.is_dir():
        if (path / "ratings.csv").is_file():
            return "movielens"
        raise ValueError(f"{path} is a folder without ratings.csv; give a JSON-lines file or a MovieLens one")
    if path.name == "ratings.csv":
        return "movielens"
    if path.suffix.lower() == ".csv":
        raise ValueError(
            f"{path}: cannot tell the format of a .csv file not named ratings.csv; "
            "only MovieLens ratings.csv files are read as CSV (or pass --format)"
        )
    return "jsonl"


def read_events(path: Path | str, fmt: Format | Literal["auto"] = "auto",
                on_error: ErrorHandler | None = None) -> Iterator[Event]:  # fmt: skip
    """Read ``path`` in ``fmt`` (``"auto"``: :func:`detect_format`)."""
    path = Path(path)
    kind = detect_format(path) if fmt == "auto" else fmt
    if kind == "movielens":
        return read_movielens(path, on_error)
    return read_jsonl(path, on_error)


def read_jsonl(path: Path | str, on_error: ErrorHandler | None = None) -> Iterator[Event]:
    """Yield the events of a JSON-lines file, streaming it line by line."""
    return _keyed(load_jsonl(path, on_error))


def read_movielens(path: Path | str, on_error: ErrorHandler | None = None) -> Iterator[Event]:
    """Yield the movies of ``movies.csv`` (if present) as items, then the ratings by timestamp.

    ``path`` is a ``ratings.csv`` or the folder that holds it. Items go out without
    ``published_at``, as they always have from this command (their year is in ``attributes``).
    """
    for kind, key, record in _keyed(load_movielens_latest(path, on_error)):
        if isinstance(record, Item):
            record = msgspec.structs.replace(record, published_at=None)
        yield kind, key, record


def _keyed(records: Iterator[Record]) -> Iterator[Event]:
    """Each record with its topic and key."""
    return ((*topic_and_key(record), record) for record in records)


def topic_and_key(record: Record) -> tuple[TopicKind, str]:
    """The kind of input topic ``record`` goes to, and its key (what the worker partitions by)."""
    if isinstance(record, Interaction):
        return "interactions", record.user_id
    if isinstance(record, Item):
        return "items", record.item_id
    if isinstance(record, Follow):
        return "follows", record.user_id  # keyed by the follower, like interactions
    if isinstance(record, Context):
        return "context", record.user_id
    if isinstance(record, Rule):
        return "rules", record.rule_id
    return "users", record.user_id
