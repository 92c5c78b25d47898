"""The re-ranker interface: a step of the pipeline from scored candidates to the list.

The engine scores the candidates, applies the hard filters (:mod:`recsys.rerank.filters`,
always first, also to the exhaustive fallback), scales the scores to relevance in [0, 1]
(best 1, min-max over the list, order kept) and then runs the steps named in the
``rerank_steps`` setting, in that order. So a step can add or take relevance in the same
units whatever the scorer ("a just-published item gains 0.2").

A list travels as a :class:`Ranked`: arrays of item rows, relevance and source bits, best
first, plus the reasons of the items a step moved; a step reads the columns it needs for the
whole list at once (an item's age, its click-bait flag...), so a list of hundreds of
candidates costs a few numpy operations, not a Python object per candidate.

What every step promises (the contract test runs every step through it):

- the input is best first; the output is best first and the engine lists its first ``k``;
- it never drops an item it was given, except a hard filter, and never lists one twice;
- it never lists an item of ``request.exclude`` or an unavailable one (a step that adds
  items, such as pins, checks with :class:`~recsys.rerank.filters.HardFilters`);
- an item a step moved or changed carries the step's reason (:meth:`Ranked.with_reason`), which
  the list shows to the user ("new", "pinned by rule spring-sale");
- a step whose setting turns it off returns the list unchanged.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from recsys.request import Request
from recsys.rows import Rows, RowSpace
from recsys.scoring.base import Scored


@dataclass
class Ranked:
    """A list best first: item ``rows``, their ``scores``, the ``sources`` that nominated each
    (bit ``b`` set: ``names[b]``), and the reasons of the steps that moved an item (by row).

    >>> space = RowSpace()
    >>> ranked = Ranked.of(space, [Scored("a", 0.2, ("mf",)), Scored("b", 0.9, ("mf", "popular"))])
    >>> ranked = ranked.resorted().with_reason(np.array([0]), "new")
    >>> ranked.ids, ranked.scored()[0]
    (['b', 'a'], Scored(item_id='b', score=0.9, sources=('mf', 'popular'), reasons=('new',)))
    """

    space: RowSpace
    rows: Rows
    scores: np.ndarray
    sources: np.ndarray
    names: tuple[str, ...]
    reasons: dict[int, tuple[str, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def ids(self) -> list[str]:
        return self.space.ids_of(self.rows.tolist())

    def take(self, order: Sequence[int] | np.ndarray) -> Ranked:
        """The items at positions ``order``, in that order."""
        order = np.asarray(order, dtype=np.int64)
        return Ranked(self.space, self.rows[order], self.scores[order], self.sources[order], self.names, self.reasons)

    def with_scores(self, scores: np.ndarray) -> Ranked:
        return Ranked(self.space, self.rows, np.asarray(scores, dtype=float), self.sources, self.names, self.reasons)

    def resorted(self) -> Ranked:
        """Best first after scores changed: by score, ties in the order given (stable)."""
        return self.take(np.argsort(-self.scores, kind="stable"))

    def with_reason(self, positions: Sequence[int] | np.ndarray, reason: str) -> Ranked:
        """A copy in which the items at ``positions`` carry ``reason`` (once)."""
        reasons = dict(self.reasons)
        for row in self.rows[np.asarray(positions, dtype=np.int64)].tolist():
            old = reasons.get(row, ())
            if reason and reason not in old:
                reasons[row] = (*old, reason)
        return Ranked(self.space, self.rows, self.scores, self.sources, self.names, reasons)

    def source_names(self, position: int) -> tuple[str, ...]:
        return self._names_of(int(self.sources[position]))

    def _names_of(self, bits: int) -> tuple[str, ...]:
        return tuple(name for b, name in enumerate(self.names) if bits >> b & 1)

    def scored(self, limit: int | None = None) -> list[Scored]:
        """The first ``limit`` items (all by default) as :class:`Scored` records."""
        n = len(self) if limit is None else min(limit, len(self))
        rows = self.rows[:n].tolist()
        ids = self.space.ids_of(rows)
        named: dict[int, tuple[str, ...]] = {}
        out: list[Scored] = []
        scores, sources = self.scores[:n].tolist(), self.sources[:n].tolist()
        for item_id, row, score, bits in zip(ids, rows, scores, sources, strict=True):
            names = named.get(bits)
            if names is None:
                names = named[bits] = self._names_of(bits)
            out.append(Scored(item_id, score, names, self.reasons.get(row, ())))
        return out

    @classmethod
    def of(cls, space: RowSpace, scored: Sequence[Scored], names: Sequence[str] = ()) -> Ranked:
        """A :class:`Ranked` from :class:`Scored` records (ids get rows of ``space``), in their order."""
        all_names = list(names)
        for s in scored:
            all_names += [n for n in s.sources if n not in all_names]
        bit = {name: b for b, name in enumerate(all_names)}
        rows = space.rows(s.item_id for s in scored)
        sources = np.array([sum(1 << bit[n] for n in s.sources) for s in scored], dtype=np.int64)
        reasons = {int(r): s.reasons for r, s in zip(rows.tolist(), scored, strict=True) if s.reasons}
        scores = np.array([s.score for s in scored], dtype=float)
        return cls(space, rows, scores, sources, tuple(all_names), reasons)


class Reranker(abc.ABC):
    """Takes the list best first and returns it changed (filtered, reordered)."""

    name: str = "step"

    @abc.abstractmethod
    def rerank(self, request: Request, ranked: Ranked) -> Ranked:
        """The new list, best first."""


def normalise(scores: np.ndarray) -> np.ndarray:
    """Scores scaled to [0, 1] by min-max over the list (best 1), order kept; all equal: 1.

    >>> normalise(np.array([4.0, 2.0, 0.0])).tolist()
    [1.0, 0.5, 0.0]
    """
    if len(scores) == 0:
        return scores
    low, high = float(scores.min()), float(scores.max())
    span = high - low
    return (scores - low) / span if span > 0 else np.ones(len(scores))
