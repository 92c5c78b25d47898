"""MovieLens from GroupLens: the "latest" CSV releases and the classic 100K.

MovieLens is not shipped with this project (its licence restricts redistribution): download
``ml-latest-small.zip`` or ``ml-100k.zip`` from https://grouplens.org/datasets/movielens/ and
pass the unpacked folder. Both loaders follow the :mod:`recsys.datasets.base` contract: the
movies first (and, for 100K, the users), then every rating as a ``rating`` interaction sorted
by (timestamp, file order).

Item attributes: ``genres`` (a list; "(no genres listed)" and 100K's "unknown" dropped),
``year`` (the title's trailing "(1999)"; for 100K the release date's year when the title has
none) and, for "latest" with a ``tags.csv``, ``tags``. ``published_at`` is Jan 1 of the year
(100K: the release date), UTC epoch seconds, or None when unknown or before 1970: the
``items`` topic rejects negative timestamps.

Tags are aggregated over the whole file and attached to the movie from the start, so a content
model replayed prequentially sees tags before they were written (mild leakage, as in most
offline uses of MovieLens).

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "movies.csv").write_text('movieId,title,genres\\n1,"Matrix, The (1999)",Action|Sci-Fi\\n')
>>> _ = (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\\n7,1,4.5,964982703\\n")
>>> movie, rating = load_movielens_latest(folder)
>>> movie.title, movie.attributes, movie.published_at
('Matrix, The (1999)', {'genres': ['Action', 'Sci-Fi'], 'year': 1999}, 915148800.0)
>>> rating.event_id, rating.user_id, rating.item_id, rating.value, rating.timestamp
('ml-7-1-964982703', '7', '1', 4.5, 964982703.0)
"""

from __future__ import annotations

import calendar
import csv
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from recsys.datasets.base import ErrorHandler, Event
from recsys.errors import DatasetError
from schemas import Interaction, Item, User

__all__ = ["DOWNLOAD_HINT", "MAX_TAGS", "load_movielens_100k", "load_movielens_latest"]

DOWNLOAD_HINT = (
    "MovieLens is not shipped with this project; download ml-latest-small.zip / ml-100k.zip "
    "from https://grouplens.org/datasets/movielens/ and pass the unpacked folder"
)
MAX_TAGS = 20
"""Tags kept per movie: the most often applied, ties alphabetical, then listed sorted."""

RATINGS_HEADER = ["userId", "movieId", "rating", "timestamp"]
MOVIES_HEADER = ["movieId", "title", "genres"]
TAGS_HEADER = ["userId", "movieId", "tag", "timestamp"]
GENRES_100K = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
"""The 19 genre flags of ``u.item``, in the order of ``u.genre``."""

_NO_GENRES = {"(no genres listed)", "unknown"}
_YEAR = re.compile(r"\((\d{4})\)\s*$")
_MONTHS = {name: n for n, name in enumerate(calendar.month_abbr) if name}  # locale-free: "Jan" -> 1

# (timestamp, user, item, rating); sorted stably on the timestamp, so ties keep the file order
_Rating = tuple[int, str, str, float]
T = TypeVar("T")


# --- MovieLens "latest" (ml-latest-small, ml-latest, ml-25m, ml-32m) ------------------------


def load_movielens_latest(path: Path | str, on_error: ErrorHandler | None = None) -> Iterator[Event]:
    """The movies of ``movies.csv`` as items (with ``tags.csv`` aggregated in), then the ratings.

    ``path`` is the unpacked folder or its ``ratings.csv``; ``movies.csv`` and ``tags.csv`` are
    optional (without ``movies.csv`` only the ratings are yielded). A missing folder or
    ``ratings.csv`` raises :class:`~recsys.errors.DatasetError` at once, saying where to
    download MovieLens; a bad row raises one naming the file and line, or goes to ``on_error``.
    Ratings are read whole to be sorted; movies are streamed.
    """
    path = Path(path)
    ratings = path / "ratings.csv" if path.is_dir() else path
    _require(ratings.parent, [ratings.name], given=path)
    return _latest(ratings, on_error)


