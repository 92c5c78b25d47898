"""Creator fairness: a creator who had most of the recent exposure does not also take most of this list.

A few creators with big back catalogues and many interactions win most slots of most lists,
and so get more interactions, and more slots. This step looks at each creator's share of
recent exposure (:class:`~recsys.exposure.CreatorExposure`, which the engine feeds with the
creators of every list it serves) and applies two rules to the top ``request.k``:

- **cap** (``max_share > 0``): an item whose creator's share exceeds ``max_share`` leaves the
  top ``k`` (it moves to just after it, the moved items in their order) and the best items of
  creators under the cap from below ``k`` take the last slots. When there are not enough such items
  to fill ``k``, the best capped items stay (the lowest-ranked ones leave first);
- **reserved slots** (``reserved_slots > 0``): at least ``min(reserved_slots, k)`` of the top
  ``k`` are items of under-exposed creators (share below ``min_share``; a creator never
  exposed has share 0). The missing ones are taken best first from below ``k`` and placed in
  the last slots, each displacing the lowest-ranked item that is not by an under-exposed
  creator (the displaced items move to just after ``k``, in their order).

Promoted items carry the reason ``"less-exposed creator"``. An item with no creator is never
capped and never promoted (it can be displaced). Nothing is dropped or listed twice, and the
list stays best first by score too: a promoted item takes the score of the item above it and a
displaced one at most that score (ties keep their order under
:meth:`~recsys.rerank.base.Ranked.resorted`).
Both rules off: the list is returned unchanged.

Examples
--------
>>> from recsys.request import Request
>>> from recsys.exposure import CreatorExposure
>>> from recsys.rerank.base import Ranked
>>> from recsys.rows import RowSpace
>>> from recsys.scoring import Scored
>>> from recsys.state import UserState
>>> creator = {"a1": "ann", "a2": "ann", "b1": "bob", "a3": "ann", "c1": "cy"}
>>> exposure = CreatorExposure(window=3600.0)
>>> exposure.record(["ann"] * 8 + ["bob"] * 2, at=0.0)  # ann 0.8 of the exposure, bob 0.2, cy none
>>> items = [Scored(i, 1.0 - n / 10, ("mf",)) for n, i in enumerate(["a1", "a2", "b1", "a3", "c1"])]
>>> ranked = Ranked.of(RowSpace(), items)
>>> request = Request(UserState("u"), None, k=3, now=60.0)
>>> cap = CreatorFairness(creator.get, exposure, max_share=0.5, reserved_slots=0, min_share=0.0)
>>> cap.rerank(request, ranked).ids  # only c1 to replace ann's items: a1 stays
['a1', 'b1', 'c1', 'a2', 'a3']
>>> slots = CreatorFairness(creator.get, exposure, max_share=0.0, reserved_slots=1, min_share=0.1)
>>> reranked = slots.rerank(request, ranked)
>>> reranked.ids
['a1', 'a2', 'c1', 'b1', 'a3']
>>> reranked.scored()[2]
Scored(item_id='c1', score=0.9, sources=('mf',), reasons=('less-exposed creator',))
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice

from recsys.exposure import CreatorExposure
from recsys.request import Request
from recsys.rerank.base import Ranked, Reranker

REASON = "less-exposed creator"


class CreatorFairness(Reranker):
    """Caps over-exposed creators in the top ``k`` and reserves slots for under-exposed ones."""

    name = "fairness"

    def __init__(
        self,
        creator_of: Callable[[str], str | None],
        exposure: CreatorExposure,
        max_share: float,
        reserved_slots: int,
        min_share: float,
    ) -> None:
        if not 0.0 <= max_share <= 1.0:
            raise ValueError(f"max_share must be in [0, 1] (0 turns the cap off), got {max_share}")
        if not isinstance(reserved_slots, int) or isinstance(reserved_slots, bool) or reserved_slots < 0:
            raise ValueError(f"reserved_slots must be an integer >= 0 (0 turns the rule off), got {reserved_slots!r}")
        if not 0.0 <= min_share <= 1.0:
            raise ValueError(f"min_share must be in [0, 1], got {min_share}")
        if reserved_slots and min_share == 0.0:
            raise ValueError(
                "min_share must be > 0 when reserved_slots > 0 (no creator has a share below 0): "
                "set min_share (e.g. 0.01) or set reserved_slots=0 to turn the rule off"
            )
        if max_share and reserved_slots and min_share > max_share:
            raise ValueError(
                f"min_share ({min_share}) must not exceed max_share ({max_share}): a creator would be "
                "both under-exposed and capped"
            )
        self.creator_of = creator_of
        self.exposure = exposure
        self.max_share = max_share
        self.reserved_slots = reserved_slots
        self.min_share = min_share

    def rerank(self, request: Request, ranked: Ranked) -> Ranked:
        k = request.k
        if k <= 0 or not len(ranked) or not (self.max_share or self.reserved_slots):
            return ranked
        creators: dict[int, str | None] = {}
        shares: dict[str, float] = {}
        ids = ranked.space.ids

        def share(row: int) -> float | None:
            """The share of the item's creator; None when it has no creator."""
            if row not in creators:
                creators[row] = self.creator_of(ids[row])
            creator = creators[row]
            if creator is None:
                return None
            if creator not in shares:
                shares[creator] = self.exposure.share(creator, request.now)
            return shares[creator]

        if self.max_share:
            ranked = self._cap(ranked, k, share)
        if self.reserved_slots:
            ranked = self._reserve(ranked, k, share)
        return ranked

    def _cap(self, ranked: Ranked, k: int, share: Callable[[int], float | None]) -> Ranked:
        rows = ranked.rows.tolist()
        over = [j for j in range(min(k, len(rows))) if (value := share(rows[j])) is not None and value > self.max_share]
        if not over or len(rows) <= k:
            return ranked
        replacements: list[int] = []  # the best items of creators under the cap (an item with no creator is not one)
        for j in range(k, len(rows)):
            if len(replacements) == len(over):
                break
            if (value := share(rows[j])) is not None and value <= self.max_share:
                replacements.append(j)
        # not enough replacements: the best capped items stay, the lowest-ranked leave first
        leaving = over[len(over) - len(replacements) :]
        return _swap(ranked, k, leaving, replacements)

    def _reserve(self, ranked: Ranked, k: int, share: Callable[[int], float | None]) -> Ranked:
        rows = ranked.rows.tolist()

        def under(row: int) -> bool:
            value = share(row)
            return value is not None and value < self.min_share

        top = rows[:k]
        missing = min(self.reserved_slots, k) - sum(1 for row in top if under(row))
        if missing <= 0 or len(rows) <= k:
            return ranked
        promoted = list(islice((j for j in range(k, len(rows)) if under(rows[j])), missing))
        if not promoted:
            return ranked
        displaceable = [j for j, row in enumerate(top) if not under(row)]  # at least `missing` of them
        return _swap(ranked, k, displaceable[len(displaceable) - len(promoted) :], promoted)


def _swap(ranked: Ranked, k: int, leaving: list[int], promoted: list[int]) -> Ranked:
    """The top ``k`` without ``leaving`` then ``promoted`` (in the last slots), then ``leaving``, then
    the rest, every part in its order. Scores keep the list best first: a promoted item takes the score
    of the item above it (the best score when no item stays above it) with the reason, a displaced one at
    most that score."""
    if not promoted:
        return ranked
    gone, up = set(leaving), set(promoted)
    stay = [j for j in range(min(k, len(ranked))) if j not in gone]
    order = stay + promoted + leaving + [j for j in range(k, len(ranked)) if j not in up]
    out = ranked.take(order)
    scores = out.scores.copy()
    previous = float(scores[len(stay) - 1]) if stay else float(ranked.scores[0])  # the item above, or the best
    for p in range(len(stay), len(stay) + len(promoted)):
        scores[p] = previous
    for p in range(len(stay) + len(promoted), len(stay) + len(promoted) + len(leaving)):
        scores[p] = min(scores[p], previous)
        previous = float(scores[p])
    return out.with_scores(scores).with_reason(list(range(len(stay), len(stay) + len(promoted))), REASON)
