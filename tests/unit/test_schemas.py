"""Event contracts: validation with actionable errors, round trips, and the exported JSON Schema."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

import schemas
from schemas import (
    FOLLOW_ACTIONS,
    INTERACTION_TYPES,
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
    SchemaError,
    User,
    decode,
    encode,
)
from schemas.events import SCHEMA_VERSION
from schemas.jsonschema import SCHEMA_DIR, SCHEMAS, render

ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20).filter(str.strip)
times = st.floats(min_value=0, max_value=4e9, allow_nan=False)
scalars = st.one_of(st.text(max_size=10), st.integers(-1000, 1000), st.booleans())
attributes = st.dictionaries(st.text(min_size=1, max_size=8), scalars | st.lists(st.text(max_size=8), max_size=3))


@st.composite
def interactions(draw: Any) -> Interaction:
    kind = draw(st.sampled_from(INTERACTION_TYPES))
    value = draw(st.floats(0, 5, allow_nan=False)) if kind == "rating" else draw(st.none() | st.floats(0, 5))
    return Interaction(draw(ids), draw(ids), draw(ids), kind, draw(times), value, draw(attributes))


items = st.builds(Item, ids, st.text(max_size=20), attributes, st.none() | times, st.booleans())
users = st.builds(User, ids, attributes)


@st.composite
def follows(draw: Any) -> Follow:
    follower = draw(ids)
    followee = draw(ids.filter(lambda other: other != follower))
    return Follow(draw(ids), follower, followee, draw(st.sampled_from(FOLLOW_ACTIONS)), draw(times))


recommended = st.builds(RecommendedItem, ids, st.floats(-10, 10), st.lists(ids, max_size=3).map(tuple),
                        st.lists(st.text(max_size=20), max_size=3).map(tuple),
                        st.dictionaries(st.text(min_size=1, max_size=8), st.floats(-5, 5)))  # fmt: skip
contexts = st.builds(Context, ids, ids, times, attributes.filter(bool))
likes = st.builds(Like, ids, ids, ids, st.floats(0.001, 100), times)


@st.composite
def item_updates(draw: Any) -> ItemUpdate:
    moved = tuple(draw(st.lists(ids, max_size=3)))
    width = draw(st.integers(1, 4))
    deltas = base64.b64encode(draw(st.binary(min_size=4 * width * len(moved), max_size=4 * width * len(moved))))
    names = st.lists(st.text(max_size=8), max_size=3).map(tuple)
    n = draw(st.integers(0, 4))
    rows = base64.b64encode(draw(st.binary(min_size=4 * n, max_size=4 * n))).decode()
    tower = base64.b64encode(draw(st.binary(min_size=8 * n, max_size=8 * n))).decode()
    scorer = draw(st.dictionaries(st.text(min_size=1, max_size=8), st.floats(-1, 1), max_size=3))
    return ItemUpdate(draw(ids), draw(st.integers(1, 10**9)), draw(ids), draw(ids), draw(st.text(max_size=8)),
                      draw(st.floats(-5, 5)), draw(times), draw(st.booleans()), draw(names), draw(names), moved,
                      deltas.decode(), rows, draw(st.integers(0, n)), tower, scorer,
                      draw(st.integers(0, 9)))  # fmt: skip


@st.composite
def rules(draw: Any) -> Rule:
    action = draw(st.sampled_from(["pin", "boost"]))
    item_ids = tuple(draw(st.lists(ids, min_size=1 if action == "pin" else 0, max_size=3)))
    match = draw(attributes.filter(bool) if not item_ids else attributes)
    starts = draw(st.none() | times)
    ends = None if starts is None else draw(st.none() | st.floats(starts + 1, 5e9))
    return Rule(draw(ids), action, item_ids, match, draw(st.floats(-2, 2)), draw(st.integers(1, 50)), starts, ends,
                draw(attributes), draw(st.booleans()))  # fmt: skip


recommendations = st.builds(Recommendation, ids, ids, times, st.text(max_size=10),
                            st.lists(recommended, max_size=5).map(tuple), st.floats(0, 1e4))  # fmt: skip
dead_letters = st.builds(DeadLetter, st.text(max_size=30), st.text(max_size=10), ids, st.integers(0, 100),
                         st.integers(0, 10**9), st.none() | ids, st.text(max_size=10), st.none() | st.text(max_size=10),
                         times)  # fmt: skip

CASES = [
    (Interaction, interactions(), "interaction"),
    (Item, items, "item"),
    (User, users, "user"),
    (Follow, follows(), "follow"),
    (Context, contexts, "context"),
    (Rule, rules(), "rule"),
    (Like, likes, "like"),
    (ItemUpdate, item_updates(), "item_update"),
    (Recommendation, recommendations, "recommendation"),
    (DeadLetter, dead_letters, "dead_letter"),
]


@pytest.mark.parametrize(("cls", "strategy", "schema_name"), CASES, ids=[c[2] for c in CASES])
def test_every_record_round_trips_and_matches_its_json_schema(cls: Any, strategy: Any, schema_name: str) -> None:
    @given(strategy)
    def check(record: Any) -> None:
        raw = encode(record)
        assert decode(cls, raw) == record
        jsonschema.validate(json.loads(raw), SCHEMAS[schema_name])

    check()


def test_exported_schema_files_are_current() -> None:
    for name in SCHEMAS:
        path = SCHEMA_DIR / f"{name}.schema.json"
        assert path.read_text() == render(name), f"{path} is stale: run `python -m schemas.jsonschema`"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{nope", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"user_id": "u", "item_id": "i", "type": "view", "timestamp": 1}', "'event_id' is required"),
        (b'{"event_id": "e", "user_id": "u", "item_id": "i", "type": "love", "timestamp": 1}', "must be one of"),
        (b'{"event_id": "e", "user_id": "u", "item_id": "i", "type": "rating", "timestamp": 1}', "needs a numeric"),
        (b'{"event_id": "e", "user_id": "u", "item_id": "i", "type": "view"}', "'timestamp' is required"),
        (b'{"event_id": "e", "user_id": "u", "item_id": "i", "type": "view", "timestamp": -5}', "must not be negative"),
        (b'{"event_id": "e", "user_id": "", "item_id": "i", "type": "view", "timestamp": 1}', "must not be empty"),
        (b'{"event_id": "e", "user_id": "u", "item_id": "i", "type": "view", "timestamp": 1, "x": 2}', "unknown field"),
        (b'{"event_id": "e", "user_id": "u", "item_id": "i", "type": "view", "timestamp": "2024-01-01"}', "timezone"),
        (b'{"event_id": "e", "user_id": "u", "item_id": "i", "type": "view", "timestamp": "soon"}', "ISO-8601"),
    ],
)
def test_invalid_interactions_say_what_is_wrong(payload: bytes, message: str) -> None:
    with pytest.raises(SchemaError, match=message) as info:
        decode(Interaction, payload)
    # and the exported JSON Schema rejects what the codec rejects, where it can express it
    try:
        data = json.loads(payload.decode())
    except ValueError:
        return
    if message not in ("timezone", "ISO-8601"):  # JSON Schema's date-time format is not asserted by default
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(data, SCHEMAS["interaction"])
    assert str(info.value).startswith("interaction: ")


def test_iso_timestamps_and_integer_ids_are_accepted() -> None:
    ev = Interaction.from_dict(
        {"event_id": 7, "user_id": 42, "item_id": "x", "type": "view", "timestamp": "1970-01-01T00:01:00Z"}
    )
    assert (ev.event_id, ev.user_id, ev.timestamp) == ("7", "42", 60.0)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'{"event_id": "e", "user_id": "u", "followee_id": "u", "action": "follow", "timestamp": 1}',
         "cannot follow themselves"),
        (b'{"event_id": "e", "user_id": "u", "followee_id": "v", "action": "like", "timestamp": 1}',
         "'action' must be one of follow, unfollow"),
        (b'{"event_id": "e", "user_id": "u", "followee_id": "v", "timestamp": 1}', "'action' must be one of"),
        (b'{"event_id": "e", "user_id": "u", "followee_id": "v", "action": "follow"}', "'timestamp' is required"),
        (b'{"event_id": "e", "user_id": "u", "action": "follow", "timestamp": 1}', "'followee_id' is required"),
        (b'{"user_id": "u", "followee_id": "v", "action": "follow", "timestamp": 1}', "'event_id' is required"),
        (b'{"event_id": "e", "user_id": "u", "followee_id": "v", "action": "follow", "timestamp": 1, "x": 2}',
         "unknown field"),
    ],
)  # fmt: skip
def test_invalid_follows_say_what_is_wrong(payload: bytes, message: str) -> None:
    with pytest.raises(SchemaError, match=message) as info:
        decode(Follow, payload)
    assert str(info.value).startswith("follow: ")
    if "themselves" not in message:  # JSON Schema cannot say that two fields differ
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(json.loads(payload), SCHEMAS["follow"])


def test_item_availability_must_be_boolean() -> None:
    with pytest.raises(SchemaError, match="'available' must be true or false"):
        Item.from_dict({"item_id": "a", "available": "no"})


def test_public_surface_is_explicit_and_sorted() -> None:
    assert schemas.__all__ == sorted(schemas.__all__)
    assert all(hasattr(schemas, name) for name in schemas.__all__)


RELEASES = sorted((Path(__file__).parents[1] / "data").glob("events-release-*.jsonl"))
BY_NAME = {cls.RECORD: cls for cls, _, _ in CASES}


@pytest.mark.parametrize("path", RELEASES, ids=[p.stem for p in RELEASES])
def test_what_earlier_releases_wrote_and_accepted_still_decodes_to_the_same_fields(path: Path) -> None:
    """``tests/data/events-release-<version>.jsonl``: raw records a release wrote or accepted, with
    the fields that release decoded them to (written by that release's own codec)."""
    cases = [json.loads(line) for line in path.read_text().splitlines()]
    assert {case["record"] for case in cases} == set(BY_NAME)  # every record is covered
    for case in cases:
        cls = BY_NAME[case["record"]]
        record = decode(cls, case["raw"].encode())
        decoded = json.loads(encode(record))
        assert {name: decoded[name] for name in case["fields"]} == case["fields"], case["raw"]
        assert record.schema_version == SCHEMA_VERSION  # read as this version, added fields at their defaults


def test_a_record_of_a_newer_schema_version_is_refused_with_the_fix() -> None:
    raw = {"event_id": "e", "user_id": "u", "item_id": "i", "type": "view", "timestamp": 1}
    assert decode(Interaction, json.dumps({**raw, "schema_version": SCHEMA_VERSION}).encode()).user_id == "u"
    assert json.loads(encode(Interaction.from_dict(raw)))["schema_version"] == SCHEMA_VERSION
    with pytest.raises(SchemaError, match=f"schema version {SCHEMA_VERSION + 1}.*upgrade the workers"):
        decode(Interaction, json.dumps({**raw, "schema_version": SCHEMA_VERSION + 1}).encode())
    with pytest.raises(SchemaError, match="'schema_version' must be"):
        decode(Interaction, json.dumps({**raw, "schema_version": 0}).encode())


def test_every_record_and_its_json_schema_carry_the_schema_version() -> None:
    for name, schema in SCHEMAS.items():
        assert "schema_version" in schema["properties"] or name == "recommended_item", name
