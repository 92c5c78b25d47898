"""The business rules' steps: boosts change relevance, pins put items at fixed positions.

Both read the :class:`~recsys.rules.RuleBook` at every request, so a rule published on the
control topic applies to the next list, and only while it is active (its wall-clock window,
its context). :class:`Boosts` adds each active boost rule's ``weight`` (negative buries) to
the relevance of the listed items it reaches and re-sorts; it never adds an item.
:class:`Pins` runs last: it places each active pin rule's items from the rule's
``position`` on, moving them within the list or adding them when absent, but only an item
the hard filters allow, so an excluded or unavailable item is never pinned into a list.

Examples
--------
>>> import numpy as np
>>> from recsys.items.catalog import Catalog
>>> from recsys.request import Request
>>> from recsys.rerank.base import Ranked
>>> from recsys.rules import RuleBook
>>> from recsys.scoring import Scored
>>> from recsys.state import UserState
>>> from schemas import Item, Rule
>>> cat = Catalog()
>>> for i, genre in [("a", "Drama"), ("b", "Drama"), ("c", "Comedy"), ("d", "War"), ("promo", "Comedy")]:
...     _ = cat.upsert(Item(i, attributes={"genres": genre}))
>>> book = RuleBook()
>>> book.apply(Rule("sale", "boost", match={"genres": "Comedy"}, weight=0.3))
>>> book.apply(Rule("war", "boost", item_ids=("d",), weight=-0.5))
>>> book.apply(Rule("promo", "pin", item_ids=("promo",), position=2, ends_at=2000.0))
>>> request = Request(UserState("u"), None, exclude=set(), k=3)
>>> ranked = Ranked.of(cat.rows, [Scored("d", 1.0, ("mf",)), Scored("a", 0.8, ("mf",)), Scored("b", 0.7, ("mf",)),
...                               Scored("c", 0.6, ("mf",))])
>>> ranked = Boosts(cat, book, lambda: 1000.0).rerank(request, ranked)
>>> [(s.item_id, round(s.score, 2), s.reasons) for s in ranked.scored()]  # doctest: +NORMALIZE_WHITESPACE
[('c', 0.9, ('boosted by rule sale',)), ('a', 0.8, ()), ('b', 0.7, ()),
 ('d', 0.5, ('buried by rule war',))]
>>> allowed = lambda request, rows: cat.available.data[rows]
>>> pins = Pins(cat, book, lambda: 1000.0, allowed)
>>> [(s.item_id, round(s.score, 2), s.reasons) for s in pins.rerank(request, ranked).scored(3)]
[('c', 0.9, ('boosted by rule sale',)), ('promo', 0.8, ('pinned by rule promo',)), ('a', 0.8, ())]
>>> no_promo = lambda request, rows: rows != cat.rows.find("promo")
>>> Pins(cat, book, lambda: 1000.0, no_promo).rerank(request, ranked).ids
['c', 'a', 'b', 'd']
>>> Pins(cat, book, lambda: 2000.0, allowed).rerank(request, ranked).ids  # ended
['c', 'a', 'b', 'd']
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from recsys.items.catalog import Catalog
from recsys.request import Request
from recsys.rerank.base import Ranked, Reranker
from recsys.rows import Rows
from recsys.rules import RuleBook, matches

Clock = Callable[[], float]
Allowed = Callable[[Request, Rows], np.ndarray]

PIN_SOURCE = "rule"
"""The source of an item a pin added to the list (it was not among the candidates)."""


class Boosts(Reranker):
    """Adds every active boost rule's ``weight`` to the relevance of the listed items it reaches
    (its ``item_ids``, or items whose catalogue attributes match), then re-sorts.

    Relevance is not clipped: a boost of 0.3 lifts an item above every item less than 0.3
    more relevant, even at the top of the list.
    """

    name = "boosts"

    def __init__(self, catalog: Catalog, rules: RuleBook, clock: Clock) -> None:
        self.catalog = catalog
        self.rules = rules
        self.clock = clock

    def rerank(self, request: Request, ranked: Ranked) -> Ranked:
        boosts = [r for r in self.rules.active(self.clock(), request.context) if r.action == "boost" and r.weight]
        if not boosts or not len(ranked):
            return ranked
        ids, records = ranked.ids, self.catalog.info.data[ranked.rows]
        scores = ranked.scores.copy()
        hits: list[tuple[np.ndarray, str]] = []
        for rule in boosts:
            attributes = ({} if info is None else info.attributes for info in records)
            reach = np.fromiter((matches(rule, i, a) for i, a in zip(ids, attributes, strict=True)), bool, len(ids))
            if reach.any():
                scores[reach] += rule.weight
                verb = "boosted" if rule.weight > 0 else "buried"
                hits.append((np.flatnonzero(reach), f"{verb} by rule {rule.rule_id}"))
        if not hits:
            return ranked
        out = ranked.with_scores(scores)
        for positions, reason in hits:
            out = out.with_reason(positions, reason)
        return out.resorted()


class Pins(Reranker):
    """Puts every active pin rule's ``item_ids`` at the rule's ``position`` (1 = first) and
    the positions after it, in order.

    Rules go by ``position``, then ``rule_id``; the first to claim an item or a slot keeps
    it (a later rule's item takes the next free slot, an item pinned twice stays where the
    first rule put it). A listed item is moved and keeps its score; an absent one is added
    only when ``allowed(request, rows)`` (the hard filters: never an excluded or unavailable
    item), with the score of the item it lands before (0 at the end); one not allowed is
    skipped and the next item takes its slot. A slot past the end of the list appends. Every
    placed item carries ``"pinned by rule <rule_id>"``; nothing is dropped.
    """

    name = "pins"

    def __init__(self, catalog: Catalog, rules: RuleBook, clock: Clock, allowed: Allowed) -> None:
        self.catalog = catalog
        self.rules = rules
        self.clock = clock
        self.allowed = allowed

    def rerank(self, request: Request, ranked: Ranked) -> Ranked:
        pins = [r for r in self.rules.active(self.clock(), request.context) if r.action == "pin" and r.item_ids]
        if not pins:
            return ranked
        space = self.catalog.rows
        listed = {row: p for p, row in enumerate(ranked.rows.tolist())}
        slots: dict[int, tuple[int, str]] = {}  # 0-based slot -> (item row, the rule's reason)
        placed: set[int] = set()
        for rule in sorted(pins, key=lambda r: (r.position, r.rule_id)):
            slot = max(rule.position, 1) - 1
            for item_id in rule.item_ids:
                row = space.find(item_id)
                if row < 0 or row in placed:
                    continue
                if row not in listed and not self.allowed(request, np.array([row]))[0]:
                    continue
                while slot in slots:
                    slot += 1
                slots[slot] = (row, f"pinned by rule {rule.rule_id}")
                placed.add(row)
        if not slots:
            return ranked
        rest = [p for p, row in enumerate(ranked.rows.tolist()) if row not in placed]
        order = sorted(slots)
        rows: list[int] = []
        p = r = 0
        while p < len(order) or r < len(rest):
            if p < len(order) and (r == len(rest) or order[p] <= len(rows)):  # past the end: appended
                rows.append(slots[order[p]][0])
                p += 1
            else:
                rows.append(int(ranked.rows[rest[r]]))
                r += 1
        return self._placed(ranked, rows, listed, {row: reason for row, reason in slots.values()})

    def _placed(
        self, ranked: Ranked, rows: list[int], listed: dict[int, int], reasons: dict[int, str]
    ) -> Ranked:
        """The list in the order of ``rows``: listed items keep their score and sources; an added
        item takes the score of the item it lands before (0 at the end) and the source ``rule``."""
        names = ranked.names if PIN_SOURCE in ranked.names else (*ranked.names, PIN_SOURCE)
        rule_bit = 1 << names.index(PIN_SOURCE)
        scores = np.empty(len(rows))
        sources = np.empty(len(rows), dtype=np.int64)
        after = 0.0
        for i in range(len(rows) - 1, -1, -1):
            p = listed.get(rows[i])
            scores[i] = after if p is None else ranked.scores[p]
            sources[i] = rule_bit if p is None else ranked.sources[p]
            after = scores[i]
        out = Ranked(ranked.space, np.array(rows, dtype=np.int64), scores, sources, names, ranked.reasons)
        for row, reason in reasons.items():
            out = out.with_reason(np.array([rows.index(row)]), reason)
        return out
