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
>>> from recsys.items.catalog import Catalog
>>> from recsys.request import Request
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
>>> ranked = [Scored("d", 1.0, ("mf",)), Scored("a", 0.8, ("mf",)), Scored("b", 0.7, ("mf",)),
...           Scored("c", 0.6, ("mf",))]
>>> ranked = Boosts(cat, book, lambda: 1000.0).rerank(request, ranked)
>>> [(s.item_id, round(s.score, 2), s.reasons) for s in ranked]  # doctest: +NORMALIZE_WHITESPACE
[('c', 0.9, ('boosted by rule sale',)), ('a', 0.8, ()), ('b', 0.7, ()),
 ('d', 0.5, ('buried by rule war',))]
>>> pins = Pins(book, lambda: 1000.0, lambda r, i: i not in r.exclude and cat.is_available(i))
>>> [(s.item_id, round(s.score, 2), s.reasons) for s in pins.rerank(request, ranked)[:3]]
[('c', 0.9, ('boosted by rule sale',)), ('promo', 0.8, ('pinned by rule promo',)), ('a', 0.8, ())]
>>> [s.item_id for s in pins.rerank(Request(UserState("u"), None, exclude={"promo"}), ranked)]
['c', 'a', 'b', 'd']
>>> [s.item_id for s in Pins(book, lambda: 2000.0, lambda r, i: True).rerank(request, ranked)]  # ended
['c', 'a', 'b', 'd']
"""

from __future__ import annotations

from collections.abc import Callable

from recsys.items.catalog import Catalog
from recsys.request import Request
from recsys.rerank.base import Reranker, resort
from recsys.rules import RuleBook, matches
from recsys.scoring.base import Scored

Clock = Callable[[], float]
Allowed = Callable[[Request, str], bool]

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

    def rerank(self, request: Request, ranked: list[Scored]) -> list[Scored]:
        boosts = [r for r in self.rules.active(self.clock(), request.context) if r.action == "boost" and r.weight]
        if not boosts or not ranked:
            return ranked
        out: list[Scored] = []
        changed = False
        for s in ranked:
            info = self.catalog.items.get(s.item_id)
            attributes = info.attributes if info is not None else {}
            for rule in boosts:
                if matches(rule, s.item_id, attributes):
                    verb = "boosted" if rule.weight > 0 else "buried"
                    s = s.moved(s.score + rule.weight, f"{verb} by rule {rule.rule_id}")
                    changed = True
            out.append(s)
        return resort(out) if changed else ranked


class Pins(Reranker):
    """Puts every active pin rule's ``item_ids`` at the rule's ``position`` (1 = first) and
    the positions after it, in order.

    Rules go by ``position``, then ``rule_id``; the first to claim an item or a slot keeps
    it (a later rule's item takes the next free slot, an item pinned twice stays where the
    first rule put it). A listed item is moved and keeps its score; an absent one is added
    only when ``allowed(request, item_id)`` (the hard filters: never an excluded or
    unavailable item), with the score of the item it lands before (0 at the end); one not
    allowed is skipped and the next item takes its slot. A slot past the end of the list
    appends. Every placed item carries ``"pinned by rule <rule_id>"``; nothing is dropped.
    """

    name = "pins"

    def __init__(self, rules: RuleBook, clock: Clock, allowed: Allowed) -> None:
        self.rules = rules
        self.clock = clock
        self.allowed = allowed

    def rerank(self, request: Request, ranked: list[Scored]) -> list[Scored]:
        pins = [r for r in self.rules.active(self.clock(), request.context) if r.action == "pin" and r.item_ids]
        if not pins:
            return ranked
        listed = {s.item_id: s for s in ranked}
        slots: dict[int, Scored] = {}  # 0-based slot -> the item pinned there
        placed: set[str] = set()
        for rule in sorted(pins, key=lambda r: (r.position, r.rule_id)):
            slot = max(rule.position, 1) - 1
            for item_id in rule.item_ids:
                if item_id in placed:
                    continue
                item = listed.get(item_id)
                if item is None:
                    if not self.allowed(request, item_id):
                        continue
                    item = Scored(item_id, float("nan"), (PIN_SOURCE,))
                while slot in slots:
                    slot += 1
                slots[slot] = item.moved(reason=f"pinned by rule {rule.rule_id}")
                placed.add(item_id)
        if not slots:
            return ranked
        rest = [s for s in ranked if s.item_id not in placed]
        order = sorted(slots)
        out: list[Scored] = []
        p = r = 0
        while p < len(order) or r < len(rest):
            if p < len(order) and (r == len(rest) or order[p] <= len(out)):  # past the end: appended
                out.append(slots[order[p]])
                p += 1
            else:
                out.append(rest[r])
                r += 1
        # An added item takes the score of the item it lands before (0 at the end).
        after = 0.0
        for i in range(len(out) - 1, -1, -1):
            if out[i].item_id not in listed:
                out[i] = out[i].moved(after)
            after = out[i].score
        return out
