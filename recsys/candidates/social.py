"""Social candidates: items the user's followees liked recently (see :mod:`recsys.items.likes`)."""

from __future__ import annotations

import numpy as np

from recsys.candidates.base import NONE, Candidates, Generator, top
from recsys.request import Request
from recsys.rows import Rows, lookup


class SocialSource(Generator):
    """Items the user's followees liked recently, by summed decayed weight; its signal is that weight
    (NaN where none of them engaged)."""

    name = "social"
    priority = 1

    def _scores(self, request: Request) -> Candidates:
        """The followees' decayed likes (rows ascending), once per request."""
        found = request.memo.get("social")
        if found is None:
            scores = self.items.likes.scores(request.user.following, self.items.clock, self.settings.social_half_life)
            rows = np.fromiter(scores, dtype=np.int64, count=len(scores))
            values = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
            order = np.argsort(rows)
            found = request.memo["social"] = (rows[order], values[order])
        return found

    def generate(self, request: Request, n: int) -> Candidates:
        rows, scores = self._scores(request)
        return top(rows, scores, n, request.mask(rows)) if len(rows) else NONE

    def signal(self, request: Request, rows: Rows) -> np.ndarray | None:
        if not request.user.following:
            return None
        return lookup(rows, *self._scores(request))

    def reason(self, request: Request, row: int) -> str | None:
        friend = self.liked_by(request.user.following, row)
        return f"liked by {friend}" if friend else "liked by people you follow"

    def liked_by(self, followees: list[str], row: int) -> str | None:
        """The most recently followed followee who liked the item lately (None if none did)."""
        by_user = self.items.likes.by_user
        for followee in reversed(list(followees)):
            if any(like[0] == row for like in by_user.get(followee, ())):
                return followee
        return None
