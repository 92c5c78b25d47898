"""Read event files into validated records, ready to produce; no Kafka here.

Two formats:

* **JSON lines**: one event per line, either a plain interaction object or a wrapper
  ``{"item": {...}}``, ``{"user": {...}}``, ``{"interaction": {...}}``. Blank lines and lines
  starting with ``#`` are skipped.
* **MovieLens "latest"** (``ratings.csv`` with ``userId,movieId,rating,timestamp``): first the
  movies of ``movies.csv`` next to it as items, then the ratings in timestamp order.

Each reader yields ``(topic_kind, key, record)`` with ``topic_kind`` one of ``"interactions"``,
``"items"``, ``"users"``. A bad line raises :class:`EventFileError` naming the file and the
line, or, when an ``on_error`` callback is given, is handed to it and reading goes on.

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

import csv
import json
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from schemas import Interaction, Item, SchemaError, User

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
]

TopicKind = Literal["interactions", "items", "users"]
Format = Literal["jsonl", "movielens"]
Event = tuple[TopicKind, str, Interaction | Item | User]


class EventFileError(ValueError):
    """A line of an event file is not a valid event; ``raw`` holds the line's bytes."""

    def __init__(self, path: Path, line: int, message: str, raw: bytes = b"") -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.reason = message
        self.raw = raw


ErrorHandler = Callable[[EventFileError], None]

_WRAPPERS: dict[str, type[Interaction] | type[Item] | type[User]] = {
    "interaction": Interaction,
    "item": Item,
    "user": User,
}
_YEAR = re.compile(r"\((\d{4})\)\s*$")
_NO_GENRES = "(no genres listed)"
RATINGS_HEADER = ["userId", "movieId", "rating", "timestamp"]
MOVIES_HEADER = ["movieId", "title", "genres"]


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


# --- JSON lines ------------------------------------------------------------------------------


def read_jsonl(path: Path | str, on_error: ErrorHandler | None = None) -> Iterator[Event]:
    """Yield the events of a JSON-lines file, streaming it line by line."""
    path = Path(path)
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark
            line = raw.strip()
            if not line or line.startswith(b"#"):
                continue
            try:
                yield _parse_line(line)
            except (SchemaError, ValueError) as exc:
                error = EventFileError(path, number, str(exc), line)
                if on_error is None:
                    raise error from None
                on_error(error)


def _parse_line(line: bytes) -> Event:
    try:
        data = json.loads(line)
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    wrappers = sorted(set(data) & set(_WRAPPERS))
    if not wrappers:
        return _event(Interaction.from_dict(data))
    if len(data) != 1:
        raise ValueError(
            f"a wrapper line holds exactly one key, one of {', '.join(_WRAPPERS)} (got keys {', '.join(sorted(data))})"
        )
    return _event(_WRAPPERS[wrappers[0]].from_dict(data[wrappers[0]]))


def _event(record: Interaction | Item | User) -> Event:
    if isinstance(record, Interaction):
        return "interactions", record.user_id, record
    if isinstance(record, Item):
        return "items", record.item_id, record
    return "users", record.user_id, record


# --- MovieLens -------------------------------------------------------------------------------


def read_movielens(path: Path | str, on_error: ErrorHandler | None = None) -> Iterator[Event]:
    """Yield the movies of ``movies.csv`` (if present) as items, then the ratings by timestamp.

    ``path`` is a ``ratings.csv`` or the folder that holds it. Ratings are read whole to be
    sorted (stable, so ties keep the file's order); movies are streamed.
    """
    path = Path(path)
    ratings = path / "ratings.csv" if path.is_dir() else path
    movies = ratings.with_name("movies.csv")
    if movies.is_file():
        yield from _read_movies(movies, on_error)
    rows = list(_read_ratings(ratings, on_error))
    rows.sort(key=lambda row: row[0])
    for timestamp, user, movie, rating in rows:
        record = Interaction(
            event_id=f"ml-{user}-{movie}-{timestamp}",
            user_id=user,
            item_id=movie,
            type="rating",
            timestamp=float(timestamp),
            value=rating,
        )
        yield "interactions", user, record


def _csv_rows(path: Path, header: list[str], on_error: ErrorHandler | None) -> Iterator[tuple[int, list[str]]]:
    """(line number, row) of a CSV file after checking its header."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        first = next(reader, None)
        if first is None or [h.strip().lstrip("\ufeff") for h in first] != header:
            raise EventFileError(path, 1, f"expected the header {','.join(header)} (got {first})")
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                _fail(path, reader.line_num, f"expected {len(header)} columns, got {len(row)}", row, on_error)
                continue
            yield reader.line_num, row


def _fail(path: Path, line: int, message: str, row: list[str], on_error: ErrorHandler | None) -> None:
    error = EventFileError(path, line, message, ",".join(row).encode())
    if on_error is None:
        raise error
    on_error(error)


def _read_movies(path: Path, on_error: ErrorHandler | None) -> Iterator[Event]:
    for line, (movie_id, title, genres) in _csv_rows(path, MOVIES_HEADER, on_error):
        attributes: dict[str, Any] = {"genres": [g for g in genres.split("|") if g and g != _NO_GENRES]}
        if year := _YEAR.search(title):
            attributes["year"] = int(year.group(1))
        try:
            item = Item.from_dict({"item_id": movie_id.strip(), "title": title.strip(),
                                   "attributes": attributes})  # fmt: skip
        except SchemaError as exc:
            _fail(path, line, str(exc), [movie_id, title, genres], on_error)
            continue
        yield "items", item.item_id, item


def _read_ratings(path: Path, on_error: ErrorHandler | None) -> Iterator[tuple[int, str, str, float]]:
    for line, row in _csv_rows(path, RATINGS_HEADER, on_error):
        user, movie, rating, timestamp = (cell.strip() for cell in row)
        try:
            parsed = (int(timestamp), user, movie, float(rating))
            if not user or not movie:
                raise ValueError("userId and movieId must not be empty")
            if not math.isfinite(parsed[3]) or parsed[0] < 0:
                raise ValueError("the rating must be finite and the timestamp not negative")
        except ValueError as exc:
            _fail(path, line, f"bad rating row ({exc})", row, on_error)
            continue
        yield parsed
