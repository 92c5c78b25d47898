"""Items like a given item: co-visitation, MF and content neighbours, merged by rank fusion.

Three neighbourhoods, each ranked best first and filtered (never the item itself, never an
unavailable item):

* ``covisit``: the items most often taken together with it in users' recent histories
  (:meth:`recsys.items.covisitation.CoVisitation.scores`);
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

import numpy as np

from recsys.candidates.base import top
from recsys.indexing import Indexes
from recsys.items.state import ItemState
from recsys.rows import Mask, Rows
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
    to its fused score, ``reasons`` says why in words. Each neighbourhood is searched ``max(k, depth)``
    deep. Raises :class:`LookupError` when the catalogue has never heard of ``item_id``.
    """
    if item_id not in items.catalog.items:
        raise LookupError(f"unknown item {item_id!r}: publish it on the items topic first")
    if k <= 0:
        return []
    weights = SOURCE_WEIGHTS if weights is None else weights
    depth = max(k, depth)
    row = items.rows.find(item_id)
    catalog = items.catalog

    def allowed(rows: Rows) -> np.ndarray:
        return catalog.available.data[rows] & (rows != row)

    ranked = {
        "covisit": _covisited(items, row, depth, allowed),
        "mf": _mf_neighbours(items, indexes, row, depth, allowed),
        "content": _content_neighbours(items, indexes, row, depth, allowed),
    }
    fused: dict[int, dict[str, float]] = {}
    for source, rows in ranked.items():
        weight = weights.get(source, 0.0)
        if weight <= 0:
            continue
        for rank, other in enumerate(rows.tolist(), start=1):
            fused.setdefault(other, {})[source] = weight / (RRF_K + rank)
    order = sorted(fused.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:k]
    out = []
    for other, parts in order:
        sources = tuple(s for s in REASONS if s in parts)  # a fixed order: covisit, mf, content
        out.append(
            RecommendedItem(
                items.rows.ids[other],
                round(sum(parts.values()), 6),
                sources,
                tuple(REASONS[s].format(item_id=item_id) for s in sources),
                {s: round(parts[s], 6) for s in sources},
            )
        )
    return out


def _covisited(items: ItemState, row: int, n: int, allowed: Mask) -> Rows:
    """The items most co-visited with the item, best first (ties: the earlier row)."""
    rows, scores = items.covisitation.scores([row])
    keep = allowed(rows) & (scores > 0)
    return top(rows, scores, n, keep)[0]


def _mf_neighbours(items: ItemState, indexes: Indexes, row: int, n: int, allowed: Mask) -> Rows:
    """The nearest items to the item's MF vector in the item index (none without a vector)."""
    if not items.model.has(np.array([row]))[0] or len(indexes.mf) == 0:
        return np.empty(0, dtype=np.int64)
    return indexes.search("mf", items.model.vectors(np.array([row]))[0], n, allowed)[0]


def _content_neighbours(items: ItemState, indexes: Indexes, row: int, n: int, allowed: Mask) -> Rows:
    """The nearest items in content space (none when the item has no usable attributes)."""
    query = items.content.query_vector(np.array([row]))
    if query is None or n <= 0:
        return np.empty(0, dtype=np.int64)
    return indexes.search("content", query, n, allowed)[0]
