"""Worker logs as JSON lines on stderr, or faust's own text format (``RECSYS_LOG_FORMAT``).

Each JSON line is one object with ``time``, ``level``, ``logger`` and ``message``; lines about
one event also carry ``topic``, ``partition``, ``offset`` and ``event_id``, passed as
``extra=event_fields(...)`` so that they stay fields rather than text to parse.

Examples
--------
>>> record = logging.LogRecord("streams", logging.WARNING, __file__, 1, "dead letter: %s", ("bad",), None)
>>> record.__dict__.update(event_fields("interactions", 0, 7, b'{"event_id": "e-1"}'))
>>> line = json.loads(JsonFormatter().format(record))
>>> line["level"], line["message"], line["topic"], line["offset"], line["event_id"]
('WARNING', 'dead letter: bad', 'interactions', 7, 'e-1')
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

EVENT_FIELDS = ("topic", "partition", "offset", "event_id")


MAX_PARSED = 64 * 1024  # the largest value searched for an event_id


def event_fields(topic: str, partition: int, offset: int, value: bytes | str | None = None) -> dict[str, Any]:
    """Fields of a log line about one message; ``value`` is a decoded event_id or the raw bytes to find it in."""
    event_id = value if isinstance(value, str) else _event_id(value)
    return {"topic": topic, "partition": partition, "offset": offset, "event_id": event_id}


def _event_id(raw: bytes | None) -> str | None:
    """The event_id in raw bytes when they are a JSON object that has one (bad input often is not;
    nor is it parsed when larger than an event could be: it may be what made the event fail).

    >>> _event_id(b'{"event_id": "e1"}'), _event_id(b"[" * 100000), _event_id(b"\\xff")
    ('e1', None, None)
    """
    if not raw or len(raw) > MAX_PARSED:
        return None
    try:
        found = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON (or not UTF-8), or nested past the decoder's depth
        return None
    value = found.get("event_id") if isinstance(found, dict) else None
    return value if isinstance(value, str) else None


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in EVENT_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def logging_config(log_format: str, level: str) -> dict[str, Any] | None:
    """A ``logging.config.dictConfig`` for faust's Worker, or None to keep faust's text logs."""
    if log_format == "text":
        return None
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"default": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "json"}},
        "root": {"level": level.upper(), "handlers": ["default"]},
    }
