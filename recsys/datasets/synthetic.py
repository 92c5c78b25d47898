"""A seeded synthetic stream with planted taste clusters, for tests, demos, load and evaluation.

Every item belongs to one cluster (its main genre); every user has a favourite cluster and
mostly interacts with that cluster's items, more often with its popular ones (power law).
A model that learns anything real recommends a user items of the user's own cluster.

Attributes follow the clusters, so content and profile features carry signal too: an item has
its cluster's genre (sometimes a second one), tags from its cluster's tag pool, a creator from
its cluster's creators and a year; a user has an age band, a country and preferred genres that
lean towards the cluster's.

Optional dynamics, all off by default (then :meth:`SyntheticWorld.interactions` draws exactly
the stream it always drew) and all on in :meth:`SyntheticWorld.benchmark`:

* ``new_item_rate``: per event, the probability that a brand-new item is published. It enters
  the stream as an :class:`~schemas.Item` (``published_at`` = the clock) before any
  interaction on it, and for ``fresh_events`` events a draw in its cluster picks one of the
  cluster's fresh items with probability ``new_item_boost``.
* ``session_rate``: after each event, the probability that the next event is the same user
  again on a related item (same cluster, a few places away in the popularity order); sessions
  are therefore geometric, of mean length ``1 / (1 - session_rate)``.
* ``drift_every`` / ``drift_fraction``: every ``drift_every`` interactions, that fraction of the
  users switch their favourite cluster to another one (logged in ``drift_log``).
* ``follows``: each user follows that many other users (:meth:`SyntheticWorld.follows`, in the
  stream after the profiles), with homophily: a followee is of the user's own cluster with
  probability ``follow_homophily``, else any user. ``follow_churn``: per interaction, the
  probability that a random user unfollows one followee and follows someone new of their
  current cluster (so drifted users come to follow their new cluster).

The social graph is drawn from a generator of its own, so turning it on leaves the items and
interactions exactly as they were.

Everything is drawn from generators seeded by ``seed``: two worlds built alike yield the same
events.

Examples
--------
>>> world = SyntheticWorld(users=20, items=30, clusters=3, seed=1)
>>> events = list(world.interactions(100))
>>> len(events), events[0].timestamp <= events[-1].timestamp
(100, True)
>>> share = sum(world.cluster_of_item(e.item_id) == world.cluster_of_user(e.user_id) for e in events) / 100
>>> share > 0.7
True

With items published over time, sessions and drift:

>>> world = SyntheticWorld.benchmark(seed=3, users=50, items=60)
>>> stream = list(world.stream(2000))
>>> kinds = [type(e).__name__ for e in stream]
>>> kinds[:60] == ["Item"] * 60 and kinds[60:110] == ["User"] * 50
True
>>> new = [e for e in stream[110:] if isinstance(e, Item)]
>>> len(new) > 0 and all(world.cluster_of_item(item.item_id) >= 0 for item in new)
True
>>> follows = [e for e in stream if isinstance(e, Follow)]
>>> kinds[110:610] == ["Follow"] * 500, follows[0].action
(True, 'follow')
"""

from __future__ import annotations

import json
import random
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path
from typing import Any, Self

from recsys.datasets.base import Event
from schemas import Follow, Interaction, Item, User

__all__ = ["GENRES", "SyntheticWorld"]

GENRES = ("action", "comedy", "drama", "horror", "romance", "scifi", "thriller", "documentary")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55+")
COUNTRIES = ("US", "GB", "DE", "FR", "NL", "BR", "IN", "JP", "ES", "SE")
TAG_WORDS = (
    "dark", "funny", "slow", "epic", "cult", "quirky", "twist", "classic", "gritty", "feel-good",
    "visual", "dialogue", "violent", "romantic", "surreal", "true-story",
)  # fmt: skip
DAY = 86_400.0
YEAR = 365.25 * DAY
CATALOGUE_AGE_YEARS = 10  # the initial catalogue was published over this many years before ``start``
ATTRIBUTE_LEANING = 0.7  # how often an attribute takes its cluster's value rather than a random one


