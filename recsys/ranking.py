"""Ranking one list: candidates -> score -> filter -> re-rank, and the explanation of what is shown.

The :class:`Ranker` is built from the item-side state, the indexes and the settings: every
registered generator (:data:`recsys.candidates.GENERATORS`; those named in ``RECSYS_GENERATORS``
nominate, all of them give the scorer their signals), the scorer (``RECSYS_SCORER``), the
hard filters and the re-ranking steps of ``RECSYS_RERANK_STEPS``
(:data:`recsys.rerank.pipeline.STEPS`). It holds no state: every part it reads is looked up
in the item state or the indexes when a list is ranked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from recsys.candidates import GENERATORS, Generator
from recsys.errors import ConfigError
from recsys.explain import Explainer
from recsys.features import item_genres
from recsys.indexing import Indexes
from recsys.items.state import ItemState
from recsys.models.base import UserFactors
from recsys.request import Request
from recsys.rerank import pipeline
from recsys.rerank.base import Reranker, normalise
from recsys.scoring import MFScorer, Scored, Scorer, merge
from recsys.scoring.blend import BlendScorer
from recsys.scoring.learned import LearnedScorer
from recsys.settings import ENV_PREFIX, Settings
from recsys.state import UserState
from schemas import RecommendedItem


def check_names(settings: Settings) -> None:
    """Every generator, blend signal and re-ranking step the settings name is registered; else a
    :class:`ConfigError` that names the variable and the valid names."""
    generators = [g.strip() for g in settings.generators.split(",") if g.strip()]
    steps = [t.strip() for t in settings.rerank_steps.split(",") if t.strip()]
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


class Ranker:
    """Candidates from the enabled generators, one score each, hard filters, re-ranking steps."""

    def __init__(
        self, items: ItemState, indexes: Indexes, settings: Settings, wall_clock: Callable[[], float]
    ) -> None:
        check_names(settings)
        s = settings
        self.items = items
        self.indexes = indexes
        self.settings = settings
        self.generators: dict[str, Generator] = {name: cls(items, indexes, s) for name, cls in GENERATORS.items()}
        self.sources = [self.generators[g.strip()] for g in s.generators.split(",") if g.strip()]
        self.scorer = self._scorer()
        parts = pipeline.Parts(
            catalog=items.catalog, feedback=items.feedback, exposure=items.exposure, rules=items.rules,
            wall_clock=wall_clock, event_clock=lambda: items.clock, genres_of=self.genres_of,
            creator_of=self.creator_of, content_vectors=self.content_vectors, mf_vectors=self.mf_vectors,
            fit=self.generators["two_tower"].signal if indexes.uses_towers else None,
        )  # fmt: skip
        self.filters = pipeline.hard_filters(s, parts)
        self.steps: list[Reranker] = pipeline.build(s, parts, self.filters)
        self.explainer = Explainer(self.generators)

    def _scorer(self) -> Scorer:
        s, items = self.settings, self.items
        signals = {name: g.signal for name, g in self.generators.items()}
        if items.learned is not None:
            if not self.indexes.uses_towers:
                signals.pop("two_tower", None)  # untrained towers say nothing
            return LearnedScorer(signals, s.blend_weights, items.learned, blend_offset=s.blend_offset,
                                 genres=self.genres_of)  # fmt: skip
        if s.scorer == "blend":
            return BlendScorer(signals, s.blend_weights, s.blend_offset)
        return MFScorer(items.model, items.catalog)

    # ---------------------------------------------------------------- what steps read
    def genres_of(self, item_id: str) -> tuple[str, ...]:
        """The item's genres from the catalogue (none when unknown)."""
        info = self.items.catalog.items.get(item_id)
        return () if info is None else item_genres(info.attributes)

    def creator_of(self, item_id: str) -> str | None:
        """The item's creator (the ``creator_attribute``), or None."""
        info = self.items.catalog.items.get(item_id)
        value = None if info is None else info.attributes.get(self.settings.creator_attribute)
        return None if value is None else str(value)

    def content_vectors(self, ids: list[str]) -> np.ndarray | None:
        """Content vectors of ``ids`` (zero rows for items without attributes), for diversity."""
        content = self.items.content
        zero = np.zeros(content.dim)
        return np.stack([content.vectors.get(i, zero) for i in ids]) if ids else None

    def mf_vectors(self, ids: list[str]) -> np.ndarray | None:
        """Indexed MF vectors of ``ids`` (zero rows for items not indexed), for diversity."""
        if not ids:
            return None
        index = self.indexes.mf
        zero = np.zeros(index.dim, dtype=np.float32)
        return np.stack([zero if v is None else v for v in index.vectors_of(ids)])

    # ---------------------------------------------------------------- ranking
    def request(
        self, state: UserState, k: int, exclude: set[str] | None = None, context: dict[str, Any] | None = None
    ) -> Request:
        """The request for ``state``'s list of ``k``: nothing the user excluded or ``exclude`` names,
        at the event clock, in the user's context overridden by ``context``."""
        return Request(
            state, factors_of(state), state.excluded() | (exclude or set()), k=k, now=self.items.clock,
            context={**state.context, **(context or {})},
        )  # fmt: skip

    def rank(self, request: Request) -> list[Scored]:
        """The top ``request.k``: candidates, scored, filtered, re-ranked; never fewer than ``k``
        when ``k`` eligible items exist."""
        k = request.k
        n = max(self.settings.candidates, k)
        ranked = self._scored(request, merge(src.generate(request, n) for src in self.sources))
        if len(ranked) < k:
            # Too few survived the filters: score every eligible item (exhaustive fallback),
            # after every candidate (relevance 0).
            skip = request.exclude | {s.item_id for s in ranked}
            rest = {i: {"catalog": 0.0} for i in self.items.catalog.available_ids() if i not in skip}
            ranked += [s.moved(score=0.0) for s in self._scored(request, rest)]
        for step in self.steps:
            ranked = step.rerank(request, ranked)
        return ranked[:k]

    def _scored(self, request: Request, candidates: dict[str, dict[str, float]]) -> list[Scored]:
        """Scored, best first, hard-filtered, relevance scaled to [0, 1]."""
        ranked = sorted(self.scorer.score(request, candidates), key=lambda s: (-s.score, s.item_id))
        return normalise(self.filters.rerank(request, ranked))

    def explain(self, request: Request, top: list[Scored]) -> list[RecommendedItem]:
        """The listed items with their sources, reasons and score components."""
        components = self.scorer.components(request, [s.item_id for s in top])
        reasons = self.explainer.reasons
        return [
            RecommendedItem(s.item_id, round(s.score, 6), s.sources, reasons(request, s), parts)
            for s, parts in zip(top, components, strict=True)
        ]
