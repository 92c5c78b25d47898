"""JSON Schema (draft 2020-12) of every record, for producers written in other languages.

The files under ``schemas/json/`` are generated from :data:`SCHEMAS`; regenerate them with
``python -m schemas.jsonschema`` after changing a record (a test fails when they drift).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from schemas.events import FOLLOW_ACTIONS, INTERACTION_TYPES, RULE_ACTIONS

_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_ID = {"type": ["string", "integer"], "minLength": 1, "maxLength": 256}
_TIME = {
    "description": "epoch seconds, or an ISO-8601 string with a timezone",
    "oneOf": [{"type": "number", "minimum": 0}, {"type": "string", "format": "date-time"}],
}
_ATTRIBUTES = {"type": "object", "description": "free-form attributes"}


def _record(title: str, description: str, props: dict[str, Any], required: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "$schema": _DRAFT,
        "title": title,
        "description": description,
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
        **extra,
    }


_RECOMMENDED_ITEM = {
    "type": "object",
    "properties": {
        "item_id": {"type": "string"},
        "score": {"type": "number"},
        "sources": {"type": "array", "items": {"type": "string"}, "description": "generators that nominated it"},
        "reasons": {
            "type": "array",
            "items": {"type": "string"},
            "description": "why it is there, and the rules that moved it",
        },
        "components": {
            "type": "object",
            "additionalProperties": {"type": "number"},
            "description": "what the main signals added to its score",
        },
        "position": {"type": "integer", "minimum": 0, "description": "1-based place in the list (0: not given)"},
    },
    "required": ["item_id", "score"],
    "additionalProperties": False,
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "interaction": _record(
        "Interaction",
        "What one user did to one item. Topic `interactions`, keyed by user_id.",
        {
            "event_id": {**_ID, "description": "unique per event; redeliveries are applied once"},
            "user_id": _ID,
            "item_id": _ID,
            "type": {"enum": list(INTERACTION_TYPES)},
            "value": {"type": ["number", "null"], "description": "the rating; required for type rating"},
            "timestamp": {**_TIME, "description": "event time: epoch seconds, or an ISO-8601 string with a timezone"},
            "context": {**_ATTRIBUTES, "description": "session, device, locale and the like"},
            "list_id": {"type": ["string", "null"], "description": "the recommendation list it answers (optional)"},
            "position": {"type": ["integer", "null"], "minimum": 0,
                         "description": "the item's 1-based position in that list (optional)"},
        },
        ["event_id", "user_id", "item_id", "type", "timestamp"],
        allOf=[{
            "if": {"properties": {"type": {"const": "rating"}}},
            "then": {"required": ["value"], "properties": {"value": {"type": "number"}}},
        }],
    ),
    "item": _record(
        "Item",
        "A catalogue entry. Topic `items`, keyed by item_id, compacted; a null value "
        "(tombstone) or available=false removes the item from recommendations.",
        {
            "item_id": _ID,
            "title": {"type": ["string", "null"]},
            "attributes": {**_ATTRIBUTES, "description": "genres, tags, creator, year ..."},
            "published_at": {"oneOf": [*_TIME["oneOf"], {"type": "null"}]},
            "available": {"type": "boolean", "default": True},
        },
        ["item_id"],
    ),
    "user": _record(
        "User",
        "A user profile. Topic `users`, keyed by user_id, compacted.",
        {"user_id": _ID, "attributes": {**_ATTRIBUTES, "description": "age, country, genres ..."}},
        ["user_id"],
    ),
    "like": _record(
        "Like",
        "A user's positive interaction as the workers share it (written by the worker, not by producers). "
        "Topic `recsys-likes`, in batches (a JSON array per message) keyed by the writing worker; read whole by "
        "every worker for the social generator.",
        {
            "event_id": {**_ID, "description": "the interaction's event_id"},
            "user_id": {**_ID, "description": "who liked it (the message key)"},
            "item_id": _ID,
            "weight": {"type": "number", "exclusiveMinimum": 0, "description": "the interaction's positive weight"},
            "timestamp": _TIME,
            "erased": {"type": "boolean", "description": "the user was erased (a tombstone on users): every "
                       "worker forgets what it holds of them; item_id is '-'"},
        },
        ["event_id", "user_id", "item_id", "weight", "timestamp"],
    ),
    "item_update": _record(
        "ItemUpdate",
        "What one interaction taught the item side, as a worker shares it (written by the workers). Topic "
        "`recsys-item-updates`, in batches (a JSON array per message) keyed by the writing worker; read whole by "
        "every worker.",
        {
            "origin": {**_ID, "description": "the worker that wrote it"},
            "seq": {"type": "integer", "minimum": 1, "description": "the origin's update number, from 1"},
            "event_id": {**_ID, "description": "the interaction's event_id"},
            "item_id": _ID,
            "type": {"type": "string", "description": "the interaction's type"},
            "weight": {"type": "number", "description": "the interaction's signed weight"},
            "timestamp": _TIME,
            "engaged_before": {"type": "boolean", "description": "the user had engaged with the item before"},
            "recent": {"type": "array", "items": {"type": "string"}, "description": "the user's recent positives"},
            "segments": {"type": "array", "items": {"type": "string"}, "description": "trending segments"},
            "mf_items": {"type": "array", "items": {"type": "string"}, "description": "items the MF step moved"},
            "mf_deltas": {
                "type": "string",
                "contentEncoding": "base64",
                "description": "little-endian float32, one row per item of mf_items: the change to its vector, "
                "bias last",
            },
            "tower_rows": {"type": "string", "contentEncoding": "base64",
                           "description": "little-endian int32 two-tower table rows: the user tower's, then "
                           "the item tower's"},
            "tower_split": {"type": "integer", "minimum": 0, "description": "how many tower_rows are the user tower's"},
            "tower_deltas": {"type": "string", "contentEncoding": "base64",
                             "description": "little-endian float32, one row per tower row: table change, accumulator"},
            "scorer_deltas": {"type": "object", "additionalProperties": {"type": "number"},
                              "description": "the learned scorer's weight changes, per feature"},
            "scorer_pairs": {"type": "integer", "minimum": 0, "description": "pairs the scorer learnt from"},
            "partition": {"type": "integer", "minimum": -1,
                          "description": "the interaction's input partition (-1: not from Kafka)"},
            "offset": {"type": "integer", "minimum": -1, "description": "its offset there (-1: not from Kafka)"},
            "scorer_model": {"type": "string", "description": "the learned scorer's model the scorer_deltas belong "
                             "to: empty for the shared one, experiment/variant for a variant's own"},
        },
        ["origin", "seq", "event_id", "item_id", "type", "weight", "timestamp"],
    ),
    "follow": _record(
        "Follow",
        "One user starts or stops following another. Topic `follows`, keyed by user_id (the follower); "
        "user_id and followee_id must differ.",
        {
            "event_id": {**_ID, "description": "unique per event; redeliveries are applied once"},
            "user_id": {**_ID, "description": "the follower (the message key)"},
            "followee_id": {**_ID, "description": "the user followed or unfollowed"},
            "action": {"enum": list(FOLLOW_ACTIONS)},
            "timestamp": {**_TIME, "description": "event time: epoch seconds, or an ISO-8601 string with a timezone"},
        },
        ["event_id", "user_id", "followee_id", "action", "timestamp"],
    ),
    "context": _record(
        "Context",
        "A change of a user's context. Topic `context`, keyed by user_id. Keys merge into the user's "
        "context; a null value removes one; a new session_id starts from an empty context.",
        {
            "event_id": {**_ID, "description": "unique per event; redeliveries are applied once"},
            "user_id": _ID,
            "timestamp": {**_TIME, "description": "event time: epoch seconds, or an ISO-8601 string with a timezone"},
            "context": {**_ATTRIBUTES, "minProperties": 1,
                        "description": "session_id, device, location, time_of_day ..."},
        },
        ["event_id", "user_id", "timestamp", "context"],
    ),
    "rule": _record(
        "Rule",
        "A business rule. Topic `rules` (control), keyed by rule_id, compacted; enabled=false or a "
        "tombstone deletes it. boost adds weight to the [0, 1] relevance of matching items; pin puts "
        "item_ids at position.",
        {
            "rule_id": _ID,
            "action": {"enum": list(RULE_ACTIONS)},
            "item_ids": {"type": "array", "items": _ID},
            "match": {**_ATTRIBUTES, "description": "attribute values an item must have (a value or a list)"},
            "weight": {"type": "number", "default": 0.5, "description": "boost added (negative buries)"},
            "position": {"type": "integer", "minimum": 1, "default": 1, "description": "pin position, 1 first"},
            "starts_at": {"oneOf": [*_TIME["oneOf"], {"type": "null"}], "description": "wall clock"},
            "ends_at": {"oneOf": [*_TIME["oneOf"], {"type": "null"}], "description": "wall clock"},
            "context": {**_ATTRIBUTES, "description": "request context values the rule is limited to"},
            "enabled": {"type": "boolean", "default": True},
        },
        ["rule_id", "action"],
    ),
    "recommendation": _record(
        "Recommendation",
        "A fresh ranked list for one user. Topic `recommendations`, keyed by user_id.",
        {
            "user_id": {"type": "string"},
            "event_id": {"type": "string", "description": "the event that triggered it"},
            "generated_at": {"type": "number", "description": "epoch seconds"},
            "model_version": {"type": "string"},
            "items": {"type": "array", "items": _RECOMMENDED_ITEM},
            "latency_ms": {"type": "number", "description": "event arrival to publish, in ms"},
            "variant": {"type": "string", "description": "the experiment variant that ranked it (empty outside one)"},
            "list_id": {"type": "string", "description": "names this list (an answer may carry it)"},
        },
        ["user_id", "event_id", "generated_at", "model_version", "items", "latency_ms"],
    ),
    "dead_letter": _record(
        "DeadLetter",
        "An input that could not be applied. Topic `dead-letters`, keyed like its source.",
        {
            "reason": {"type": "string", "description": "what is wrong and how to fix it"},
            "error": {"type": "string", "description": "the error class"},
            "source_topic": {"type": "string"},
            "partition": {"type": "integer"},
            "offset": {"type": "integer"},
            "key": {"type": ["string", "null"]},
            "value_base64": {"type": "string",
                             "description": "the original bytes (the first of them when truncated)"},
            "value": {"type": ["string", "null"],
                      "description": "the original bytes as text (null when not UTF-8 or truncated)"},
            "failed_at": {"type": "number"},
            "value_bytes": {"type": "integer", "minimum": 0, "description": "the original's size in bytes"},
            "truncated": {"type": "boolean", "description": "the copy was cut to fit the topic; "
                          "source_topic, partition and offset find the original"},
        },
        ["reason", "error", "source_topic", "partition", "offset", "key", "value_base64",
         "value", "failed_at"],
    ),
}  # fmt: skip

SCHEMA_DIR = Path(__file__).with_name("json")


def render(name: str) -> str:
    """The exact text of ``schemas/json/<name>.schema.json``."""
    return json.dumps(SCHEMAS[name], indent=2, sort_keys=False) + "\n"


def export(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema file into ``directory`` and return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SCHEMAS:
        path = directory / f"{name}.schema.json"
        path.write_text(render(name))
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover
    for p in export(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR):
        print(p)
