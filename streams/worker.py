"""Run the Faust worker: create the topics, restore state, consume until stopped.

``python -m streams.worker`` and ``recsys worker`` do the same.
"""

from __future__ import annotations

import logging
import logging.config
import sys

import faust

from recsys.settings import Settings
from recsys.threads import limit_blas_threads
from streams.app import create_app
from streams.kafka_io import create_topics, wait_for_broker
from streams.logs import logging_config

log = logging.getLogger("streams")


def run_worker(settings: Settings) -> int:
    """Block running one worker; SIGTERM or Ctrl-C stops it cleanly (with a final snapshot)."""
    limit_blas_threads(settings.blas_threads)  # also when started as python -m streams.worker
    config = logging_config(settings.log_format, settings.log_level)
    if config is not None:
        logging.config.dictConfig(config)  # so the start-up lines below are JSON too; faust applies it again

    def say(line: str) -> None:
        print(line, file=sys.stderr) if config is None else log.info(line)

    wait_for_broker(settings, timeout=30.0)
    for topic, status in create_topics(settings).items():
        say(f"topic {topic}: {status}")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    service = create_app(settings)
    read = service.reader.load()  # the whole catalogue and every rule before the first list
    say(f"global topics: read {read} records (items, rules, likes, item updates), {len(service.engine.catalog)} items")
    make_worker(service.app, settings).execute_from_commandline()
    return 0


def make_worker(app: faust.App, settings: Settings) -> faust.Worker:
    """faust's Worker for ``app``, logging at ``settings.log_level``, without faust's start-up spinner: at
    level warning or above faust adds one and sets the root logger to DEBUG for it, so every debug call
    of faust and aiokafka (several per event) built a log record to throw away (3.5% of a busy worker)."""
    config = logging_config(settings.log_format, settings.log_level)  # a fresh dict: dictConfig may consume it
    worker = faust.Worker(app, loglevel=settings.log_level, logging_config=config)
    worker.spinner = None
    return worker


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_worker(Settings.from_env()))
