"""Event contracts: the typed records that cross the topics and their JSON codec."""

from schemas.codec import decode, decode_many, encode, encode_batches, encode_many
from schemas.errors import SchemaError
from schemas.events import (
    FOLLOW_ACTIONS,
    INTERACTION_TYPES,
    RULE_ACTIONS,
    Context,
    DeadLetter,
    Follow,
    Interaction,
    Item,
    ItemUpdate,
    Like,
    Recommendation,
    RecommendedItem,
    Rule,
    User,
)

__all__ = [
    "Context",
    "DeadLetter",
    "FOLLOW_ACTIONS",
    "Follow",
    "INTERACTION_TYPES",
    "Interaction",
    "Item",
    "ItemUpdate",
    "Like",
    "RULE_ACTIONS",
    "Recommendation",
    "RecommendedItem",
    "Rule",
    "SchemaError",
    "User",
    "decode",
    "decode_many",
    "encode",
    "encode_batches",
    "encode_many",
]
