"""Re-ranking: the hard filters, then business constraints applied to the scored list."""

from recsys.rerank.base import Reranker
from recsys.rerank.filters import HardFilters
from recsys.rerank.new_items import NewItemSlot

__all__ = ["HardFilters", "NewItemSlot", "Reranker"]
