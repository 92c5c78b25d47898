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

from collections.abc import Mapping

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
        out: list[str] = []
        for source in sorted(item.sources, key=self._priority):
            generator = self.generators.get(source)
            reason = None if generator is None else generator.reason(request, row)
            if reason and reason not in out and len(out) < MOST:
                out.append(reason)
        out += [r for r in item.reasons if r not in out]
        return tuple(out)
