"""Event contracts: the typed records that cross the topics and their JSON codec."""

from schemas.codec import decode, encode
from schemas.errors import SchemaError
from schemas.events import (
    INTERACTION_TYPES,
    DeadLetter,
    Interaction,
    Item,
    Recommendation,
    RecommendedItem,
    User,
)

__all__ = [
    "DeadLetter",
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
