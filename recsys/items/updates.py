"""What one interaction taught the item side, as one worker ships it to the others.

Each worker applies its own users' interactions; what they teach about *items* must reach
every worker, or each worker's model learns from a share of the users only (measured with
``recsys evaluate --workers N``, BENCHMARKS.md). An :class:`ItemUpdate` carries it, by item
id (rows are local to each worker):

* the interaction's item, type, signed weight and event time, whether the user had engaged
  with the item before (click-bait feedback), the user's recent positives before it
  (co-visitation) and the user's trending segments: the receiver runs the same counting steps
  (feedback, co-visitation, popularity, trends) as the sender did;
* the MF step's change to each item vector it moved (the item and its sampled negatives), as
  additive deltas: the sender computed the step with the user's vector, which only it holds.
  Deltas from several workers add up, as asynchronous SGD's do.

* the two-tower step's changes to the rows of both towers' tables (and their Adagrad
  accumulators), and the learned scorer's weight changes: dense models, shared the same way
  (their deltas add up), so every worker's towers and scorer learn from every user.

What it does not carry: WALS re-fits, and MF item vectors' initial values (each worker draws
an item's initial vector itself; the towers' rows start from values fixed by their row).

The record is :class:`schemas.ItemUpdate` (``origin`` and ``seq`` let a worker skip its own
updates it applied already: :meth:`recsys.apply.Applier.apply_update`).

Examples
--------
>>> from recsys.indexing import Indexes
>>> from recsys.items.state import ItemState
>>> from recsys.settings import Settings
>>> from schemas import Item
>>> s = Settings(factors=2)
>>> items = ItemState(s); indexes = Indexes(items, s)
>>> for name in ("a", "b"):
...     items.catalog.upsert(Item(name)) and None
>>> update = ItemUpdate("w2", 1, "e1", "a", "like", 1.0, 10.0, recent=("b",), mf_items=("a",),
...                     mf_deltas=pack(np.array([[0.5, 0.0, 0.25]])))
>>> before = items.model.vectors(items.rows.rows(["a"]))[0]
>>> apply_update(items, indexes, update)
>>> (items.model.vectors(items.rows.rows(["a"]))[0] - before).round(3).tolist()
[0.5, 0.0, 0.25]
>>> items.covisitation.counts(items.rows.rows(["b"]), items.rows.rows(["a"])).tolist(), items.clock
([[1.0]], 10.0)
>>> ab = items.rows.rows(["a", "b"])  # the user took b, then a: a transition from b to a only
>>> items.transitions.counts(ab, ab).tolist()
[[0.0, 0.0], [1.0, 0.0]]
>>> items.adjacent.counts(ab, ab).tolist()  # both ways
[[0.0, 1.0], [1.0, 0.0]]
"""

from __future__ import annotations

import base64

import numpy as np

from recsys.indexing import Indexes
from recsys.items.state import ItemState
from schemas import ItemUpdate


def pack(array: np.ndarray, dtype: str = "<f4") -> str:
    """``array`` as base64 of little-endian ``dtype`` numbers, row-major (the record's array fields).

    >>> unpack(pack(np.array([[1.5, -2.0]])), rows=1).tolist()
    [[1.5, -2.0]]
    """
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode()


def unpack(text: str, rows: int, dtype: str = "<f4") -> np.ndarray:
    """:func:`pack` undone: ``rows`` rows of float32 (int64 for an integer ``dtype``; ``rows=0``: one row)."""
    flat = np.frombuffer(base64.b64decode(text), dtype=dtype)
    native = np.int64 if np.dtype(dtype).kind == "i" else np.float32
    return flat.astype(native).reshape(rows, -1) if rows else flat.astype(native)


def apply_update(items: ItemState, indexes: Indexes, update: ItemUpdate) -> None:
    """Apply another worker's :class:`ItemUpdate` to ``items`` (and mark the moved vectors for the indexes)."""
    rows = items.rows
    available = items.catalog.observe(update.item_id)
    row = rows.row(update.item_id)
    items.feedback.observe(row, update.type, update.engaged_before, update.timestamp)
    items.tick(update.timestamp)
    if update.weight > 0:
        recent = rows.known(list(update.recent))
        items.learn_order(recent, row, update.timestamp)
        items.catalog.add_popularity(row, update.weight)
        items.trending.observe(row, update.weight, update.timestamp, update.segments)
    if update.tower_rows:
        table_rows = unpack(update.tower_rows, 0, "<i4")
        items.towers.add_journal(table_rows, update.tower_split, unpack(update.tower_deltas, len(table_rows)))
        items.tower_items.dirty.update(rows.rows(list(update.mf_items)).tolist())  # re-embed what the step moved
    scorer = items.learned_model(update.scorer_model) if update.scorer_pairs else None
    if scorer is not None:
        scorer.add(update.scorer_deltas, update.scorer_pairs)
    if update.mf_items:
        moved = rows.rows(list(update.mf_items))
        items.model.add(moved, unpack(update.mf_deltas, len(moved)))
        indexes.changed_rows(moved if available else moved[moved != row])
