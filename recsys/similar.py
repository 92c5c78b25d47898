"""Items like a given item: co-visitation, MF and content neighbours, merged by rank fusion.

Three neighbourhoods, each ranked best first and filtered (never the item itself, never an
unavailable item):

* ``covisit``: the items most often taken together with it in users' recent histories
  (:meth:`recsys.candidates.covisitation.CoVisitation.scores`);
* ``mf``: the nearest items to its MF vector in the item index (when the model has learned
  one for it);
* ``content``: the nearest items in the content index (when it has attributes).

They are merged by weighted reciprocal-rank fusion: an item at (1-based) rank ``r`` of a
source adds ``weight / (60 + r)``; the sum is its score, each source's share is kept in
``components``. Nothing is learned or published: this is a read.

Examples
--------
>>> from recsys.engine import Engine
>>> from recsys.settings import Settings
>>> from schemas import Interaction, Item
>>> engine = Engine(Settings(ann_backend="brute"))
>>> catalogue = {"alien": ["Sci-Fi", "Horror"], "blade-runner": ["Sci-Fi"], "heat": ["Crime"], "up": ["Family"]}
>>> for name, genres in catalogue.items():
...     engine.apply_item(Item(name, attributes={"genres": genres}))
>>> for n, (user, item) in enumerate([("ann", "alien"), ("ann", "heat"), ("bob", "alien"), ("bob", "heat")]):
...     _ = engine.process(Interaction(f"e{n}", user, item, "like", timestamp=float(n)))
>>> similar = lambda item, k: similar_items(engine.items, engine.indexes, item, k)
>>> [(item.item_id, item.sources) for item in similar("alien", 2)]
[('heat', ('covisit', 'content')), ('blade-runner', ('content',))]
>>> engine.refresh_index()  # MF vectors reach the item index in batches
4
>>> best = similar("alien", 3)
>>> best[0].item_id, best[0].sources, "alien" in [item.item_id for item in best]
('heat', ('covisit', 'mf', 'content'), False)
>>> best[0].reasons
('often taken together with alien', 'similar taste profile', 'similar attributes')
>>> similar("nope", 2)
Traceback (most recent call last):
...
LookupError: unknown item 'nope': publish it on the items topic first
"""

from __future__ import annotations

from collections.abc import Mapping

from recsys.ann.base import query_excluding
from recsys.indexing import Indexes
from recsys.items.state import ItemState
from schemas import RecommendedItem

RRF_K = 60
"""The rank offset of reciprocal-rank fusion: an item at rank r adds ``weight / (RRF_K + r)``."""

SOURCE_WEIGHTS: dict[str, float] = {"covisit": 1.0, "mf": 0.8, "content": 0.6}
"""Weight of each neighbourhood in the fusion: behaviour (taken together) counts most."""

REASONS = {
    "covisit": "often taken together with {item_id}",
    "mf": "similar taste profile",
    "content": "similar attributes",
}


def similar_items(
    items: ItemState,
    indexes: Indexes,
    item_id: str,
    k: int,
    *,
    depth: int = 100,
    weights: Mapping[str, float] | None = None,
) -> list[RecommendedItem]:
    """Up to ``k`` available items like ``item_id``, best first, never ``item_id`` itself.

    ``sources`` names the neighbourhoods that found each item, ``components`` what each added
    to its fused score, ``reasons`` says why in words. Raises :class:`LookupError` when the
    catalogue has never heard of ``item_id``.
    """
    if item_id not in items.catalog.items:
        raise LookupError(f"unknown item {item_id!r}: publish it on the items topic first")
    if k <= 0:
        return []
    weights = SOURCE_WEIGHTS if weights is None else weights
    depth = max(k, depth)
    ranked = {
        "covisit": _covisited(items, item_id, depth),
        "mf": _mf_neighbours(items, indexes, item_id, depth),
        "content": _content_neighbours(items, indexes, item_id, depth),
    }
    fused: dict[str, dict[str, float]] = {}
    for source, ids in ranked.items():
        weight = weights.get(source, 0.0)
        if weight <= 0:
            continue
        for rank, other in enumerate(ids, start=1):
            fused.setdefault(other, {})[source] = weight / (RRF_K + rank)
    order = sorted(fused.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:k]
    out = []
    for other, parts in order:
        sources = tuple(s for s in REASONS if s in parts)  # a fixed order: covisit, mf, content
        out.append(
            RecommendedItem(
                other,
                round(sum(parts.values()), 6),
                sources,
                tuple(REASONS[s].format(item_id=item_id) for s in sources),
                {s: round(parts[s], 6) for s in sources},
            )
        )
    return out


def _covisited(items: ItemState, item_id: str, n: int) -> list[str]:
    """The items most co-visited with ``item_id``, best first (ties by id)."""
    available = items.catalog.is_available
    scores = items.covisitation.scores([item_id])
    pool = [(score, other) for other, score in scores.items() if other != item_id and available(other) and score > 0]
    return [other for _, other in sorted(pool, key=lambda p: (-p[0], p[1]))[:n]]


def _mf_neighbours(items: ItemState, indexes: Indexes, item_id: str, n: int) -> list[str]:
    """The nearest items to ``item_id``'s MF vector in the item index (none without a vector)."""
    if not items.model.has_item(item_id) or len(indexes.mf) == 0:
        return []
    vector = items.model.item_vectors([item_id])[0]
    return [i for i, _ in query_excluding(indexes.mf, vector, n, {item_id}, items.catalog.is_available)]


def _content_neighbours(items: ItemState, indexes: Indexes, item_id: str, n: int) -> list[str]:
    """The nearest items in content space (none when ``item_id`` has no usable attributes)."""
    query = items.content.query_vector([item_id])
    if query is None or n <= 0:
        return []
    return [i for i, _ in query_excluding(indexes.content, query, n, {item_id}, items.catalog.is_available)]
