"""Hostile input: whatever bytes arrive, the decoder and the engine answer with a SchemaError
(dead-lettered by the worker with its reason) or apply the record; nothing else escapes, and a
dead letter always fits its topic."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys.engine import Engine
from recsys.settings import Settings
from schemas import Context, DeadLetter, Follow, Interaction, Item, Rule, SchemaError, User, decode
from schemas.events import MAX_ATTRIBUTES, MAX_DEPTH, MAX_LIST, MAX_REASON, MAX_RULE_ITEMS, MAX_TEXT
from streams.dead_letters import dead_letter
from streams.logs import event_fields
from streams.web import MAX_CONTEXT, MAX_EXCLUDE, BadRequest, parse_recommendation_query

INPUTS = (Interaction, Item, User, Follow, Context, Rule)  # what the worker's agents decode and apply
VALID: dict[Any, dict[str, Any]] = {  # one valid record of each, the fuzzing's starting point
    Interaction: {"event_id": "e", "user_id": "u", "item_id": "i", "type": "rating", "value": 4, "timestamp": 5,
                  "context": {"device": "tv"}},
    Item: {"item_id": "i", "title": "I", "attributes": {"genres": ["a", "b"]}, "published_at": 3, "available": True},
    User: {"user_id": "u", "attributes": {"age": 30}},
    Follow: {"event_id": "f", "user_id": "u", "followee_id": "v", "action": "follow", "timestamp": 5},
    Context: {"event_id": "c", "user_id": "u", "timestamp": 5, "context": {"session_id": "s"}},
    Rule: {"rule_id": "r", "action": "boost", "item_ids": ["i"], "match": {"genres": "a"}, "weight": 0.5,
           "position": 1, "starts_at": 1, "ends_at": 9, "context": {"device": "tv"}},
}  # fmt: skip
IDS = st.sampled_from(["u", "v", "i", "j", "e", "e2", 7])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@st.composite
def near_records(draw: Any, cls: Any) -> bytes:
    """A valid record with some fields changed: kept, another id, a random JSON value, or dropped; at
    times an unknown field more."""
    out: dict[str, Any] = {}
    for name, valid in VALID[cls].items():
        roll = draw(st.integers(0, 9))
        if roll < 6:
            out[name] = valid
        elif roll < 8:
            out[name] = draw(IDS if name.endswith("_id") else json_values)
        elif roll == 8:
            out[name] = draw(json_values)
    if draw(st.integers(0, 19)) == 0:
        out[draw(st.text(max_size=6))] = draw(json_values)
    return json.dumps(out).encode()


ENGINE = Engine(Settings(generators="mf,covisit,popular,two_tower"))


def _decode_and_apply(cls: Any, raw: bytes) -> None:
    try:
        record = decode(cls, raw)
    except SchemaError:
        return
    # a valid record: applying it (and ranking after it, as the worker does) must not raise either
    if isinstance(record, Interaction):
        ENGINE.process(record, position=(0, ENGINE.counters["learnt"]))
    else:
        ENGINE.apply_event(record)
        for user_id in ENGINE.take_affected():
            ENGINE.refresh_user(user_id, "fuzz", 0.0)


@pytest.mark.parametrize("cls", INPUTS, ids=lambda c: c.__name__)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=200))
def test_random_bytes_give_a_schema_error_or_a_record(cls: Any, raw: bytes) -> None:
    _decode_and_apply(cls, raw)


@pytest.mark.parametrize("cls", INPUTS, ids=lambda c: c.__name__)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_json_near_a_record_gives_a_schema_error_or_applies(cls: Any, data: Any) -> None:
    _decode_and_apply(cls, data.draw(near_records(cls) | json_values.map(lambda v: json.dumps(v).encode())))


def _deep_item(nested: bytes) -> bytes:
    return b'{"item_id": "i", "attributes": {"a": ' + nested + b"}}"


@pytest.mark.parametrize(
    ("cls", "raw", "message"),
    [
        (Interaction, b"[" * 100_000 + b"]" * 100_000, "expected a JSON object, got array"),
        (Interaction, b'{"a":' * 5000 + b"1" + b"}" * 5000, "unknown field.s. 'a'"),
        (Item, _deep_item(b"[" * 100_000 + b"]" * 100_000), "nested too deeply"),  # RecursionError in the decoder
        (Item, _deep_item(b'{"a":' * 5000 + b"1" + b"}" * 5000), "nested too deeply"),
        (Interaction, b'{"event_id": ' + b"9" * 5000 + b"}", "'event_id' is out of range"),
        (Interaction, b'{"event_id": "\xff"}', "not UTF-8"),
    ],
    ids=["deep-array", "deep-object", "deep-array-in-attributes", "deep-object-in-attributes", "long-integer",
         "not-utf8"],
)  # fmt: skip
def test_what_the_json_decoder_refuses_is_a_schema_error(cls: Any, raw: bytes, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        decode(cls, raw)


def _item(attributes: Any) -> bytes:
    return json.dumps({"item_id": "i1", "attributes": attributes}).encode()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_item({"a": [[[[[[[[1]]]]]]]]}), f"deeper than {MAX_DEPTH} levels"),
        (_item({"a": list(range(MAX_LIST + 1))}), f"the limit is {MAX_LIST}"),
        (_item({f"k{n}": n for n in range(MAX_ATTRIBUTES + 1)}), f"the limit is {MAX_ATTRIBUTES}"),
        (_item({"a": "x" * (MAX_TEXT + 1)}), f"the limit is {MAX_TEXT}"),
        (_item({"k" * 257: 1}), "longer than 256 characters"),
    ],
    ids=["depth", "list", "keys", "text", "key"],
)
def test_free_form_values_are_bounded(raw: bytes, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        decode(Item, raw)


def test_values_at_the_limits_pass() -> None:
    nested: Any = 1
    for _ in range(MAX_DEPTH - 1):  # the attributes object is the first level
        nested = [nested]
    attributes = {"deep": nested, "list": list(range(MAX_LIST)), "text": "x" * MAX_TEXT}
    attributes |= {f"k{n}": n for n in range(MAX_ATTRIBUTES - len(attributes))}
    assert decode(Item, _item(attributes)).attributes == attributes


def test_a_rule_lists_a_bounded_number_of_items() -> None:
    raw = json.dumps({"rule_id": "r", "action": "boost", "item_ids": [f"i{n}" for n in range(MAX_RULE_ITEMS + 1)]})
    with pytest.raises(SchemaError, match=f"the limit is {MAX_RULE_ITEMS}"):
        decode(Rule, raw.encode())


def test_an_error_quoting_a_huge_value_is_cut() -> None:
    raw = json.dumps({"event_id": "e", "user_id": "u", "item_id": "i", "type": "x" * 100_000, "timestamp": 1})
    with pytest.raises(SchemaError) as caught:
        decode(Interaction, raw.encode())
    assert len(str(caught.value)) <= MAX_REASON and "'type' must be one of" in str(caught.value)


@settings(max_examples=200, deadline=None)
@given(value=st.binary(max_size=30_000) | st.text(max_size=10_000).map(str.encode), key=st.binary(max_size=2000),
       limit=st.integers(8192, 40_000), reason=st.text(max_size=5000))  # fmt: skip
def test_a_dead_letter_always_fits_and_keeps_what_it_can(value: bytes, key: bytes, limit: int, reason: str) -> None:
    raw = dead_letter(value, key=key, topic="t", partition=1, offset=9, error=SchemaError(reason), max_bytes=limit)
    letter = decode(DeadLetter, raw)
    copy = base64.b64decode(letter.value_base64)
    assert len(raw) <= limit
    assert letter.value_bytes == len(value) and value.startswith(copy)
    assert letter.truncated == (copy != value) and (letter.value is None or letter.value.encode() == value)
    assert (letter.source_topic, letter.partition, letter.offset) == ("t", 1, 9)


def test_a_log_line_about_hostile_bytes_is_made_without_parsing_them_deeply() -> None:
    assert event_fields("t", 0, 1, b"[" * 100_000)["event_id"] is None
    assert event_fields("t", 0, 1, b'{"event_id": "e7"}')["event_id"] == "e7"


def test_the_api_bounds_exclude_and_context() -> None:
    ids = ",".join(f"i{n}" for n in range(MAX_EXCLUDE + 1))
    with pytest.raises(BadRequest, match=f"the limit is {MAX_EXCLUDE}"):
        parse_recommendation_query([("exclude", ids)], 10)
    with pytest.raises(BadRequest, match=f"the limit is {MAX_CONTEXT}"):
        parse_recommendation_query([(f"context.k{n}", "v") for n in range(MAX_CONTEXT + 1)], 10)
    with pytest.raises(BadRequest, match="longer than 256"):
        parse_recommendation_query([("context.device", "x" * 300)], 10)
    assert len(parse_recommendation_query([("exclude", ids.rsplit(",", 1)[0])], 10)[1]) == MAX_EXCLUDE
