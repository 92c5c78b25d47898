"""The re-ranker interface: a step of the pipeline from scored candidates to the list."""

from __future__ import annotations

import abc

from recsys.candidates.base import Request
from recsys.scoring.base import Scored


class Reranker(abc.ABC):
    """Takes the list best first and returns it changed (filtered, reordered)."""

    @abc.abstractmethod
    def rerank(self, request: Request, ranked: list[Scored]) -> list[Scored]:
        """The new list, best first."""