def _latest(ratings: Path, on_error: ErrorHandler | None) -> Iterator[Event]:
    movies, tags_file = ratings.with_name("movies.csv"), ratings.with_name("tags.csv")
    tags = _tags(_csv_rows(tags_file, TAGS_HEADER, on_error)) if tags_file.is_file() else {}
    if movies.is_file():
        rows = _csv_rows(movies, MOVIES_HEADER, on_error)
        yield from _parsed(rows, lambda row: _movie(row, tags), movies, on_error)
    rows = _csv_rows(ratings, RATINGS_HEADER, on_error)
    yield from _interactions("ml", _parsed(rows, _rating, ratings, on_error, "bad rating row"))


def _movie(row: list[str], tags: dict[str, list[str]]) -> Item:
    movie_id, title, genres = (cell.strip() for cell in row)
    year = _title_year(title)
    attributes: dict[str, Any] = {"genres": [g for g in genres.split("|") if g and g not in _NO_GENRES]}
    if year is not None:
        attributes["year"] = year
    if movie_id in tags:
        attributes["tags"] = tags[movie_id]
    return Item.from_dict({"item_id": movie_id, "title": title, "attributes": attributes,
                           "published_at": _jan_first(year)})  # fmt: skip


def _tags(rows: Iterable[tuple[int, list[str]]]) -> dict[str, list[str]]:
    counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for _line, row in rows:
        movie_id, tag = row[1].strip(), row[2].strip().lower()
        if movie_id and tag:
            counts[movie_id][tag] += 1
    return {
        movie_id: sorted(tag for tag, _ in sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TAGS])
        for movie_id, tags in counts.items()
    }


def _csv_rows(path: Path, header: list[str], on_error: ErrorHandler | None) -> Iterator[tuple[int, list[str]]]:
    """(line number, row) of a CSV file after checking its header; a wrong header always raises."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        first = next(reader, None)
        if first is None or [h.strip().lstrip("\ufeff") for h in first] != header:
            raise DatasetError(f"expected the header {','.join(header)} (got {first})", path, 1)
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                error = DatasetError(
                    f"expected {len(header)} columns, got {len(row)}", path, reader.line_num, _raw(row)
                )
                _fail(error, on_error)
                continue
            yield reader.line_num, row


# --- MovieLens 100K ---------------------------------------------------------------------------


def load_movielens_100k(path: Path | str, on_error: ErrorHandler | None = None) -> Iterator[Event]:
    """The movies of ``u.item`` as items, the users of ``u.user``, then the ratings of ``u.data``.

    ``path`` is the unpacked ``ml-100k`` folder (or a file in it). Users carry
    ``{age, gender, occupation, zip}``. Errors as for :func:`load_movielens_latest`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> flags = "|".join("1" if g in ("Comedy", "Drama") else "0" for g in GENRES_100K)
    >>> _ = (folder / "u.item").write_text(f"1|Toy Story (1995)|01-Jan-1995||http://x|{flags}\\n")
    >>> _ = (folder / "u.user").write_text("7|24|M|technician|85711\\n")
    >>> _ = (folder / "u.data").write_text("7\\t1\\t3\\t881250949\\n")
    >>> movie, user, rating = load_movielens_100k(folder)
    >>> movie.attributes, movie.published_at
    ({'genres': ['Comedy', 'Drama'], 'year': 1995}, 788918400.0)
    >>> user.attributes
    {'age': 24, 'gender': 'M', 'occupation': 'technician', 'zip': '85711'}
    >>> rating.event_id, rating.value
    ('ml100k-7-1-881250949', 3.0)
    """
    path = Path(path)
    folder = path if path.is_dir() or not path.exists() else path.parent
    _require(folder, ["u.data", "u.item", "u.user"], given=path)
    return _ml100k(folder, on_error)


def _ml100k(folder: Path, on_error: ErrorHandler | None) -> Iterator[Event]:
    items, users, ratings = folder / "u.item", folder / "u.user", folder / "u.data"
    yield from _parsed(_split_lines(items, "|", 5 + len(GENRES_100K), on_error), _item_100k, items, on_error, sep="|")
    yield from _parsed(_split_lines(users, "|", 5, on_error), _user_100k, users, on_error, sep="|")
    rows = _split_lines(ratings, "\t", 4, on_error)
    yield from _interactions("ml100k", _parsed(rows, _rating, ratings, on_error, "bad rating row", sep="\t"))


def _item_100k(fields: list[str]) -> Item:
    item_id, title, released, _video, _url, *flags = (f.strip() for f in fields)
    if any(flag not in ("0", "1") for flag in flags):
        raise ValueError(f"the genre flags must be 0 or 1 (got {'|'.join(flags)})")
    release = _release_date(released)
    year = _title_year(title) or (release.year if release else None)
    published_at = release.timestamp() if release and release.year >= 1970 else None
    genres = [g for g, flag in zip(GENRES_100K, flags, strict=True) if flag == "1" and g not in _NO_GENRES]
    attributes: dict[str, Any] = {"genres": genres}
    if year is not None:
        attributes["year"] = year
    return Item.from_dict({"item_id": item_id, "title": title, "attributes": attributes, "published_at": published_at})


def _user_100k(fields: list[str]) -> User:
    user_id, age, gender, occupation, zip_code = (f.strip() for f in fields)
    if not age.isdigit():
        raise ValueError(f"the age must be a whole number (got {age!r})")
    attributes = {"age": int(age), "gender": gender, "occupation": occupation, "zip": zip_code}
    return User.from_dict({"user_id": user_id, "attributes": attributes})


def _release_date(text: str) -> datetime | None:
    """``01-Jan-1995`` (month names in English whatever the locale) as midnight UTC; '' is None."""
    if not text:
        return None
    day, month, year = text.split("-") if text.count("-") == 2 else ("", "", "")
    if month not in _MONTHS or not day.isdigit() or not year.isdigit():
        raise ValueError(f"the release date must look like 01-Jan-1995 (got {text!r})")
    return datetime(int(year), _MONTHS[month], int(day), tzinfo=UTC)


def _split_lines(path: Path, sep: str, width: int, on_error: ErrorHandler | None) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of a headerless 100K file (latin-1, as GroupLens wrote it)."""
    with path.open(encoding="latin-1", newline="") as handle:
        for number, text in enumerate(handle, start=1):
            text = text.rstrip("\r\n")
            if not text.strip():
                continue
            fields = text.split(sep)
            if len(fields) != width:
                message = f"expected {width} {sep!r}-separated fields, got {len(fields)}"
                _fail(DatasetError(message, path, number, text.encode()), on_error)
                continue
            yield number, fields


