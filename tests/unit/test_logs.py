"""Structured worker logs (streams/logs.py): one JSON object per line, with the event's coordinates."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from recsys.errors import ConfigError
from recsys.settings import Settings
from streams.logs import JsonFormatter, event_fields, logging_config

ROOT = Path(__file__).resolve().parents[2]


def _capture(name: str) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, out


def test_a_plain_line_has_time_level_logger_and_message() -> None:
    logger, out = _capture("test.logs.plain")
    logger.info("restored %d items", 3)
    line = json.loads(out.getvalue())
    assert line["level"] == "INFO" and line["logger"] == "test.logs.plain"
    assert line["message"] == "restored 3 items"
    assert line["time"].endswith("+00:00")
    assert not {"topic", "partition", "offset", "event_id"} & set(line)


def test_an_event_line_carries_topic_partition_offset_and_event_id() -> None:
    logger, out = _capture("test.logs.event")
    raw = json.dumps({"event_id": "e-9", "user_id": "bob", "item_id": "x"}).encode()
    logger.warning("dead letter: %s", "bad", extra=event_fields("interactions", 2, 41, raw))
    logger.info("skipped", extra=event_fields("interactions", 2, 42, "e-9"))
    first, second = (json.loads(text) for text in out.getvalue().splitlines())
    assert first == first | {"level": "WARNING", "topic": "interactions", "partition": 2, "offset": 41,
                             "event_id": "e-9", "message": "dead letter: bad"}  # fmt: skip
    assert (second["offset"], second["event_id"]) == (42, "e-9")


def test_undecodable_bytes_give_a_null_event_id() -> None:
    assert event_fields("t", 0, 1, b'{"event_id": ')["event_id"] is None
    assert event_fields("t", 0, 1, b"[1, 2]")["event_id"] is None
    assert event_fields("t", 0, 1, None)["event_id"] is None


def test_an_exception_is_kept_on_the_same_line() -> None:
    logger, out = _capture("test.logs.exc")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("processing failed")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert "ValueError: boom" in json.loads(lines[0])["exception"]


def test_the_json_config_sends_json_lines_to_stderr() -> None:
    assert logging_config("text", "info") is None  # faust's own text logs
    script = (
        "import logging, logging.config\n"
        "from streams.logs import logging_config\n"
        "logging.config.dictConfig(logging_config('json', 'info'))\n"
        "logging.getLogger('streams').debug('hidden')\n"
        "logging.getLogger('streams').info('hello')\n"
    )  # in a child process: dictConfig replaces the root handlers, pytest's included
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout == ""
    lines = [json.loads(text) for text in done.stderr.splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [("streams", "hello")]


def test_log_format_is_validated() -> None:
    assert Settings().log_format == "json"
    with pytest.raises(ConfigError, match="RECSYS_LOG_FORMAT"):
        Settings.from_env({"RECSYS_LOG_FORMAT": "xml"})


def test_the_worker_logs_at_its_level_without_turning_debug_on(tmp_path: Path) -> None:
    """faust's Worker at level warning set the root logger to DEBUG for its spinner: every debug call of
    faust and aiokafka then built a record to drop. The worker's root logger stays at its level."""
    from streams.worker import make_worker

    settings = Settings.from_env({"RECSYS_DATA_DIR": str(tmp_path), "RECSYS_LOG_LEVEL": "warning"})
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        from streams.app import create_app

        worker = make_worker(create_app(settings).app, settings)
        worker._setup_logging()  # what the worker does when it starts
        assert root.level == logging.WARNING
        assert not logging.getLogger("aiokafka.producer.producer").isEnabledFor(logging.DEBUG)
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
