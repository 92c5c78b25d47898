"""Item-to-item co-visitation: items that appeared near each other in users' recent histories.

What the user did just now is the strongest single signal measured on MovieLens (see the
architecture guide). Every positive event pairs its item with the user's previous
``window`` positives (weighted by how close they were), both directions; a user's
candidates are the items most co-visited with the user's own recent positives, the most
recent counting most. Rows are pruned to their strongest ``row_limit`` entries so memory
stays bounded by the number of items. With a ``half_life`` (event-time seconds) a pair's
count halves every half-life: a pair seen today outweighs one seen a year ago. Counts are
kept in the units of a reference time (a pair adds ``weight * 2**((at - reference) /
half_life)``) and read back at the latest event time, so nothing is rewritten per event.

Examples
--------
>>> cv = CoVisitation(window=3)
>>> for user, items in {"a": ["x", "y", "z"], "b": ["x", "y"], "c": ["x", "w"]}.items():
...     for n, item in enumerate(items):
...         cv.observe(items[:n], item)
>>> cv.scores(["x"]).most_common(2)
[('y', 2.0), ('w', 1.0)]
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

_RESCALE_AFTER = 50.0  # half-lives between rescales of every count; 2**50 is far from overflow


class CoVisitation:
    """Symmetric co-visitation counts between items, with bounded rows."""

    def __init__(self, window: int = 20, row_limit: int = 500, half_life: float = 0.0) -> None:
        if half_life < 0:
            raise ValueError(f"half_life must be 0 (no decay) or positive seconds, got {half_life}")
        self.window = window
        self.row_limit = row_limit
        self.half_life = half_life
        self.reference: float | None = None  # the event time whose units the counts are in
        self.now = -math.inf
        self.rows: dict[str, dict[str, float]] = {}

    def __setstate__(self, state: dict[str, object]) -> None:  # snapshots from before decay
        self.__dict__.update({"half_life": 0.0, "reference": None, "now": -math.inf, **state})

    def _scale_at(self, at: float) -> float:
        """The factor one pair seen at ``at`` adds (1 without decay)."""
        if not self.half_life:
            return 1.0
        if self.reference is None:
            self.reference = at
        self.now = max(self.now, at)
        if (self.now - self.reference) / self.half_life > _RESCALE_AFTER:
            shrink = 2.0 ** ((self.reference - self.now) / self.half_life)
            for row in self.rows.values():
                for key in row:
                    row[key] *= shrink
            self.reference = self.now
        return float(2.0 ** ((at - self.reference) / self.half_life))

    def observe(self, recent: Sequence[str], item_id: str, at: float = 0.0) -> None:
        """``item_id`` was a positive at event time ``at`` right after ``recent`` (oldest
        first) for one user."""
        scale = self._scale_at(at)
        for distance, other in enumerate(reversed(recent[-self.window :]), start=1):
            if other == item_id:
                continue
            weight = scale / distance**0.5
            self._add(other, item_id, weight)
            self._add(item_id, other, weight)

    def _add(self, a: str, b: str, weight: float) -> None:
        row = self.rows.setdefault(a, {})
        row[b] = row.get(b, 0.0) + weight
        if len(row) > 2 * self.row_limit:
            keep = sorted(row.items(), key=lambda kv: kv[1], reverse=True)[: self.row_limit]
            self.rows[a] = dict(keep)

    def scores(self, recent: Sequence[str]) -> Counter[str]:
        """Summed (decayed) co-visitation with ``recent`` (oldest first); the most recent weigh most."""
        total: Counter[str] = Counter()
        now = 1.0
        if self.half_life and self.reference is not None:
            now = 2.0 ** ((self.reference - self.now) / self.half_life)
        for distance, item in enumerate(reversed(recent[-self.window :]), start=1):
            row = self.rows.get(item)
            if not row:
                continue
            weight = now / distance**0.5
            if weight == 1.0:
                total.update(row)
            else:
                total.update({k: v * weight for k, v in row.items()})
        return total
