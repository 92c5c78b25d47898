"""Caps on the top of the list: at most so many items of one genre, or of one creator.

Walking the list best first, this step fills the top ``request.k``; an item that would put
one of its genres over ``max_per_genre`` items, or its creator over ``max_per_creator``, in
the top ``k`` is deferred: the deferred items follow the ``k`` filled, in their order, then
the rest of the list. Nothing is dropped. When the list cannot fill ``k`` under the caps, the
caps relax rather than shorten the top: the best deferred items fill the remaining slots (at
the end of the top ``k``). An item that entered the top ``k`` because others were deferred
carries the reason ``"for variety"``. A cap of 0 means no cap on that attribute; both 0
leave the list unchanged.

Examples
--------
>>> from recsys.request import Request
>>> from recsys.rerank.base import Ranked
>>> from recsys.rows import RowSpace
>>> from recsys.scoring import Scored
>>> from recsys.state import UserState
>>> genres = {"d1": ("Drama",), "d2": ("Drama",), "d3": ("Drama", "War"), "c": ("Comedy",), "w": ("War",)}
>>> caps = AttributeCaps(lambda i: genres[i], lambda i: None, max_per_genre=1, max_per_creator=0)
>>> items = [Scored(i, 1.0 - n / 10, ("mf",)) for n, i in enumerate(["d1", "d2", "d3", "c", "w"])]
>>> ranked = Ranked.of(RowSpace(), items)
>>> out = caps.rerank(Request(UserState("u"), None, k=3), ranked)
>>> [(s.item_id, s.reasons) for s in out.scored()]
[('d1', ()), ('c', ('for variety',)), ('w', ('for variety',)), ('d2', ()), ('d3', ())]
>>> caps.max_per_genre = 0  # no cap: unchanged
>>> caps.rerank(Request(UserState("u"), None, k=3), ranked).ids
['d1', 'd2', 'd3', 'c', 'w']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from recsys.request import Request
from recsys.rerank.base import Ranked, Reranker

REASON = "for variety"


class AttributeCaps(Reranker):
    """At most ``max_per_genre`` items of any genre and ``max_per_creator`` of any creator in
    the top ``request.k`` (0: no cap), when the list allows it."""

    name = "caps"

    def __init__(
        self,
        genres_of: Callable[[str], tuple[str, ...]],
        creator_of: Callable[[str], str | None],
        max_per_genre: int,
        max_per_creator: int,
    ) -> None:
        for label, cap in (("max_per_genre", max_per_genre), ("max_per_creator", max_per_creator)):
            if cap < 0:
                raise ValueError(f"{label} must be 0 (no cap) or a positive number of items, got {cap}")
        self.genres_of = genres_of
        self.creator_of = creator_of
        self.max_per_genre = max_per_genre
        self.max_per_creator = max_per_creator

    def rerank(self, request: Request, ranked: Ranked) -> Ranked:
        k = request.k
        if not (self.max_per_genre or self.max_per_creator) or k < 1 or len(ranked) < 2:
            return ranked
        genre_count: Counter[str] = Counter()
        creator_count: Counter[str] = Counter()
        top: list[int] = []  # positions in ranked
        deferred: list[int] = []
        ids = ranked.space.ids
        walked = 0
        for walked, row in enumerate(ranked.rows.tolist(), start=1):
            item_id = ids[row]
            genres = set(self.genres_of(item_id)) if self.max_per_genre else set()
            creator = self.creator_of(item_id) if self.max_per_creator else None
            if any(genre_count[g] >= self.max_per_genre for g in genres) or (
                creator is not None and creator_count[creator] >= self.max_per_creator
            ):
                deferred.append(walked - 1)
            else:
                top.append(walked - 1)
                genre_count.update(genres)
                if creator is not None:
                    creator_count[creator] += 1
            if len(top) == k:
                break
        if not deferred:
            return ranked
        relaxed = deferred[: k - len(top)]  # the list ran out under the caps: the best deferred fill it
        deferred = deferred[len(relaxed) :]
        order = top + relaxed + deferred + list(range(walked, len(ranked)))
        promoted = [position for position, i in enumerate(top) if i >= k]
        return ranked.take(order).with_reason(promoted, REASON)