class SyntheticWorld:
    """Users and items with planted clusters; draws interactions (and new items) from them."""

    def __init__(
        self,
        users: int = 200,
        items: int = 300,
        clusters: int = 4,
        affinity: float = 0.85,
        dislike_rate: float = 0.05,
        seed: int = 0,
        start: float = 1_700_000_000.0,
        *,
        new_item_rate: float = 0.0,
        new_item_boost: float = 0.3,
        fresh_events: int = 1000,
        session_rate: float = 0.0,
        drift_every: int = 0,
        drift_fraction: float = 0.1,
        follows: int = 0,
        follow_homophily: float = 0.8,
        follow_churn: float = 0.0,
    ) -> None:
        _check(users >= 1 and clusters >= 1 and items >= clusters, "need users >= 1 and items >= clusters >= 1")
        for name, p in [("affinity", affinity), ("dislike_rate", dislike_rate), ("new_item_rate", new_item_rate),
                        ("new_item_boost", new_item_boost), ("session_rate", session_rate),
                        ("drift_fraction", drift_fraction), ("follow_homophily", follow_homophily),
                        ("follow_churn", follow_churn)]:  # fmt: skip
            _check(0.0 <= p <= 1.0, f"{name} is a probability in [0, 1] (got {p})")
        _check(session_rate < 1.0, "session_rate must be below 1, or one session never ends")
        _check(fresh_events >= 0 and drift_every >= 0, "fresh_events and drift_every must not be negative")
        _check(0 <= follows < users, f"follows is a number of followees per user in [0, users) (got {follows})")
        # The main generator draws the users' clusters and every event, in the same order as
        # before the optional dynamics existed; attributes come from a generator of their own.
        self.rng = random.Random(seed)
        self._attr_rng = random.Random(f"{seed}/attributes")
        self.n_users, self.n_items, self.clusters = users, items, clusters
        self.affinity, self.dislike_rate = affinity, dislike_rate
        self.new_item_rate, self.new_item_boost, self.fresh_events = new_item_rate, new_item_boost, fresh_events
        self.session_rate, self.drift_every, self.drift_fraction = session_rate, drift_every, drift_fraction
        self.start = self.clock = start
        self.item_cluster = {f"i{n}": n % clusters for n in range(items)}
        self.user_cluster = {f"u{n}": self.rng.randrange(clusters) for n in range(users)}
        self.by_cluster: dict[int, list[str]] = {c: [] for c in range(clusters)}
        for item_id, c in self.item_cluster.items():
            self.by_cluster[c].append(item_id)
        # power-law popularity: the r-th item of a cluster is drawn with weight 1 / (r + 1)
        self.weights = {c: [1.0 / (r + 1) for r in range(len(ids))] for c, ids in self.by_cluster.items()}
        self._cumulative = {c: list(accumulate(w)) for c, w in self.weights.items()}
        self._rank = {item_id: r for ids in self.by_cluster.values() for r, item_id in enumerate(ids)}
        self._fresh: dict[int, deque[tuple[str, int]]] = {c: deque() for c in range(clusters)}
        self._session: tuple[str, str] | None = None  # (user, last item) when the next event continues it
        self.drift_log: list[tuple[int, str, int, int]] = []  # (events so far, user, old cluster, new cluster)
        self._counter = 0
        self._tag_pools = {c: self._attr_rng.sample(TAG_WORDS, 4) + [f"{self.genre(c)}-{c}"] for c in range(clusters)}
        self._creators = {c: [f"creator-{c}-{k}" for k in range(4)] for c in range(clusters)}
        self._items: dict[str, Item] = {}
        for item_id, c in self.item_cluster.items():
            published_at = start - DAY - self._attr_rng.uniform(0, CATALOGUE_AGE_YEARS * YEAR)
            self._items[item_id] = self._make_item(item_id, c, published_at, self._attr_rng)
        self._profiles = {u: self._make_profile(u, c) for u, c in self.user_cluster.items()}
        # the social graph: a generator of its own, so the events above stay as they were
        self._follow_rng = random.Random(f"{seed}/follows")
        self.follow_homophily, self.follow_churn = follow_homophily, follow_churn
        self.following: dict[str, list[str]] = {u: [] for u in self.user_cluster}  # now, oldest first
        self._follow_counter = 0
        members = self._members()
        self._initial_follows = [
            follow for u in self.user_cluster for _ in range(follows) for follow in self._follow(u, members, start)
        ]

    @classmethod
    def benchmark(cls, seed: int = 0, users: int = 2000, items: int = 3000, **overrides: Any) -> Self:
        """A world with every dynamic on, for evaluation.

        20 clusters; about one new item per 100 events, each boosted for 2000 events; sessions
        of mean length 2; 5% of the users drifting every 5000 events; 10 followees per user, 80%
        of them of the user's own cluster, one change of followee per 500 events. ``overrides``
        change any constructor knob.
        """
        knobs: dict[str, Any] = {
            "clusters": 20,
            "affinity": 0.8,
            "dislike_rate": 0.05,
            "new_item_rate": 0.01,
            "new_item_boost": 0.15,
            "fresh_events": 2000,
            "session_rate": 0.5,
            "drift_every": 5000,
            "drift_fraction": 0.05,
            "follows": 10,
            "follow_homophily": 0.8,
            "follow_churn": 0.002,
        }
        return cls(users=users, items=items, seed=seed, **(knobs | overrides))

    # --- the world ----------------------------------------------------------------------------

    def genre(self, cluster: int) -> str:
        return GENRES[cluster % len(GENRES)]

    def cluster_of_item(self, item_id: str) -> int:
        return self.item_cluster[item_id]

    def cluster_of_user(self, user_id: str) -> int:
        """The user's favourite cluster now (it changes when the user drifts)."""
        return self.user_cluster[user_id]

    def catalogue(self) -> list[Item]:
        """Every item published so far, the initial catalogue first."""
        return list(self._items.values())

    def profiles(self) -> list[User]:
        """Every user's profile, drawn from the favourite cluster at the start."""
        return list(self._profiles.values())

    def follows(self) -> list[Follow]:
        """The social graph at the start, as follow events (empty unless ``follows`` was set)."""
        return list(self._initial_follows)

    # --- drawing events -----------------------------------------------------------------------

    def pick_item(self, user_id: str) -> str:
        own = self.user_cluster[user_id]
        cluster = own if self.rng.random() < self.affinity else self.rng.randrange(self.clusters)
        fresh = self._fresh_items(cluster)
        if fresh and self.rng.random() < self.new_item_boost:
            return self.rng.choice(fresh)
        return self.rng.choices(self.by_cluster[cluster], cum_weights=self._cumulative[cluster])[0]

    def interaction(self, user_id: str | None = None) -> Interaction:
        """The next interaction (of ``user_id``, else of a random user or the one in session)."""
        session = self._session
        if session is not None and user_id in (None, session[0]):
            user_id, item_id = session[0], self._related(session[1])
        else:
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
        event = Interaction(f"syn-{self._counter}", user_id, item_id, kind, timestamp=round(self.clock, 3))
        self._session = (user_id, item_id) if self.session_rate and self.rng.random() < self.session_rate else None
        if self.drift_every and self._counter % self.drift_every == 0:
            self._drift()
        return event

    def interactions(self, n: int, new_items: bool = False) -> Iterator[Interaction]:
        """``n`` interactions only; with ``new_items`` items are published too, but not yielded."""
        for event in self._events(n, publish=new_items):
            if isinstance(event, Interaction):
                yield event

    def stream(self, n: int) -> Iterator[Event]:
        """The catalogue, the profiles and the initial follows, then ``n`` interactions with new items
        (and changes of followee) among them, in time order."""
        yield from self.catalogue()
        yield from self.profiles()
        yield from self.follows()
        yield from self._events(n, publish=True)

    def publish_item(self, cluster: int | None = None) -> Item:
        """Publish a brand-new item now (in ``cluster``, else a random one); it is fresh for a while."""
        c = self.rng.randrange(self.clusters) if cluster is None else cluster
        item_id = f"i{len(self.item_cluster)}"
        item = self._make_item(item_id, c, round(self.clock, 3), self.rng)
        ids = self.by_cluster[c]
        self.item_cluster[item_id], self._rank[item_id], self._items[item_id] = c, len(ids), item
        ids.append(item_id)  # at the tail of the power law, boosted while fresh
        self.weights[c].append(1.0 / len(ids))
        self._cumulative[c].append(self._cumulative[c][-1] + self.weights[c][-1])
        self._fresh[c].append((item_id, self._counter + self.fresh_events))
        return item

    def write_jsonl(self, path: Path, n: int) -> Path:
        """A JSON-lines file for ``recsys produce``: the catalogue, profiles, follows, then ``n``
        interactions (with any new items just before their first interaction)."""
        wrappers = {Item: "item", User: "user", Follow: "follow"}
        with open(path, "w") as fh:
            for event in self.stream(n):
                wrapper = wrappers.get(type(event))
                data = event.to_dict()
                fh.write(json.dumps({wrapper: data} if wrapper else data) + "\n")
        return path

    # --- internals ----------------------------------------------------------------------------

    def _events(self, n: int, publish: bool) -> Iterator[Event]:
        for _ in range(n):
            if publish and self.new_item_rate and self.rng.random() < self.new_item_rate:
                yield self.publish_item()
            yield self.interaction()
            if self.follow_churn and self._follow_rng.random() < self.follow_churn:
                yield from self._churn()

    def _members(self) -> dict[int, list[str]]:
        """The users of each cluster now."""
        members: dict[int, list[str]] = {c: [] for c in range(self.clusters)}
        for user, c in self.user_cluster.items():
            members[c].append(user)
        return members

    def _follow(self, user: str, members: dict[int, list[str]], at: float) -> list[Follow]:
        """``user`` follows one more user (of their own cluster with probability ``follow_homophily``)."""
        rng, taken = self._follow_rng, {user, *self.following[user]}
        own = [other for other in members[self.user_cluster[user]] if other not in taken]
        if own and rng.random() < self.follow_homophily:
            other = rng.choice(own)
        else:  # anyone (the own cluster may be used up): a few tries, then give up
            for _ in range(100):
                other = f"u{rng.randrange(self.n_users)}"
                if other not in taken:
                    break
            else:
                return []
        self.following[user].append(other)
        return [self._follow_event(user, other, "follow", at)]

    def _churn(self) -> list[Follow]:
        """A random user drops their oldest followee and follows someone of their current cluster."""
        user = f"u{self._follow_rng.randrange(self.n_users)}"
        at = round(self.clock, 3)
        out = []
        if self.following[user]:
            out.append(self._follow_event(user, self.following[user].pop(0), "unfollow", at))
        return out + self._follow(user, self._members(), at)

    def _follow_event(self, user: str, other: str, action: str, at: float) -> Follow:
        self._follow_counter += 1
        return Follow(f"follow-{self._follow_counter}", user, other, action, timestamp=at)

    def _fresh_items(self, cluster: int) -> list[str]:
        fresh = self._fresh[cluster]
        while fresh and fresh[0][1] <= self._counter:
            fresh.popleft()
        return [item_id for item_id, _ in fresh]

    def _related(self, item_id: str) -> str:
        """An item of the same cluster a few places away in the popularity order."""
        ids = self.by_cluster[self.item_cluster[item_id]]
        if len(ids) == 1:
            return item_id
        rank = self._rank[item_id]
        step = (1 + int(self.rng.expovariate(0.7))) * self.rng.choice((-1, 1))
        other = min(max(rank + step, 0), len(ids) - 1)
        if other == rank:  # clipped at an end: step inwards
            other = rank - 1 if rank > 0 else rank + 1
        return ids[other]

    def _drift(self) -> None:
        if self.clusters < 2:
            return
        movers = self.rng.sample(sorted(self.user_cluster), round(self.drift_fraction * self.n_users))
        for user in movers:
            old = self.user_cluster[user]
            new = (old + 1 + self.rng.randrange(self.clusters - 1)) % self.clusters
            self.user_cluster[user] = new
            self.drift_log.append((self._counter, user, old, new))

    def _leaning(self, rng: random.Random, own: str, options: tuple[str, ...]) -> str:
        return own if rng.random() < ATTRIBUTE_LEANING else rng.choice(options)

    def _make_item(self, item_id: str, c: int, published_at: float, rng: random.Random) -> Item:
        genres = [self.genre(c)]
        if rng.random() < 0.3:
            genres.append(rng.choice([g for g in GENRES if g != genres[0]]))
        pool = self._tag_pools[c]
        creator = rng.choice(self._creators[c] if rng.random() < 0.9 else self._creators[rng.randrange(self.clusters)])
        attributes = {
            "genres": genres,
            "tags": sorted(rng.sample(pool, rng.randint(1, 3))),
            "creator": creator,
            "year": datetime.fromtimestamp(published_at, UTC).year,
        }
        title = f"{self.genre(c).title()} #{item_id[1:]}"
        return Item(item_id, title=title, attributes=attributes, published_at=published_at)

    def _make_profile(self, user_id: str, c: int) -> User:
        rng = self._attr_rng
        preferred = [self.genre(c)]
        if rng.random() < 0.3:
            preferred.append(rng.choice([g for g in GENRES if g != preferred[0]]))
        attributes = {
            "age_band": self._leaning(rng, AGE_BANDS[c % len(AGE_BANDS)], AGE_BANDS),
            "country": self._leaning(rng, COUNTRIES[(3 * c) % len(COUNTRIES)], COUNTRIES),
            "preferred_genres": preferred,
        }
        return User(user_id, attributes)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(f"SyntheticWorld: {message}")
