"""The project's JSON-lines event files: one event per line.

A line is a plain interaction object, or a wrapper ``{"item": {...}}``, ``{"user": {...}}``,
``{"follow": {...}}``, ``{"interaction": {...}}``. Blank lines and lines starting with ``#`` are skipped. The file is
streamed and yielded in file order (write it in time order, catalogue first).

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "events.jsonl"
>>> _ = path.write_text('{"item": {"item_id": "matrix", "title": "The Matrix"}}\\n'
...                     '# alice watches it\\n'
...                     '{"event_id": "e1", "user_id": "alice", "item_id": "matrix", '
...                     '"type": "view", "timestamp": 10}\\n')
>>> [type(event).__name__ for event in load_jsonl(path)]
['Item', 'Interaction']
>>> _ = path.write_text('{"event_id": "e1", "user_id": "alice", "type": "love"}\\n')
>>> list(load_jsonl(path))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
recsys.errors.DatasetError: ...events.jsonl:1: interaction: field 'type' must be one of view, ...
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from recsys.datasets.base import ErrorHandler, Event
from recsys.errors import DatasetError
from schemas import Context, Follow, Interaction, Item, Rule, SchemaError, User

__all__ = ["load_jsonl"]

_WRAPPERS: dict[str, type[Interaction] | type[Item] | type[User] | type[Follow] | type[Context] | type[Rule]] = {
    "interaction": Interaction,
    "item": Item,
    "user": User,
    "follow": Follow,
    "context": Context,  # a wrapper only as a line's sole key: an interaction has a "context" field too
    "rule": Rule,
}


def load_jsonl(path: Path | str, on_error: ErrorHandler | None = None) -> Iterator[Event]:
    """Yield the events of a JSON-lines file, streaming it line by line.

    A bad line raises :class:`~recsys.errors.DatasetError` (file, line, reason, raw bytes), or
    is handed to ``on_error`` and reading goes on.
    """
    path = Path(path)
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark
            line = raw.strip()
            if not line or line.startswith(b"#"):
                continue
            try:
                yield parse_line(line)
            except (SchemaError, ValueError) as exc:
                error = DatasetError(str(exc), path, number, line)
                if on_error is None:
                    raise error from None
                on_error(error)


def parse_line(line: bytes) -> Event:
    """One JSON-lines event; raises :class:`ValueError` (or ``SchemaError``) saying what is wrong."""
    try:
        data = json.loads(line)
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    if len(data) == 1 and next(iter(data)) in _WRAPPERS:
        name = next(iter(data))
        return _WRAPPERS[name].from_dict(data[name])
    wrappers = sorted(set(data) & set(_WRAPPERS) - {"context"})
    if not wrappers:
        return Interaction.from_dict(data)
    if len(data) != 1:
        raise ValueError(
            f"a wrapper line holds exactly one key, one of {', '.join(_WRAPPERS)} (got keys {', '.join(sorted(data))})"
        )
    return _WRAPPERS[wrappers[0]].from_dict(data[wrappers[0]])
