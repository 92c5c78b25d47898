"""JSON Schema (draft 2020-12) of every record, generated from the records themselves.

The files under ``schemas/json/`` are for producers written in other languages and for schema
registries; regenerate them with ``python -m schemas.jsonschema`` after changing a record (a test
fails when they drift). What a record's ``check`` adds beyond its types is said in
:data:`EXTRA` where JSON Schema can say it.

>>> SCHEMAS["interaction"]["required"]
['event_id', 'user_id', 'item_id', 'type', 'timestamp']
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from schemas.events import (
    Context,
    DeadLetter,
    Follow,
    Interaction,
    Item,
    ItemUpdate,
    Like,
    Recommendation,
    Record,
    Rule,
    User,
)

RECORDS: tuple[type[Record], ...] = (
    Interaction, Item, User, Like, ItemUpdate, Follow, Context, Rule, Recommendation, DeadLetter,
)  # fmt: skip
"""Every record that crosses a topic, in the order of ``schemas/json/``."""

EXTRA: dict[type[Record], dict[str, Any]] = {
    Interaction: {
        "allOf": [{
            "if": {"properties": {"type": {"const": "rating"}}},
            "then": {"required": ["value"], "properties": {"value": {"type": "number"}}},
        }],
    },
    Context: {"properties": {"context": {"minProperties": 1}}},
}  # fmt: skip
"""Rules of a record's ``check`` that JSON Schema can express, merged into its generated schema."""

_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _summary(cls: type) -> str:
    """The docstring up to its Examples, as one paragraph per line."""
    text = (cls.__doc__ or "").split("\n    Examples\n")[0]
    text = text.replace("``", "`")
    return "\n".join(" ".join(part.split()) for part in text.strip().split("\n\n"))


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def schema(cls: type[Record]) -> dict[str, Any]:
    """The JSON Schema of ``cls``: msgspec's, with the draft, the docstring and :data:`EXTRA`."""
    _, components = msgspec.json.schema_components([cls], ref_template="#/$defs/{name}")
    body = components.pop(cls.__name__)
    out: dict[str, Any] = {"$schema": _DRAFT, "title": cls.__name__, "description": _summary(cls)}
    out |= {key: value for key, value in body.items() if key not in ("title", "description")}
    if components:
        out["$defs"] = {name: {**sub, "description": _summary(getattr(sys.modules[Record.__module__], name))}
                        for name, sub in components.items()}  # fmt: skip
    return _merge(out, EXTRA.get(cls, {}))


SCHEMAS: dict[str, dict[str, Any]] = {cls.RECORD.replace(" ", "_"): schema(cls) for cls in RECORDS}
"""Each record's schema by file name (``schemas/json/<name>.schema.json``)."""

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
