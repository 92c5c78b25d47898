"""Models that learn user and item vectors from the interaction stream."""

from recsys.models.base import UserFactors, VectorModel
from recsys.models.online_mf import OnlineMF

__all__ = ["OnlineMF", "UserFactors", "VectorModel"]
