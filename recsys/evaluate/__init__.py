"""Offline evaluation: prequential replay of a dataset through the engine and baselines."""

from recsys.evaluate.protocol import EngineRecommender, Positives, Recommender
from recsys.evaluate.replay import replay

__all__ = ["EngineRecommender", "Positives", "Recommender", "replay"]
