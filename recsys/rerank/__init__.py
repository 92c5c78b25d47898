"""Re-ranking: business constraints applied to the scored list."""

from recsys.rerank.base import Reranker
from recsys.rerank.exclusions import Exclusions

__all__ = ["Exclusions", "Reranker"]
