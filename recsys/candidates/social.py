"""Social candidates: items the user's followees liked recently (see :mod:`recsys.items.likes`)."""

from __future__ import annotations

import numpy as np

from recsys.candidates.base import Candidate, Generator
from recsys.request import Request


class SocialSource(Generator):
    """Items the user's followees liked recently, by summed decayed weight; its signal is that weight
    (NaN where none of them engaged)."""

    name = "social"
    priority = 1

    def _scores(self, request: Request) -> dict[str, float]:
        return self.items.likes.scores(request.user.following, self.items.clock, self.settings.social_half_life)

    def generate(self, request: Request, n: int) -> list[Candidate]:
        scores = self._scores(request)
        exclude, available = request.exclude, self.items.catalog.is_available
        best = sorted((-s, i) for i, s in scores.items() if i not in exclude and available(i))[:n]
        return [Candidate(i, -s, self.name) for s, i in best]

    def signal(self, request: Request, ids: list[str]) -> np.ndarray | None:
        if not request.user.following:
            return None
        scores = self._scores(request)
        return np.fromiter((scores.get(i, np.nan) for i in ids), dtype=float, count=len(ids))

    def reason(self, request: Request, item_id: str) -> str | None:
        friend = self.liked_by(request.user.following, item_id)
        return f"liked by {friend}" if friend else "liked by people you follow"

    def liked_by(self, followees: list[str], item_id: str) -> str | None:
        """The most recently followed followee who liked ``item_id`` lately (None if none did)."""
        by_user = self.items.likes.by_user
        for followee in reversed(list(followees)):
            if any(like[0] == item_id for like in by_user.get(followee, ())):
                return followee
        return None
