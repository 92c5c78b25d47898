"""Trending candidates: decayed counts overall and in the segments the user belongs to.

The counts are :class:`recsys.items.trending.Trending`. A user belongs to their country's
segment and to their genres (from the profile's ``preferred_genres``, else the genres of their
recent positives).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from recsys.candidates.base import NONE, Candidates, Generator, top
from recsys.features import tokens
from recsys.request import Request
from recsys.rows import Rows

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
            catalog = self.items.catalog
            genre_ids, _ = catalog.genre_matrix(request.recent)
            counted = Counter(f"genre={catalog.genre_names[g]}" for g in genre_ids.tolist())
            preferred = [g for g, _ in counted.most_common(GENRES)]
        return segments + preferred[:GENRES]

    def generate(self, request: Request, n: int) -> Candidates:
        trending = self.items.trending
        lists = [trending.overall.top(n, request.allowed)]
        for segment in self.user_segments(request):
            counts = trending.segments.get(segment)
            if counts is not None:
                lists.append(counts.top(n, request.allowed))
        lists = [(rows, values / values[0]) for rows, values in lists if len(rows) and values[0] > 0]
        if not lists:
            return NONE
        unique, inverse = np.unique(np.concatenate([rows for rows, _ in lists]), return_inverse=True)
        total = np.bincount(inverse, weights=np.concatenate([v for _, v in lists]), minlength=len(unique))
        return top(unique, total, n)

    def signal(self, request: Request, rows: Rows) -> np.ndarray | None:
        return self.items.trending.overall.values(rows)

    def reason(self, request: Request, row: int) -> str | None:
        genre = self.trending_genre(row)
        return f"trending in {genre}" if genre else "trending"

    def trending_genre(self, row: int) -> str | None:
        """The item's genre in which it trends most (None when it trends in none)."""
        best, best_value = None, 0.0
        for genre in self.items.catalog.genres(row):
            counts = self.items.trending.segments.get(f"genre={genre}")
            value = counts.value(row) if counts is not None else 0.0
            if value > best_value:
                best, best_value = genre, value
        return best
