"""Scoring: one precise score per merged candidate."""

from recsys.scoring.base import Scored, Scorer, Signal
from recsys.scoring.mf_dot import MFScorer

__all__ = ["MFScorer", "Scored", "Scorer", "Signal"]
