"""Ranking one list: candidates -> score -> filter -> re-rank, and the explanation of what is shown.

The :class:`Ranker` is built from the item-side state, the indexes and the settings: every
registered generator (:data:`recsys.candidates.GENERATORS`; those named in ``RECSYS_GENERATORS``
nominate, all of them give the scorer their signals), the scorer (``RECSYS_SCORER``), the
hard filters and the re-ranking steps of ``RECSYS_RERANK_STEPS``
(:data:`recsys.rerank.pipeline.STEPS`). It holds no state: every part it reads is looked up
in the item state or the indexes when a list is ranked.

A list is arrays all the way: generators nominate item rows (already filtered: the request's
``allowed`` mask is the hard filters), the merge keeps each row once with a bit per generator
that nominated it, the scorer scores all rows at once, and the steps re-rank a
:class:`~recsys.rerank.base.Ranked`; only the ``k`` items shown become records, with their
reasons and score components. Ties are broken by item row (the order items became known).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from recsys.candidates import GENERATORS, Candidates, Generator
from recsys.errors import ConfigError
from recsys.explain import Explainer
from recsys.indexing import Indexes
from recsys.items.state import ItemState
from recsys.models.base import UserFactors
from recsys.models.pairwise import PairwiseModel
from recsys.request import Request
from recsys.rerank import pipeline
from recsys.rerank.base import Ranked, Reranker, normalise
from recsys.rows import Rows
from recsys.scoring import MFScorer, Scorer
from recsys.scoring.blend import BlendScorer
from recsys.scoring.learned import LearnedScorer
from recsys.settings import ENV_PREFIX, Settings
from recsys.state import UserState
from schemas import RecommendedItem

FALLBACK = "catalog"
"""The source of an item the exhaustive fallback added (no generator nominated it)."""


def check_names(settings: Settings) -> None:
    """Every generator, blend signal and re-ranking step the settings name is registered; else a
    :class:`ConfigError` that names the variable and the valid names."""
    generators = settings.generator_names
    steps = settings.rerank_step_names
    checks: list[tuple[str, list[str], list[str]]] = [
        ("generators", generators, list(GENERATORS)),
        ("blend_weights", list(settings.blend_weights), list(GENERATORS)),
        ("rerank_steps", steps, list(pipeline.STEPS)),
    ]
    for variable, names, known in checks:
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ConfigError(
                f"{ENV_PREFIX}{variable.upper()}: unknown name(s) {', '.join(unknown)}; "
                f"known: {', '.join(known)}"
            )


def factors_of(state: UserState) -> UserFactors | None:
    """The user's MF factors (None before their first learning step)."""
    if state.vector is None:
        return None
    return UserFactors(np.asarray(state.vector, dtype=float), state.bias)


def merge(lists: list[Candidates]) -> tuple[Rows, np.ndarray]:
    """The rows nominated by any list, each once, in first-nominated order, and for each a bit
    mask of the lists (by position) that nominated it.

    >>> rows, bits = merge([(np.array([5, 3]), np.zeros(2)), (np.array([3, 9]), np.zeros(2))])
    >>> rows.tolist(), bits.tolist()
    ([5, 3, 9], [1, 3, 2])
    """
    lengths = [len(rows) for rows, _ in lists]
    if not sum(lengths):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    every = np.concatenate([rows for rows, _ in lists])
    bit = np.repeat(np.left_shift(1, np.arange(len(lists), dtype=np.int64)), lengths)
    unique, first, inverse = np.unique(every, return_index=True, return_inverse=True)
    bits = np.zeros(len(unique), dtype=np.int64)
    np.bitwise_or.at(bits, inverse, bit)
    order = np.argsort(first)
    return unique[order], bits[order]


