"""Re-ranking: business constraints applied to the scored list."""

from recsys.rerank.base import Reranker
from recsys.rerank.exclusions import Exclusions
from recsys.rerank.new_items import NewItemSlot

__all__ = ["Exclusions", "NewItemSlot", "Reranker"]
