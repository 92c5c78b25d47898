"""A digest of every list the engine publishes over a fixed replay: proof that a change is a pure reshape.

    .venv/bin/python -m benchmarks.list_digest [--events 6000] [--variants default,blend,...]
        [--movielens PATH --ratings 20000] [--out lists.jsonl]

Replays a seeded synthetic stream (catalogue, profiles, follows, interactions, and, woven in
at fixed places, context events, boost and pin rules, a rule tombstone and item withdrawals)
through ``Engine`` twice per variant:

* as the worker does: ``process`` for each interaction (its list, when published) and
  ``refresh_user`` for every user a catalogue, profile, follow, context or rule change affected;
* as ``recsys evaluate`` does: before each positive interaction, ``recommend(user, k, seen,
  shown=True)``, then the event is applied.

Each published list is reduced to everything but its clock fields (``generated_at`` and
``latency_ms``): item ids in order, scores, sources, reasons, components, the triggering event
and the model version. The index is refreshed on count only (``index_refresh_seconds`` is set
out of reach), so a run does not depend on the machine's speed. It prints one line per variant
and mode with the number of lists and the SHA-256 of their canonical JSON; run it on two
commits and compare. ``--out`` writes the lists themselves (one JSON object per line), so two
runs that differ can be diffed. Nothing here asserts anything.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from recsys.datasets import SyntheticWorld, load_movielens_latest
from recsys.engine import Engine
from recsys.settings import Settings
from schemas import Context, Follow, Interaction, Item, Recommendation, Rule, User

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "blend": {"scorer": "blend"},
    "mf": {"generators": "mf,popular", "scorer": "mf"},
    "everything": {
        "generators": "mf,covisit,popular,content,trending,fresh,two_tower,social",
        "blend_weights": {"mf": 0.05, "covisit": 1.0, "popular": 0.01, "fresh": 0.05, "two_tower": 0.3,
                          "content": 0.1, "trending": 0.1, "social": 0.1},
        "freshness_weight": 0.2, "clickbait_weight": 0.5, "clickbait_min_clicks": 3, "mmr_lambda": 0.7,
        "max_per_genre": 4, "max_per_creator": 3, "fairness_max_share": 0.2, "fairness_reserved_slots": 1,
        "covisit_half_life": 3600.0,
    },  # fmt: skip
    "squared": {"mf_loss": "squared", "negatives": 4, "generators": "mf,popular", "scorer": "mf"},
    "mmr-mf": {"mmr_lambda": 0.5, "mmr_space": "mf", "scorer": "blend"},
}


def synthetic(events: int, seed: int) -> Iterator[Any]:
    """The benchmark world with context changes, rules and withdrawals woven in at fixed places."""
    world = SyntheticWorld.benchmark(seed=seed, users=300, items=600)
    n = 0
    items: list[str] = []
    for event in world.stream(events):
        yield event
        if isinstance(event, Item):
            items.append(event.item_id)
        if not isinstance(event, Interaction):
            continue
        n += 1
        at = event.timestamp
        if n % 97 == 0:
            yield Context(f"c{n}", event.user_id, at, {"device": ["tv", "phone"][n % 2], "session_id": f"s{n // 400}"})
        if n == 500:
            yield Rule("comedy-boost", "boost", match={"genres": "comedy"}, weight=0.3)
        if n == 900:
            yield Rule("promo", "pin", item_ids=(items[7], items[11]), position=2)
        if n == 1300:
            yield Rule("tv-only", "pin", item_ids=(items[3],), position=1, context={"device": "tv"})
        if n == 1700:
            yield Rule("promo", "pin", enabled=False)
        if n % 700 == 0:
            yield Item(items[n // 700 * 13 % len(items)], available=False)


def movielens(path: Path, ratings: int) -> Iterator[Any]:
    n = 0
    for event in load_movielens_latest(path):
        if isinstance(event, Interaction):
            n += 1
            if n > ratings:
                return
        yield event


def canonical(rec: Recommendation) -> dict[str, Any]:
    return {
        "user": rec.user_id,
        "event": rec.event_id,
        "model": rec.model_version,
        "items": [[i.item_id, i.score, list(i.sources), list(i.reasons), i.components] for i in rec.items],
    }


def worker_lists(settings: Settings, events: list[Any]) -> Iterator[dict[str, Any]]:
    """What the worker would publish, event by event."""
    engine = Engine(settings)
    for event in events:
        if isinstance(event, Interaction):
            out = engine.process(event)
            if out.recommendation is not None:
                yield canonical(out.recommendation)
            trigger = event.event_id
        elif isinstance(event, Item):
            engine.apply_item(event) if event.available else engine.remove_item(event.item_id)
            trigger = f"item:{event.item_id}"
        elif isinstance(event, User):
            engine.apply_user(event)
            trigger = f"profile:{event.user_id}"
        elif isinstance(event, Follow):
            engine.apply_follow(event)
            trigger = event.event_id
        elif isinstance(event, Context):
            engine.apply_context(event)
            trigger = event.event_id
        elif isinstance(event, Rule):
            engine.apply_rule(event)
            trigger = f"rule:{event.rule_id}"
        for user_id in engine.take_affected():
            rec = engine.refresh_user(user_id, trigger)
            if rec is not None:
                yield canonical(rec)


def evaluate_lists(settings: Settings, events: list[Any]) -> Iterator[dict[str, Any]]:
    """What the prequential replay asks for: a list before each positive interaction."""
    engine = Engine(settings)
    seen: dict[str, set[str]] = {}
    for event in events:
        if isinstance(event, Interaction):
            user_seen = seen.setdefault(event.user_id, set())
            if event.type not in ("dislike", "skip") and event.item_id not in user_seen:
                listed = engine.recommend(event.user_id, k=settings.k, exclude=user_seen, shown=True)
                yield {"user": event.user_id, "before": event.event_id,
                       "items": [[i.item_id, i.score, list(i.sources)] for i in listed]}  # fmt: skip
            engine.apply(event)
            engine.maybe_refresh(now=event.timestamp)
            user_seen.add(event.item_id)
        elif isinstance(event, Item):
            engine.apply_item(event) if event.available else engine.remove_item(event.item_id)
        elif isinstance(event, User):
            engine.apply_user(event)
        elif isinstance(event, Follow):
            engine.apply_follow(event)
        elif isinstance(event, Context):
            engine.apply_context(event)
        elif isinstance(event, Rule):
            engine.apply_rule(event)


def digest(lists: Iterator[dict[str, Any]], out: Any) -> tuple[int, str]:
    h = hashlib.sha256()
    n = 0
    for row in lists:
        line = json.dumps(row, sort_keys=True, separators=(",", ":"))
        h.update(line.encode())
        h.update(b"\n")
        if out is not None:
            out.write(line + "\n")
        n += 1
    return n, h.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=6000, help="synthetic interactions")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--movielens", type=Path, default=None, help="ml-latest-small folder (optional)")
    parser.add_argument("--ratings", type=int, default=20000, help="MovieLens ratings replayed")
    parser.add_argument("--modes", default="worker,evaluate")
    parser.add_argument("--out", type=Path, default=None, help="write every list here (JSON lines)")
    args = parser.parse_args()
    streams = {"synthetic": list(synthetic(args.events, args.seed))}
    if args.movielens is not None:
        streams["movielens"] = list(movielens(args.movielens, args.ratings))
    out = open(args.out, "w") if args.out else None  # noqa: SIM115 - closed below
    modes = {"worker": worker_lists, "evaluate": evaluate_lists}
    try:
        for stream, events in streams.items():
            for name in args.variants.split(","):
                settings = Settings(index_refresh_seconds=1e9, **VARIANTS[name])
                for mode in args.modes.split(","):
                    if out is not None:
                        out.write(json.dumps({"stream": stream, "variant": name, "mode": mode}) + "\n")
                    n, sha = digest(modes[mode](settings, events), out)
                    print(f"{stream:9s} {name:10s} {mode:8s} lists={n:6d} sha256={sha}", flush=True)
    finally:
        if out is not None:
            out.close()


if __name__ == "__main__":
    main()