class Ranker:
    """Candidates from the enabled generators, one score each, hard filters, re-ranking steps."""

    def __init__(
        self, items: ItemState, indexes: Indexes, settings: Settings, wall_clock: Callable[[], float],
        learned: PairwiseModel | None = None,
    ) -> None:  # fmt: skip
        """``learned``: the learned scorer's model (an experiment variant's own; default the shared one)."""
        check_names(settings)
        s = settings
        self.learned = learned if learned is not None else items.learned
        self.items = items
        self.indexes = indexes
        self.settings = settings
        self.generators: dict[str, Generator] = {name: cls(items, indexes, s) for name, cls in GENERATORS.items()}
        self.sources = [self.generators[g] for g in s.generator_names]
        self.names = (*(g.name for g in self.sources), FALLBACK)  # the source bits of a Ranked
        self.scorer = self._scorer()
        parts = pipeline.Parts(
            catalog=items.catalog, feedback=items.feedback, exposure=items.exposure, rules=items.rules,
            wall_clock=wall_clock, event_clock=lambda: items.clock, genres_of=self.genres_of,
            creator_of=self.creator_of, content_vectors=self.content_vectors, mf_vectors=self.mf_vectors,
            fit=self.generators["two_tower"].signal if indexes.uses_towers else None, impressions=items.impressions,
        )  # fmt: skip
        self.filters = pipeline.hard_filters(s, parts)
        self.steps: list[Reranker] = pipeline.build(s, parts, self.filters)
        self.explainer = Explainer(self.generators)

    def _scorer(self) -> Scorer:
        s, items = self.settings, self.items
        signals = {name: g.signal for name, g in self.generators.items()}
        if s.scorer == "learned" and self.learned is not None:
            if not self.indexes.uses_towers:
                signals.pop("two_tower", None)  # untrained towers say nothing
            return LearnedScorer(signals, s.blend_weights, self.learned, blend_offset=s.blend_offset,
                                 catalog=items.catalog, content=items.content,
                                 extra=s.learned_feature_names)  # fmt: skip
        if s.scorer == "blend":
            return BlendScorer(signals, s.blend_weights, s.blend_offset)
        return MFScorer(items.model, items.catalog)

    # ---------------------------------------------------------------- what steps read, by id
    def genres_of(self, item_id: str) -> tuple[str, ...]:
        """The item's genres from the catalogue (none when unknown)."""
        row = self.items.rows.find(item_id)
        return () if row < 0 else self.items.catalog.genres(row)

    def creator_of(self, item_id: str) -> str | None:
        """The item's creator (the ``creator_attribute``), or None."""
        row = self.items.rows.find(item_id)
        return None if row < 0 else self.items.catalog.creator_of(row)

    def content_vectors(self, ids: list[str]) -> np.ndarray | None:
        """Content vectors of ``ids`` (zero rows for items without attributes), for diversity."""
        if not ids:
            return None
        content, rows = self.items.content, self.items.rows.lookup(ids)
        known = rows >= 0
        known[known] = content.has.data[rows[known]]
        return np.where(known[:, None], content.matrix.data[np.where(known, rows, 0)], 0.0)

    def mf_vectors(self, ids: list[str]) -> np.ndarray | None:
        """Current MF vectors of ``ids`` (zero rows for items the model has none for), for diversity."""
        if not ids:
            return None
        model, rows = self.items.model, self.items.rows.lookup(ids)
        known = rows >= 0
        known[known] = model.has(rows[known])
        out = np.zeros((len(ids), model.dim), dtype=np.float32)
        out[known] = model.vectors(rows[known])
        return out

    # ---------------------------------------------------------------- ranking
    def request(
        self, state: UserState, k: int, exclude: set[str] | None = None, context: dict[str, Any] | None = None
    ) -> Request:
        """The request for ``state``'s list of ``k``: nothing the user excluded or ``exclude`` names,
        at the event clock, in the user's context overridden by ``context``."""
        space = self.items.rows
        excluded_ids = state.excluded() | (exclude or set())
        excluded = space.lookup(list(excluded_ids))
        excluded = np.unique(excluded[excluded >= 0])
        history = space.known(state.history)
        recent = space.known(state.recent_positives())
        request = Request(
            state, factors_of(state), excluded_ids, k=k, now=self.items.clock,
            context={**state.context, **(context or {})}, excluded=excluded,
            recent=recent, history=history,
        )  # fmt: skip
        filters = self.filters
        request.allowed = lambda rows: filters.mask(request, rows)
        return request

    def rank(self, request: Request) -> Ranked:
        """The top ``request.k``: candidates, scored, filtered, re-ranked; never fewer than ``k``
        when ``k`` eligible items exist."""
        k = request.k
        rows, bits = self.candidates(request)
        ranked = self._scored(request, rows, bits)
        if len(ranked) < k:
            # Too few candidates: score every eligible item (exhaustive fallback), after every
            # candidate (relevance 0).
            rest = self.items.catalog.available_rows()
            rest = np.sort(rest[~np.isin(rest, ranked.rows)])  # _scored applies the hard filters
            fallback = self._scored(request, rest, np.full(len(rest), 1 << (len(self.names) - 1), dtype=np.int64))
            ranked = Ranked(
                ranked.space, np.concatenate([ranked.rows, fallback.rows]),
                np.concatenate([ranked.scores, np.zeros(len(fallback))]),
                np.concatenate([ranked.sources, fallback.sources]), self.names,
            )  # fmt: skip
        for step in self.steps:
            ranked = step.rerank(request, ranked)
        return ranked.take(np.arange(min(k, len(ranked))))

    def candidates(self, request: Request) -> tuple[Rows, np.ndarray]:
        """The enabled generators' nominations merged, before scoring: the rows and which
        generators named each (see :func:`merge`)."""
        n = max(self.settings.candidates, request.k)
        return merge([src.generate(request, n) for src in self.sources])

    def _scored(self, request: Request, rows: Rows, bits: np.ndarray) -> Ranked:
        """Scored, best first (ties: the earlier row), hard-filtered, relevance scaled to [0, 1]."""
        keep = request.mask(rows)
        rows, bits = rows[keep], bits[keep]
        scores = self.scorer.score(request, rows) if len(rows) else np.zeros(0)
        order = np.lexsort((rows, -scores))
        return Ranked(self.items.rows, rows[order], normalise(scores[order]), bits[order], self.names)

    def explain(self, request: Request, top: Ranked) -> list[RecommendedItem]:
        """The listed items with their sources, reasons and score components."""
        components = self.scorer.components(request, top.rows)
        scored = top.scored()
        reasons = self.explainer.explain(request, top.rows, scored)
        return [
            RecommendedItem(s.item_id, round(s.score, 6), s.sources, why, parts, position)
            for position, (s, why, parts) in enumerate(zip(scored, reasons, components, strict=True), 1)
        ]
