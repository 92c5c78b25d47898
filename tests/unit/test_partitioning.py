"""recsys.partitioning maps users to partitions exactly as Kafka's clients do, and to workers."""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import DefaultPartitioner, murmur2

from recsys import partitioning
from recsys.evaluate.workers import WorkersRecommender
from recsys.settings import Settings
from schemas import Interaction, Item, Rule


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


def test_simulated_workers_split_users_and_share_reference_data() -> None:
    model = WorkersRecommender(Settings(), "default", workers=2, partitions=4)
    for n in range(6):
        model.observe(Item(f"i{n}"), positive=False)
    model.observe(Rule("pin", "pin", item_ids=("i5",)), positive=False)
    users = [f"u{n}" for n in range(20)]
    for n, user in enumerate(users):
        model.observe(Interaction(f"e{n}", user, "i0", "like", timestamp=float(n)), positive=True)
    owners = {user: model.engines.index(model.owner(user)) for user in users}
    assert set(owners.values()) == {0, 1}  # both workers hold users
    for user, owner in owners.items():
        assert model.engines[owner].user_state(user).events == 1
        assert model.engines[1 - owner].user_state(user).events == 0  # the other never saw the user
        listed = model.recommend(user, 5, {"i0"})
        assert listed[0] == "i5" and "i0" not in listed  # every worker holds the rule and the catalogue
    assert [len(e.catalog) for e in model.engines] == [6, 6]


def test_more_workers_than_partitions_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match="RECSYS_PARTITIONS"):
        WorkersRecommender(Settings(), "default", workers=5, partitions=4)
