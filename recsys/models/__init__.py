"""Models that learn user and item vectors from the interaction stream.

``make_model(settings)`` builds the one the settings name (``mf_loss``): :class:`OnlineBPR`
(pairwise, the default) or :class:`OnlineMF` (River's ``BiasedMF``, pointwise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from recsys.models.base import UserFactors, VectorModel
from recsys.models.bpr import OnlineBPR
from recsys.models.online_mf import OnlineMF

if TYPE_CHECKING:
    from recsys.rows import RowSpace
    from recsys.settings import Settings

DEFAULT_LEARNING_RATE = {"bpr": 0.5, "squared": 0.05}
DEFAULT_USER_LEARNING_RATE = 3.0


def make_model(settings: Settings, rows: RowSpace | None = None) -> VectorModel:
    """The MF model ``settings`` describe, with the loss's own defaults for rates left at 0, over the
    item row space ``rows`` (a space of its own when not given)."""
    s = settings
    lr = s.learning_rate or DEFAULT_LEARNING_RATE[s.mf_loss]
    if s.mf_loss == "squared":
        return OnlineMF(s.factors, lr, s.l2, s.init_std, s.seed, rows=rows)
    user_lr = s.user_learning_rate or DEFAULT_USER_LEARNING_RATE
    return OnlineBPR(s.factors, lr, user_lr, s.l2, s.max_norm, s.init_std, s.seed, rows=rows)


__all__ = ["OnlineBPR", "OnlineMF", "UserFactors", "VectorModel", "make_model"]
