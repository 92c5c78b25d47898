"""Why an item is in a list: human-readable reasons from the generators that nominated it,
followed by the reasons of the re-ranking steps that moved it.

Each generator explains its own nominations (:meth:`recsys.candidates.Generator.reason`:
"because you liked matrix", "trending in Comedy", "liked by bob", "new"...); the most telling
sources come first (each generator's ``priority``: what the user did, then whom they follow,
then the crowd). Only the final top ``k`` is explained, so the lookups cost little.

Examples
--------
>>> from recsys.engine import Engine
>>> from recsys.settings import Settings
>>> from recsys.scoring import Scored
>>> from schemas import Interaction, Item
>>> engine = Engine(Settings(ann_backend="brute"))
>>> for item in ["matrix", "up", "heat"]:
...     engine.apply_item(Item(item, attributes={"genres": ["Crime"]}))
>>> for n, (user, item) in enumerate([("a", "matrix"), ("a", "heat"), ("b", "up"), ("b", "heat"), ("u", "matrix")]):
...     _ = engine.process(Interaction(f"e{n}", user, item, "like", timestamp=float(n)))
>>> explain = engine.ranker.explainer
>>> request = engine.ranker.request(engine.user_state("u"), k=10)
>>> heat = engine.items.rows.find("heat")
>>> explain.reasons(request, heat, Scored("heat", 1.0, ("covisit", "trending"), ("new",)))
('because you liked matrix', 'trending in Crime', 'new')

The most telling source first, and "new" from the fresh generator only for an item that is:

>>> explain.reasons(request, heat, Scored("heat", 1.0, ("popular", "fresh", "mf")))
('matches your taste', 'popular')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from recsys.candidates import Generator
from recsys.request import Request
from recsys.scoring.base import Scored

MOST = 3
"""Reasons from the sources at most (the steps' reasons all follow)."""


class Explainer:
    """Reasons for a listed item, from its sources and the steps that moved it."""

    def __init__(self, generators: Mapping[str, Generator]) -> None:
        self.generators = generators

    def _priority(self, source: str) -> int:
        generator = self.generators.get(source)
        return Generator.priority if generator is None else generator.priority

    def reasons(self, request: Request, row: int, item: Scored) -> tuple[str, ...]:
        """Up to :data:`MOST` reasons from the sources of ``item`` (at ``row``), most telling first,
        then every step's."""
        return self.explain(request, np.array([row]), [item])[0]

    def explain(self, request: Request, rows: np.ndarray, items: Sequence[Scored]) -> list[tuple[str, ...]]:
        """:meth:`reasons` of every listed item (``items`` at ``rows``): each generator explains all
        the items it nominated in one call (:meth:`recsys.candidates.Generator.reasons`)."""
        by_source: dict[str, list[int]] = {}
        for position, item in enumerate(items):
            for source in item.sources:
                by_source.setdefault(source, []).append(position)
        said: dict[tuple[str, int], str | None] = {}
        for source, positions in by_source.items():
            generator = self.generators.get(source)
            if generator is not None:
                found = generator.reasons(request, rows[positions])
                said.update(((source, p), r) for p, r in zip(positions, found, strict=True))
        out: list[tuple[str, ...]] = []
        for position, item in enumerate(items):
            reasons: list[str] = []
            for source in sorted(item.sources, key=self._priority):
                reason = said.get((source, position))
                if reason and reason not in reasons and len(reasons) < MOST:
                    reasons.append(reason)
            out.append((*reasons, *(r for r in item.reasons if r not in reasons)))
        return out
