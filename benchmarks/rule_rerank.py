"""What a rule change costs: every active user's list is re-ranked at once.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python -m benchmarks.rule_rerank

10,000 items, 5,000 users and 20,000 interactions in-process; then a pin rule is applied and
every active user re-ranked, as the worker's task does. Prints the time; asserts nothing.
"""

from __future__ import annotations

import time

from recsys.datasets.synthetic import SyntheticWorld
from recsys.engine import Engine
from recsys.settings import Settings
from schemas import Rule


def main() -> None:
    world = SyntheticWorld(users=5000, items=10000, clusters=20, seed=5)
    engine = Engine(Settings())
    for item in world.catalogue():
        engine.apply_item(item)
    for event in world.interactions(20000):
        engine.process(event)
    engine.take_affected()
    print("active users", len(engine.shown.lists))
    engine.apply_rule(Rule("promo", "pin", item_ids=("i42",), position=1))
    users = engine.take_affected()
    started = time.perf_counter()
    changed = sum(engine.refresh_user(u, "rule:promo") is not None for u in users)
    took = time.perf_counter() - started
    print(f"re-ranked {len(users)} users in {took:.1f} s ({took / len(users) * 1000:.2f} ms each); "
          f"{changed} lists changed")  # fmt: skip


if __name__ == "__main__":
    main()
