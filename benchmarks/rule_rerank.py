"""What a rule change costs: every active user's list is re-ranked at once.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python -m benchmarks.rule_rerank

10,000 items, 5,000 users and 20,000 interactions in-process; then a pin rule is applied and
every active user re-ranked, as the worker's task does. Prints the time; asserts nothing.
"""

import time
from recsys.datasets.synthetic import SyntheticWorld
from recsys.engine import Engine
from recsys.settings import Settings
from schemas import Rule
world = SyntheticWorld(users=5000, items=10000, clusters=20, seed=5)
e = Engine(Settings())
for it in world.catalogue(): e.apply_item(it)
for ev in world.interactions(20000): e.process(ev)
e.take_affected()
print("active users", len(e.lists))
e.apply_rule(Rule("promo", "pin", item_ids=("i42",), position=1))
users = e.take_affected()
t = time.perf_counter(); changed = sum(e.refresh_user(u, "rule:promo") is not None for u in users)
dt = time.perf_counter() - t
print(f"re-ranked {len(users)} users in {dt:.1f} s ({dt / len(users) * 1000:.2f} ms each); {changed} lists changed")
