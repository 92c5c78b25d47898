"""Trending candidates: decayed counts overall and in the segments the user belongs to.

The counts are :class:`recsys.items.trending.Trending`. A user belongs to their country's
segment and to their genres (from the profile's ``preferred_genres``, else the genres of their
recent positives).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from recsys.candidates.base import Candidate, Generator
from recsys.features import item_genres, item_tokens, tokens
from recsys.request import Request

GENRES = 2
"""The user's leading genres whose segments count."""


class TrendingSource(Generator):
    """Trending items overall and in the user's own segments, each normalised to its leader; its
    signal is the overall decayed count."""

    name = "trending"
    priority = 2

    def user_segments(self, request: Request) -> list[str]:
        """The user's country and their leading genres."""
        attributes = request.user.attributes
        segments = tokens("country", attributes.get("country"))
        preferred = tokens("genre", attributes.get("preferred_genres"))
        if not preferred:
            records = self.items.catalog.items
            counted: Counter[str] = Counter()
            for item_id in request.user.recent_positives():
                info = records.get(item_id)
                if info is not None:
                    counted.update(t for t in item_tokens(info.attributes) if t.startswith("genre="))
            preferred = [g for g, _ in counted.most_common(GENRES)]
        return segments + preferred[:GENRES]

    def generate(self, request: Request, n: int) -> list[Candidate]:
        trending = self.items.trending
        lists = [trending.overall.top(n, request.exclude)]
        for segment in self.user_segments(request):
            counts = trending.segments.get(segment)
            if counts is not None:
                lists.append(counts.top(n, request.exclude))
        total: dict[str, float] = {}
        for ranked in lists:
            if ranked and ranked[0][1] > 0:
                leader = ranked[0][1]
                for item_id, value in ranked:
                    total[item_id] = total.get(item_id, 0.0) + value / leader
        available = self.items.catalog.is_available
        best = sorted(((-s, i) for i, s in total.items() if available(i)))[:n]
        return [Candidate(i, -s, self.name) for s, i in best]

    def signal(self, request: Request, ids: list[str]) -> np.ndarray | None:
        value = self.items.trending.overall.value
        return np.fromiter((value(i) for i in ids), dtype=float, count=len(ids))

    def reason(self, request: Request, item_id: str) -> str | None:
        genre = self.trending_genre(item_id)
        return f"trending in {genre}" if genre else "trending"

    def trending_genre(self, item_id: str) -> str | None:
        """The item's genre in which it trends most (None when it trends in none)."""
        info = self.items.catalog.items.get(item_id)
        if info is None:
            return None
        best, best_value = None, 0.0
        for genre in item_genres(info.attributes):
            counts = self.items.trending.segments.get(f"genre={genre}")
            value = counts.value(item_id) if counts is not None else 0.0
            if value > best_value:
                best, best_value = genre, value
        return best