# --- shared -----------------------------------------------------------------------------------


def _require(folder: Path, names: list[str], given: Path) -> None:
    """Raise, saying where to download MovieLens, unless ``folder`` holds every file in ``names``."""
    if not given.exists():
        raise DatasetError(f"no such file or folder; {DOWNLOAD_HINT}", given)
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise DatasetError(f"{' and '.join(missing)} not found in this folder; {DOWNLOAD_HINT}", folder)


def _parsed(
    rows: Iterable[tuple[int, list[str]]],
    parse: Callable[[list[str]], T],
    path: Path,
    on_error: ErrorHandler | None,
    what: str = "",
    sep: str = ",",
) -> Iterator[T]:
    """``parse`` every row; a ``ValueError`` (``SchemaError`` too) is a bad row at its line."""
    for line, row in rows:
        try:
            yield parse(row)
        except ValueError as exc:
            _fail(DatasetError(f"{what} ({exc})" if what else str(exc), path, line, _raw(row, sep)), on_error)


def _rating(row: list[str]) -> _Rating:
    user, movie, rating, timestamp = (cell.strip() for cell in row)
    parsed = (int(timestamp), user, movie, float(rating))
    if not user or not movie:
        raise ValueError("userId and movieId must not be empty")
    if not math.isfinite(parsed[3]) or parsed[0] < 0:
        raise ValueError("the rating must be finite and the timestamp not negative")
    return parsed


def _interactions(prefix: str, ratings: Iterable[_Rating]) -> Iterator[Interaction]:
    """Every rating as an interaction, sorted by timestamp; ties keep the file order (stable sort)."""
    rows = sorted(ratings, key=lambda row: row[0])
    for timestamp, user, movie, value in rows:
        yield Interaction(f"{prefix}-{user}-{movie}-{timestamp}", user, movie, "rating", float(timestamp), value=value)


def _title_year(title: str) -> int | None:
    match = _YEAR.search(title)
    return int(match.group(1)) if match else None


def _jan_first(year: int | None) -> float | None:
    return None if year is None or year < 1970 else datetime(year, 1, 1, tzinfo=UTC).timestamp()


def _raw(row: list[str], sep: str = ",") -> bytes:
    """The row's text as bytes, for callers that forward bad rows (CSV quoting is not restored)."""
    return sep.join(row).encode()


def _fail(error: DatasetError, on_error: ErrorHandler | None) -> None:
    if on_error is None:
        raise error
    on_error(error)
