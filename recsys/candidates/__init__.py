"""Candidate generation: each registered generator nominates items, scores any candidate, explains its own.

:data:`GENERATORS` is the registry: name -> generator class, in the order the learned scorer
lays out their features. Adding a generator is one module with a :class:`Generator` subclass
plus its line here; settings validation (``RECSYS_GENERATORS``, ``RECSYS_BLEND_WEIGHTS``), the
scorers' signals, the explanations and the contract tests (``tests/unit/test_candidates.py``)
all read this registry. A generator that needs learned state of its own keeps it in
``ItemState.parts`` (snapshotted whole, and called on every interaction when it has an
``observe`` method).
"""

from recsys.candidates.base import Candidates, Generator
from recsys.candidates.content import ContentSource
from recsys.candidates.covisitation import CoVisitationSource
from recsys.candidates.fresh import FreshSource
from recsys.candidates.mf import MFRetrieval
from recsys.candidates.popular import MostPopular
from recsys.candidates.sequence import SequenceSource
from recsys.candidates.social import SocialSource
from recsys.candidates.transitions import AdjacentSource, TransitionSource
from recsys.candidates.trending import TrendingSource
from recsys.candidates.two_tower import TwoTowerSource

GENERATORS: dict[str, type[Generator]] = {
    g.name: g
    for g in (MFRetrieval, CoVisitationSource, MostPopular, ContentSource, TrendingSource, FreshSource,
              TwoTowerSource, SocialSource, TransitionSource, SequenceSource, AdjacentSource)
}  # fmt: skip
"""Every generator, by name, in the order of the learned scorer's feature columns."""

__all__ = [
    "AdjacentSource",
    "Candidates",
    "CoVisitationSource",
    "ContentSource",
    "FreshSource",
    "GENERATORS",
    "Generator",
    "MFRetrieval",
    "MostPopular",
    "SequenceSource",
    "SocialSource",
    "TransitionSource",
    "TrendingSource",
    "TwoTowerSource",
]
