"""Where the default gains and loses on the synthetic stream, and how far a model that knew the world could go.

    .venv/bin/python -m benchmarks.synthetic_ceiling [--events 30000] [--set NAME=VALUE ...]

The synthetic stream (``SyntheticWorld.benchmark``, as ``recsys evaluate --format synthetic``
replays it) has two kinds of next interaction: a **continuation** of a session (the same user
again, on an item of the same cluster a few places from the last one in the popularity order)
and a **fresh pick** (the user's favourite cluster most of the time, popular items more often,
a just-published item now and then). This replays the default (with ``--set`` overrides) and
item co-occurrence over the last 20 items with the replay's protocol, and prints HR@10 of each
over all tests, the continuations and the fresh picks. Then an **oracle** that reads the
world's hidden state (each user's current cluster, each cluster's popularity order) lists the
last item's ``m`` nearest neighbours in that order, one fresh item of the user's cluster, then
the cluster's most taken items the user has not seen: its HR@10 for each ``m`` bounds what a
model of this stream can reach. Two half-oracles split that bound: **items known** knows every
item's cluster and rank but infers the user's cluster from their latest 10 positives (what a
model that had learnt the catalogue perfectly could do), and **co-visit neighbours** takes the
``m`` items most often taken right before or after the last one (learnt from the stream) in
place of the true neighbours, then the inferred cluster's most taken items. The row
"default's candidates" is the share of tests whose item any of the default's generators
nominated (the recall its scorer ranks within, at any rank). Nothing here asserts anything.
"""

from __future__ import annotations

import argparse
import collections
from collections.abc import Sequence

from recsys.datasets.synthetic import SyntheticWorld
from recsys.evaluate.baselines import CoOccurrence
from recsys.evaluate.protocol import EngineRecommender, Positives, Recommender
from recsys.evaluate.run import engine_settings
from schemas import Interaction, Item

NEIGHBOURS = (0, 2, 4, 6, 8)
KINDS = ("continuation", "fresh pick")
FRESH_EVENTS = 2000  # SyntheticWorld.benchmark's fresh_events: how long a new item is boosted


class MarkedWorld(SyntheticWorld):
    """The benchmark world, remembering which interactions continued a session."""

    continued: set[str]

    def interaction(self, user_id: str | None = None) -> Interaction:
        was = self._session is not None
        event = super().interaction(user_id)
        if was:
            self.continued.add(event.event_id)
        return event


def oracle(world: SyntheticWorld, user: str, last: str | None, seen: set[str], m: int,
           published: dict[str, int], popularity: collections.Counter[str]) -> list[str]:  # fmt: skip
    """The list a model that knew the world would give: ``m`` rank neighbours of ``last``, a fresh
    item and the most taken unseen items of the user's cluster."""
    neighbours: list[str] = []
    if last is not None:
        ids, rank = world.by_cluster[world.item_cluster[last]], world._rank[last]
        steps = [s for d in range(1, m + 1) for s in (d, -d)]
        neighbours = [ids[rank + s] for s in steps if 0 <= rank + s < len(ids) and ids[rank + s] not in seen][:m]
    cluster = world.by_cluster[world.cluster_of_user(user)]
    fresh = [i for i in cluster if world._counter - published.get(i, -FRESH_EVENTS) < FRESH_EVENTS and i not in seen]
    popular = sorted((i for i in cluster if i not in seen), key=lambda i: -popularity[i])
    return list(dict.fromkeys([*neighbours, *fresh[:1], *popular]))[:10]


def half_oracles(world: SyntheticWorld, history: list[str], seen: set[str], m: int,
                 popularity: collections.Counter[str],
                 covisits: dict[str, collections.Counter[str]]) -> tuple[list[str], list[str]]:  # fmt: skip
    """The lists of the two half-oracles (items known; co-visit neighbours) for a user with ``history``."""
    if not history:
        return [], []
    cluster = collections.Counter(world.item_cluster[i] for i in history[-10:]).most_common(1)[0][0]
    popular = sorted((i for i in world.by_cluster[cluster] if i not in seen), key=lambda i: -popularity[i])[:10]
    last = history[-1]
    ids, rank = world.by_cluster[world.item_cluster[last]], world._rank[last]
    steps = [s for d in range(1, m + 1) for s in (d, -d)]
    known = [ids[rank + s] for s in steps if 0 <= rank + s < len(ids) and ids[rank + s] not in seen][:m]
    learnt = [i for i, _ in covisits[last].most_common() if i not in seen][:m]
    return list(dict.fromkeys([*known, *popular]))[:10], list(dict.fromkeys([*learnt, *popular]))[:10]


