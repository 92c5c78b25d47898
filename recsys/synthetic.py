"""A seeded synthetic stream with planted taste clusters, for tests, demos and load.

Every item belongs to one cluster (its genre); every user has a favourite cluster and
mostly interacts with that cluster's items, more often with its popular ones (power law).
A model that learns anything real recommends a user items of the user's own cluster.

Examples
--------
>>> world = SyntheticWorld(users=20, items=30, clusters=3, seed=1)
>>> events = list(world.interactions(100))
>>> len(events), events[0].timestamp <= events[-1].timestamp
(100, True)
>>> share = sum(world.cluster_of_item(e.item_id) == world.cluster_of_user(e.user_id) for e in events) / 100
>>> share > 0.7
True
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

from schemas import Interaction, Item, User

GENRES = ("action", "comedy", "drama", "horror", "romance", "scifi", "thriller", "documentary")


class SyntheticWorld:
    """Users and items with planted clusters; draws interactions from them."""

    def __init__(
        self,
        users: int = 200,
        items: int = 300,
        clusters: int = 4,
        affinity: float = 0.85,
        dislike_rate: float = 0.05,
        seed: int = 0,
        start: float = 1_700_000_000.0,
    ) -> None:
        self.rng = random.Random(seed)
        self.n_users, self.n_items, self.clusters = users, items, clusters
        self.affinity, self.dislike_rate = affinity, dislike_rate
        self.clock = start
        self.item_cluster = {f"i{n}": n % clusters for n in range(items)}
        self.user_cluster = {f"u{n}": self.rng.randrange(clusters) for n in range(users)}
        self.by_cluster: dict[int, list[str]] = {c: [] for c in range(clusters)}
        for item_id, c in self.item_cluster.items():
            self.by_cluster[c].append(item_id)
        # power-law popularity: the r-th item of a cluster is drawn with weight 1 / (r + 1)
        self.weights = {c: [1.0 / (r + 1) for r in range(len(ids))] for c, ids in self.by_cluster.items()}
        self._counter = 0

    def genre(self, cluster: int) -> str:
        return GENRES[cluster % len(GENRES)]

    def cluster_of_item(self, item_id: str) -> int:
        return self.item_cluster[item_id]

    def cluster_of_user(self, user_id: str) -> int:
        return self.user_cluster[user_id]

    def catalogue(self) -> list[Item]:
        return [
            Item(item_id, title=f"{self.genre(c).title()} #{item_id[1:]}",
                 attributes={"genres": [self.genre(c)]}, published_at=self.clock - 86400.0)
            for item_id, c in self.item_cluster.items()
        ]  # fmt: skip

    def profiles(self) -> list[User]:
        return [User(u, {"preferred_genres": [self.genre(c)]}) for u, c in self.user_cluster.items()]

    def pick_item(self, user_id: str) -> str:
        own = self.user_cluster[user_id]
        cluster = own if self.rng.random() < self.affinity else self.rng.randrange(self.clusters)
        return self.rng.choices(self.by_cluster[cluster], weights=self.weights[cluster])[0]

    def interaction(self, user_id: str | None = None) -> Interaction:
        user_id = user_id or f"u{self.rng.randrange(self.n_users)}"
        item_id = self.pick_item(user_id)
        own = self.item_cluster[item_id] == self.user_cluster[user_id]
        kind = (
            "dislike"
            if not own and self.rng.random() < self.dislike_rate * 10
            else self.rng.choice(("view", "click", "like", "like", "purchase"))
        )
        self._counter += 1
        self.clock += self.rng.expovariate(1.0)
        return Interaction(f"syn-{self._counter}", user_id, item_id, kind, timestamp=round(self.clock, 3))

    def interactions(self, n: int) -> Iterator[Interaction]:
        for _ in range(n):
            yield self.interaction()

    def write_jsonl(self, path: Path, n: int) -> Path:
        """A JSON-lines file for ``recsys produce``: the catalogue, profiles, then ``n`` interactions."""
        with open(path, "w") as fh:
            for item in self.catalogue():
                fh.write(json.dumps({"item": item.to_dict()}) + "\n")
            for user in self.profiles():
                fh.write(json.dumps({"user": user.to_dict()}) + "\n")
            for event in self.interactions(n):
                fh.write(json.dumps(event.to_dict()) + "\n")
        return path
