"""Which partition, and so which worker, a user belongs to: Kafka's default partitioner, without Kafka.

Events keyed by user land on partition ``murmur2(key) % partitions`` (Kafka's Java client, faust
and every producer configured with ``partitioner=murmur2_random``); the consumer group hands each
partition to one worker. ``recsys`` needs the same map to replay a stream as N workers would see
it (:mod:`recsys.evaluate.workers`), and the worker's web API to forward a request to the
user's owner.

>>> partition_of("alice", 4), partition_of("bob", 4)
(1, 2)
>>> [worker_of(p, workers=2) for p in range(4)]
[0, 1, 0, 1]
"""

from __future__ import annotations

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's 32-bit murmur2 hash of ``data`` (``org.apache.kafka.common.utils.Utils.murmur2``), unsigned."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    for i in range(0, length - length % 4, 4):
        k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail, extra = length & ~3, length % 4
    if extra >= 3:
        h ^= data[tail + 2] << 16
    if extra >= 2:
        h ^= data[tail + 1] << 8
    if extra >= 1:
        h ^= data[tail]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def partition_of(key: str, partitions: int) -> int:
    """The partition of a message keyed by ``key`` (its UTF-8 bytes) among ``partitions``."""
    if partitions < 1:
        raise ValueError(f"partitions must be at least 1, got {partitions}")
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def worker_of(partition: int, workers: int) -> int:
    """The worker (0 .. workers-1) that holds ``partition`` when the group spreads partitions evenly
    (round robin, as faust's assignor does for one topic whose partitions outnumber the workers)."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    return partition % workers
