"""Hard filters: items the user interacted with or disliked, unavailable items, and a
per-request exclude list are removed, never merely pushed down.

Examples
--------
>>> from recsys.catalog import Catalog
>>> from recsys.state import UserState
>>> from recsys.candidates import Request
>>> from recsys.scoring import Scored
>>> cat = Catalog(); _ = [cat.observe(i) for i in "abc"]
>>> ranked = [Scored(i, 1.0, ("mf",)) for i in "abcd"]
>>> [s.item_id for s in Exclusions(cat).rerank(Request(UserState("u"), None, {"a"}), ranked)]
['b', 'c']
"""

from __future__ import annotations

from recsys.candidates.base import Request
from recsys.catalog import Catalog
from recsys.rerank.base import Reranker
from recsys.scoring.base import Scored


class Exclusions(Reranker):
    """Drops every excluded or unavailable item and any duplicate."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def rerank(self, request: Request, ranked: list[Scored]) -> list[Scored]:
        kept: list[Scored] = []
        taken: set[str] = set()
        for s in ranked:
            if s.item_id in request.exclude or s.item_id in taken or not self.catalog.is_available(s.item_id):
                continue
            taken.add(s.item_id)
            kept.append(s)
        return kept
