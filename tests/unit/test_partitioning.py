"""recsys.partitioning maps users to partitions exactly as Kafka's clients do, and to workers."""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import DefaultPartitioner, murmur2

from recsys import partitioning


def test_murmur2_is_the_kafka_clients_hash() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64)))
        assert partitioning.murmur2(data) & 0x7FFFFFFF == murmur2(data) & 0x7FFFFFFF, data


def test_a_user_lands_on_the_partition_the_producers_choose() -> None:
    choose = DefaultPartitioner()
    for n in range(500):
        user = f"user-{n}-é"
        assert partitioning.partition_of(user, 6) == choose(user.encode(), list(range(6)), [])


def test_partition_and_worker_counts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="partitions"):
        partitioning.partition_of("a", 0)
    with pytest.raises(ValueError, match="workers"):
        partitioning.worker_of(1, 0)
