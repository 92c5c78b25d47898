"""streams.kafka_io's helpers that need no broker: asking a settling partition again."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from streams.kafka_io import watermarks


class Settling:
    """A consumer whose partition has no leader for the first ``failures`` asks (as just after the
    topic was created), then answers (or fails with ``then`` for ever)."""

    def __init__(self, failures: int, code: int = KafkaError.NOT_LEADER_FOR_PARTITION) -> None:
        self.failures, self.code, self.asked = failures, code, 0

    def get_watermark_offsets(self, partition: Any, timeout: float) -> tuple[int, int]:
        self.asked += 1
        if self.asked <= self.failures:
            raise KafkaException(KafkaError(self.code))
        return 3, 17


def test_a_partition_without_a_leader_yet_is_asked_again() -> None:
    consumer = Settling(failures=2)
    assert watermarks(consumer, "t", 0, timeout=10) == (3, 17)  # type: ignore[arg-type]
    assert consumer.asked == 3


def test_other_errors_and_a_partition_that_never_settles_raise() -> None:
    with pytest.raises(KafkaException):
        watermarks(Settling(failures=1, code=KafkaError.TOPIC_AUTHORIZATION_FAILED), "t", 0)  # type: ignore[arg-type]
    never = Settling(failures=10**6)
    with pytest.raises(KafkaException):
        watermarks(never, "t", 0, timeout=0.5)  # type: ignore[arg-type]
    assert never.asked >= 2
