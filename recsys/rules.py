"""The business rules in force: pins and boosts, changed at run time from the control topic.

A :class:`~schemas.Rule` record on the ``rules`` topic adds or replaces the rule of its
``rule_id``; ``enabled: false`` or a tombstone deletes it. :meth:`RuleBook.active` gives the
rules that apply to one request: inside their time window (wall clock, ``starts_at <= now <
ends_at``, either end open) and whose ``context`` the request's context satisfies. The
re-ranking steps of :mod:`recsys.rerank.rules` apply them; :func:`matches` says which items a
boost reaches.

Values are compared as text, so a rule written by hand in JSON (``"1999"``) matches the
number an item carries (``1999``), and a rule value may be a list of the values allowed.

Examples
--------
>>> from schemas import Rule
>>> book = RuleBook()
>>> book.apply(Rule("sale", "boost", match={"genres": ["Comedy", "Drama"]}, weight=0.3, ends_at=100.0))
>>> book.apply(Rule("home", "pin", item_ids=("a",), context={"page": "home"}))
>>> [r.rule_id for r in book.active(now=50.0, context={"page": "home"})]
['home', 'sale']
>>> [r.rule_id for r in book.active(now=100.0, context={"page": "search"})]  # sale ended
[]
>>> matches(book.get("sale"), "x", {"genres": ["Drama", "War"]}), matches(book.get("sale"), "y", {"genres": "War"})
(True, False)
>>> book.apply(Rule("sale", "boost", match={"genres": "Comedy"}, enabled=False)); len(book), book.version
(1, 3)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from schemas import Rule


def _text(value: Any) -> str:
    """One value as the text it is compared by: ``1999``, ``1999.0`` and ``"1999"`` agree, as do
    ``True`` and ``"true"``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _values(value: Any) -> set[str]:
    """The values a rule allows or an item or request carries: one, or each of a list; none for
    a missing (``None``) value."""
    if value is None:
        return set()
    if isinstance(value, list | tuple | set | frozenset):
        return {_text(v) for v in value if v is not None}
    return {_text(value)}


def _satisfies(wanted: Mapping[str, Any], have: Mapping[str, Any]) -> bool:
    """Whether every key of ``wanted`` has, in ``have``, a value among the ones it allows."""
    return all(not _values(want).isdisjoint(_values(have.get(key))) for key, want in wanted.items())


def matches(rule: Rule, item_id: str, attributes: Mapping[str, Any]) -> bool:
    """Whether ``rule`` reaches the item: it is one of the rule's ``item_ids``, or every key of
    the rule's ``match`` has a value among the item's (a scalar or a list, either side).

    >>> rule = Rule("r", "boost", item_ids=("pinned",), match={"year": [1999, 2000], "genres": "Comedy"})
    >>> matches(rule, "x", {"year": "1999", "genres": ["Comedy", "Drama"]})
    True
    >>> matches(rule, "x", {"year": 2001, "genres": "Comedy"}), matches(rule, "x", {"genres": "Comedy"})
    (False, False)
    >>> matches(rule, "pinned", {})
    True
    """
    if item_id in rule.item_ids:
        return True
    return bool(rule.match) and _satisfies(rule.match, attributes)


def in_window(rule: Rule, now: float) -> bool:
    """Whether wall-clock ``now`` is inside the rule's window: ``starts_at <= now < ends_at``."""
    return (rule.starts_at is None or rule.starts_at <= now) and (rule.ends_at is None or now < rule.ends_at)


class RuleBook:
    """The rules in force, by ``rule_id``; ``version`` grows with every change (a cache of what
    the rules produce is stale when it differs). Plain data: it pickles with the engine."""

    def __init__(self, rules: list[Rule] | None = None) -> None:
        self._rules: dict[str, Rule] = {}
        self.version = 0
        for rule in rules or ():
            self.apply(rule)

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def __iter__(self) -> Iterator[Rule]:
        """Every rule kept, in or out of its window, by ``rule_id``."""
        return iter(sorted(self._rules.values(), key=lambda r: r.rule_id))

    def get(self, rule_id: str) -> Rule | None:
        return self._rules.get(rule_id)

    def apply(self, rule: Rule) -> None:
        """A record from the control topic: adds the rule or replaces the one of its ``rule_id``;
        ``enabled=False`` deletes it."""
        if not isinstance(rule, Rule):
            raise TypeError(f"RuleBook.apply takes a schemas.Rule (parse records with Rule.from_dict), got {rule!r}")
        if not rule.enabled:
            self.remove(rule.rule_id)
        elif self._rules.get(rule.rule_id) != rule:
            self._rules[rule.rule_id] = rule
            self.version += 1

    def remove(self, rule_id: str) -> None:
        """A tombstone: the rule of ``rule_id`` no longer applies (nothing happens if unknown)."""
        if self._rules.pop(rule_id, None) is not None:
            self.version += 1

    def active(self, now: float, context: Mapping[str, Any]) -> list[Rule]:
        """The rules that apply at wall-clock ``now`` to a request of ``context``, by ``rule_id``:
        inside their window, and every key of the rule's ``context`` has in the request's
        context a value the rule allows (one value, or one of a list)."""
        return [r for r in self if in_window(r, now) and _satisfies(r.context, context)]
