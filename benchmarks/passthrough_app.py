"""A pass-through Faust worker (consume one, produce one): the plumbing's own ceiling.

Run by benchmarks/e2e_broker.py with the same RECSYS_* topics and settings as the real
worker; it echoes each interaction's event_id to the recommendations topic.
"""

from __future__ import annotations

import json
from typing import Any

import faust

from recsys.settings import Settings


def main() -> None:
    s = Settings.from_env()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(s.app_id, broker=s.broker_url, datadir=str(s.data_dir / "faust"), web_port=s.web_port,
                    topic_partitions=s.partitions, consumer_auto_offset_reset="earliest", env={})  # fmt: skip
    source = app.topic(s.topic_interactions, key_serializer="raw", value_serializer="raw")
    sink = app.topic(s.topic_recommendations, key_serializer="raw", value_serializer="raw")

    @app.agent(source, concurrency=1)
    async def echo(stream: Any) -> None:
        async for event in stream.events():
            event_id = json.loads(event.message.value)["event_id"]
            await sink.send(key=event.message.key, value=json.dumps({"event_id": event_id}).encode())

    faust.Worker(app, loglevel=s.log_level).execute_from_commandline()


if __name__ == "__main__":
    main()
