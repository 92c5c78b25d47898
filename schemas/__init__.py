"""Event contracts: the typed records that cross the topics and their JSON codec."""

from schemas.codec import decode, encode
from schemas.errors import SchemaError
from schemas.events import (
    FOLLOW_ACTIONS,
    INTERACTION_TYPES,
    DeadLetter,
    Follow,
    Interaction,
    Item,
    Recommendation,
    RecommendedItem,
    User,
)

__all__ = [
    "DeadLetter",
    "FOLLOW_ACTIONS",
    "Follow",
    "INTERACTION_TYPES",
    "Interaction",
    "Item",
    "Recommendation",
    "RecommendedItem",
    "SchemaError",
    "User",
    "decode",
    "encode",
]