def in_candidates(model: Recommender, event: Interaction, seen: set[str]) -> bool:
    """Whether the engine's generators nominated ``event``'s item at all (before scoring): the
    recall its scorer ranks within."""
    assert isinstance(model, EngineRecommender)
    engine = model.engine
    request = engine.ranker.request(engine.user_state(event.user_id), k=10, exclude=seen)
    rows, _ = engine.ranker.candidates(request)
    return event.item_id in set(engine.items.rows.ids_of(rows.tolist()))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=30000)
    parser.add_argument("--set", action="append", default=[], help="NAME=VALUE: a setting of the default")
    args = parser.parse_args(argv)
    world = MarkedWorld.benchmark(seed=0)
    world.continued = set()
    positives = Positives()
    models: list[Recommender] = [EngineRecommender(engine_settings(args.set, 0, positives)), CoOccurrence()]
    hits: collections.Counter[tuple[str, str]] = collections.Counter()
    tests: collections.Counter[str] = collections.Counter()
    seen: dict[str, set[str]] = collections.defaultdict(set)
    last: dict[str, str] = {}
    published: dict[str, int] = {}
    popularity: collections.Counter[str] = collections.Counter()
    history: dict[str, list[str]] = collections.defaultdict(list)  # positives
    covisits: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for event in world.stream(args.events):
        if isinstance(event, Item) and event.item_id in world.item_cluster and world._counter:
            published[event.item_id] = world._counter
        is_positive = isinstance(event, Interaction) and positives(event)
        if isinstance(event, Interaction) and is_positive and event.item_id not in seen[event.user_id]:
            kind = "continuation" if event.event_id in world.continued else "fresh pick"
            tests[kind] += 1
            user_seen = seen[event.user_id]
            hits["default's candidates", kind] += in_candidates(models[0], event, user_seen)
            for model in models:
                hits[model.name, kind] += event.item_id in model.recommend(event.user_id, 10, user_seen)
            for m in NEIGHBOURS:
                listed = oracle(world, event.user_id, last.get(event.user_id), user_seen, m, published, popularity)
                hits[f"oracle, {m} neighbours", kind] += event.item_id in listed
            for m in NEIGHBOURS[1:]:
                known, learnt = half_oracles(world, history[event.user_id], user_seen, m, popularity, covisits)
                hits[f"items known, {m}", kind] += event.item_id in known
                hits[f"co-visit neighbours, {m}", kind] += event.item_id in learnt
        for model in models:
            model.observe(event, is_positive)
        if isinstance(event, Interaction):
            seen[event.user_id].add(event.item_id)
            last[event.user_id] = event.item_id
            popularity[event.item_id] += is_positive
            if is_positive:
                if history[event.user_id]:
                    previous = history[event.user_id][-1]
                    covisits[previous][event.item_id] += 1
                    covisits[event.item_id][previous] += 1
                history[event.user_id].append(event.item_id)
    total = sum(tests.values())
    print(f"{total} tests: {tests['continuation']} continuations, {tests['fresh pick']} fresh picks; HR@10")
    print(f"{'model':24s}{'all':>8s}{'continuation':>14s}{'fresh pick':>12s}")
    for name in dict.fromkeys(name for name, _ in hits):
        row = [sum(hits[name, k] for k in tests) / total] + [hits[name, k] / max(tests[k], 1) for k in KINDS]
        print(f"{name:24s}{row[0]:8.4f}{row[1]:14.4f}{row[2]:12.4f}")


if __name__ == "__main__":
    main()
