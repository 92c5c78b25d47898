"""Why an item is in a list: human-readable reasons from the generators that nominated it,
followed by the reasons of the re-ranking steps that moved it.

Only the final top ``k`` is explained, so the lookups here (which recent item it was
co-visited with, which followee liked it, in which genre it trends) cost little.

Examples
--------
>>> from recsys.catalog import Catalog
>>> from recsys.candidates import Request
>>> from recsys.candidates.covisitation import CoVisitation
>>> from recsys.candidates.social import RecentLikes
>>> from recsys.candidates.trending import Trending
>>> from recsys.scoring import Scored
>>> from recsys.state import UserState
>>> from schemas import Item
>>> catalog = Catalog(); _ = catalog.upsert(Item("heat", attributes={"genres": ["Crime"]}))
>>> covisits = CoVisitation(); covisits.observe(["matrix"], "heat"); covisits.observe(["up"], "heat")
>>> covisits.observe(["matrix"], "heat")
>>> trending = Trending(3600.0); trending.observe("heat", 1.0, 0.0, {"genres": ["Crime"]}, {})
>>> explain = Explainer(catalog, covisits, RecentLikes(), trending)
>>> user = UserState("u", history=["matrix", "up"])
>>> explain.reasons(Request(user, None), Scored("heat", 1.0, ("covisit", "trending"), ("new",)))
('because you liked matrix', 'trending in Crime', 'new')

The most telling source first, and "new" from the fresh generator only for an item that is:

>>> explain.reasons(Request(user, None), Scored("heat", 1.0, ("popular", "fresh", "mf")))
('matches your taste', 'popular')
"""

from __future__ import annotations

from collections.abc import Iterable

from recsys.candidates.base import Request
from recsys.candidates.covisitation import CoVisitation, recent_positives
from recsys.candidates.social import RecentLikes
from recsys.candidates.trending import Trending
from recsys.catalog import Catalog
from recsys.features import item_genres
from recsys.scoring.base import Scored

SOURCE_REASONS = {
    "mf": "matches your taste",
    "two_tower": "fits your profile",
    "content": "like items you liked",
    "popular": "popular",
}
"""The reason of a generator that needs no lookup."""

PRIORITY = ("covisit", "social", "trending", "content", "fresh", "mf", "two_tower", "popular")
"""The most telling sources first: what the user did, then who they follow, then the crowd."""

MOST = 3
"""Reasons from the sources at most (the steps' reasons all follow)."""


class Explainer:
    """Reasons for a listed item, from its sources and the steps that moved it."""

    def __init__(
        self,
        catalog: Catalog,
        covisitation: CoVisitation,
        likes: RecentLikes,
        trending: Trending,
        new_age: float = 86400.0,
    ) -> None:
        self.catalog = catalog
        self.covisitation = covisitation
        self.likes = likes
        self.trending = trending
        self.new_age = new_age  # "new": published at most this long ago (event time)

    def reasons(self, request: Request, item: Scored) -> tuple[str, ...]:
        """Up to :data:`MOST` reasons from the sources, most telling first, then every step's."""
        out: list[str] = []
        ranked = sorted(item.sources, key=lambda s: PRIORITY.index(s) if s in PRIORITY else len(PRIORITY))
        for source in ranked:
            reason = self._source_reason(request, item.item_id, source)
            if reason and reason not in out and len(out) < MOST:
                out.append(reason)
        out += [r for r in item.reasons if r not in out]
        return tuple(out)

    def _source_reason(self, request: Request, item_id: str, source: str) -> str | None:
        if source == "covisit":
            liked = self._covisited_with(recent_positives(request), item_id)
            return f"because you liked {liked}" if liked else "often taken with what you liked"
        if source == "trending":
            genre = self._trending_genre(item_id)
            return f"trending in {genre}" if genre else "trending"
        if source == "social":
            friend = self._liked_by(request.user.following, item_id)
            return f"liked by {friend}" if friend else "liked by people you follow"
        if source == "fresh":  # the newest items: "new" only when it is
            age = self.catalog.age(item_id, request.now)
            return "new" if age is not None and age <= self.new_age else None
        return SOURCE_REASONS.get(source)

    def _covisited_with(self, recent: list[str], item_id: str) -> str | None:
        best, best_count = None, 0.0
        for other in recent[-self.covisitation.window :]:
            count = self.covisitation.rows.get(other, {}).get(item_id, 0.0)
            if count > best_count:
                best, best_count = other, count
        return best

    def _trending_genre(self, item_id: str) -> str | None:
        info = self.catalog.items.get(item_id)
        if info is None:
            return None
        best, best_value = None, 0.0
        for genre in item_genres(info.attributes):
            counts = self.trending.segments.get(f"genre={genre}")
            value = counts.value(item_id) if counts is not None else 0.0
            if value > best_value:
                best, best_value = genre, value
        return best

    def _liked_by(self, followees: Iterable[str], item_id: str) -> str | None:
        for followee in reversed(list(followees)):  # the most recent follow first
            if any(like[0] == item_id for like in self.likes.by_user.get(followee, ())):
                return followee
        return None
