"""Every user's recent likes, for the social generator: items a user's followees liked recently.

Who a user follows is part of the user's own state (:attr:`~recsys.state.UserState.following`,
fed by the ``follows`` topic, keyed by the follower like ``interactions``). What each user
liked recently is engine-level state, :class:`RecentLikes`: per user, a bounded list of their
latest positive events ``(item row, timestamp, weight)``, fed by the engine on every positive
interaction and kept in the model snapshot.

An item's social score for a user is the sum over the user's followees of the weight of their
positive event on it, halved every ``half_life`` seconds of event time before "now", the
engine's event clock (as :mod:`~recsys.candidates.fresh` uses it). A followee who engaged
with an item several times counts once, with the strongest weight and the latest time.

With several workers, each worker applies its own users' interactions and shares their likes
(:meth:`Engine.take_shared <recsys.engine.Engine.take_shared>`, the ``recsys-likes`` topic),
and every worker reads every like back (:meth:`Engine.apply_event
<recsys.engine.Engine.apply_event>`): a user's followees may live on any worker. So every worker
holds every user's recent likes, at most ``per_user`` each (``RECSYS_SOCIAL_LIKES``).

Items are rows of the item row space.

Examples
--------
>>> matrix, alien = 0, 1
>>> likes = RecentLikes(per_user=3)
>>> likes.add("bob", matrix, at=0.0, weight=2.0)
>>> likes.add("carol", matrix, at=10.0, weight=1.0)
>>> likes.add("carol", alien, at=10.0, weight=1.0)
>>> sorted(likes.scores(["bob", "carol"], now=10.0, half_life=10.0).items())  # bob's like halved once
[(0, 2.0), (1, 1.0)]
>>> likes.scores(["nobody"], now=10.0, half_life=10.0)
{}
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

Like = tuple[int, float, float]
"""One recent positive event of a user: ``(item row, timestamp, weight)``."""


class RecentLikes:
    """Each user's latest ``per_user`` positive events, one entry per item, oldest first."""

    def __init__(self, per_user: int = 50) -> None:
        if per_user < 1:
            raise ValueError(f"per_user must be at least 1, got {per_user}")
        self.per_user = per_user
        self.by_user: dict[str, deque[Like]] = {}

    def __len__(self) -> int:
        return len(self.by_user)

    def add(self, user_id: str, item: int, at: float, weight: float) -> None:
        """``user_id`` engaged positively with the item of row ``item`` (``weight`` > 0) at event time ``at``."""
        likes = self.by_user.get(user_id)
        if likes is None:
            likes = self.by_user[user_id] = deque(maxlen=self.per_user)
        for entry in likes:
            if entry[0] == item:  # seen before: keep one entry, moved to the newest end
                likes.remove(entry)
                weight = max(weight, entry[2])
                break
        likes.append((item, at, weight))

    def forget(self, user_id: str) -> None:
        """Drop the user's likes (an erased user)."""
        self.by_user.pop(user_id, None)

    def of(self, user_id: str) -> list[Like]:
        """``user_id``'s recent positives, oldest first (empty when unknown)."""
        return list(self.by_user.get(user_id, ()))

    def scores(self, followees: Iterable[str], now: float, half_life: float) -> dict[int, float]:
        """Per item row: the summed weight of the followees' positives on it, decayed to ``now``."""
        total: dict[int, float] = {}
        for followee in followees:
            for item, at, weight in self.by_user.get(followee, ()):
                total[item] = total.get(item, 0.0) + weight * 2.0 ** (min(at - now, 0.0) / half_life)
        return total
