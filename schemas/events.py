"""Typed event records that cross the topics, each with ``from_dict`` validation.

Every record validates itself when built from a decoded JSON object and raises
:class:`~schemas.errors.SchemaError` with a message that names the field and what
is expected, so a dead letter says exactly how to fix the producer.

Examples
--------
>>> ev = Interaction.from_dict({"event_id": "e1", "user_id": "alice",
...                            "item_id": "matrix", "type": "like", "timestamp": 10})
>>> ev.type, ev.timestamp
('like', 10.0)
>>> Interaction.from_dict({"event_id": "e1", "user_id": "alice", "item_id": "m",
...                        "type": "love", "timestamp": 10})
Traceback (most recent call last):
...
schemas.errors.SchemaError: interaction: field 'type' must be one of view, click, like, \
dislike, rating, purchase, skip (got 'love')
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.errors import SchemaError

INTERACTION_TYPES: tuple[str, ...] = (
    "view",
    "click",
    "like",
    "dislike",
    "rating",
    "purchase",
    "skip",
)
"""Every value the ``type`` field of an interaction may take."""

FOLLOW_ACTIONS: tuple[str, ...] = ("follow", "unfollow")
"""Every value the ``action`` field of a follow event may take."""

MAX_ID_LENGTH = 256
"""The longest id (``event_id``, ``user_id``, ``item_id``, ``rule_id``...), in characters."""
MAX_ATTRIBUTES = 256
"""The most keys in one object of free-form values (``attributes``, ``context``, a rule's ``match``)."""
MAX_DEPTH = 8
"""How deep free-form values may nest (lists and objects inside an attribute's value)."""
MAX_LIST = 1000
"""The most elements of a list inside free-form values."""
MAX_TEXT = 65536
"""The longest string inside free-form values, in characters."""
MAX_RULE_ITEMS = 10000
"""The most ``item_ids`` of one rule."""
MAX_REASON = 1000
"""A validation error is cut to this many characters (it may quote an oversized value)."""


def _fail(record: str, message: str) -> SchemaError:
    text = f"{record}: {message}"
    if len(text) > MAX_REASON:
        text = text[: MAX_REASON - 30] + f"... ({len(text)} characters)"
    return SchemaError(text)


def _free_form(record: str, name: str, value: Any, depth: int = 1) -> None:
    """Bound a free-form value: nesting, list lengths, object sizes and string lengths (see the MAX_*)."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise _fail(record, f"a string in {name!r} has {len(value)} characters; the limit is {MAX_TEXT}")
        return
    if not isinstance(value, (list, dict)):
        return
    if depth > MAX_DEPTH:
        raise _fail(record, f"field {name!r} nests lists or objects deeper than {MAX_DEPTH} levels")
    if isinstance(value, list):
        if len(value) > MAX_LIST:
            raise _fail(record, f"a list in {name!r} has {len(value)} elements; the limit is {MAX_LIST}")
        for element in value:
            _free_form(record, name, element, depth + 1)
        return
    if len(value) > MAX_ATTRIBUTES:
        raise _fail(record, f"an object in {name!r} has {len(value)} keys; the limit is {MAX_ATTRIBUTES}")
    for key, element in value.items():
        if len(key) > MAX_ID_LENGTH:
            raise _fail(record, f"a key in {name!r} is longer than {MAX_ID_LENGTH} characters")
        _free_form(record, name, element, depth + 1)


def _require_object(record: str, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _fail(record, f"expected a JSON object, got {type(data).__name__}")
    return data


def _unknown_fields(record: str, data: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise _fail(
            record,
            f"unknown field(s) {', '.join(map(repr, extra))}; allowed: {', '.join(sorted(allowed))}",
        )


def _id(record: str, data: dict[str, Any], name: str) -> str:
    if name not in data or data[name] is None:
        raise _fail(record, f"field {name!r} is required")
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _fail(record, f"field {name!r} must be a string (got {type(value).__name__})")
    text = str(value)
    if not text.strip():
        raise _fail(record, f"field {name!r} must not be empty")
    if len(text) > MAX_ID_LENGTH:
        raise _fail(record, f"field {name!r} is longer than {MAX_ID_LENGTH} characters")
    return text


def _number(record: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(record, f"field {name!r} must be a number (got {value!r})")
    number = float(value)
    if not math.isfinite(number):
        raise _fail(record, f"field {name!r} must be finite (got {value!r})")
    return number


def _timestamp(record: str, name: str, value: Any) -> float:
    """Event time as epoch seconds: a number, or an ISO-8601 string with a timezone."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _fail(
                record,
                f"field {name!r} must be epoch seconds or ISO-8601 such as '2024-01-31T12:00:00Z' (got {value!r})",
            ) from None
        if parsed.tzinfo is None:
            raise _fail(record, f"field {name!r} needs a timezone, e.g. a trailing 'Z' (got {value!r})")
        return parsed.timestamp()
    number = _number(record, name, value)
    if number < 0:
        raise _fail(record, f"field {name!r} must not be negative (got {value!r})")
    return number


def _optional_timestamp(record: str, data: dict[str, Any], name: str) -> float | None:
    value = data.get(name)
    return None if value is None else _timestamp(record, name, value)


def _count(record: str, name: str, value: Any) -> int:
    """A whole number, 0 or more (a JSON 3.0 counts as 3)."""
    number = _number(record, name, value)
    if number < 0 or not number.is_integer():
        raise _fail(record, f"field {name!r} must be a whole number, 0 or more (got {value!r})")
    return int(number)


def _optional_text(record: str, data: dict[str, Any], name: str) -> str:
    """An optional short string ('' when absent or null)."""
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _fail(record, f"field {name!r} must be a string (got {type(value).__name__})")
    if len(value) > MAX_ID_LENGTH:
        raise _fail(record, f"field {name!r} is longer than {MAX_ID_LENGTH} characters")
    return value


def _attributes(record: str, data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(record, f"field {name!r} must be a JSON object (got {type(value).__name__})")
    _free_form(record, name, value)
    return dict(value)


@dataclass(frozen=True, slots=True)
class Interaction:
    """What one user did to one item; topic ``interactions``, keyed by ``user_id``."""

    event_id: str
    user_id: str
    item_id: str
    type: str
    timestamp: float
    value: float | None = None
    context: dict[str, Any] = field(default_factory=dict)
    list_id: str = ""  # the recommendation list it answers, when the application knows it
    position: int = 0  # the item's 1-based position in that list (0: not given)

    RECORD = "interaction"

    @classmethod
    def from_dict(cls, data: Any) -> Interaction:
        name = cls.RECORD
        data = _require_object(name, data)
        _unknown_fields(name, data, {"event_id", "user_id", "item_id", "type", "value", "timestamp", "context",
                                     "list_id", "position"})  # fmt: skip
        kind = data.get("type")
        if kind not in INTERACTION_TYPES:
            raise _fail(
                name,
                f"field 'type' must be one of {', '.join(INTERACTION_TYPES)} (got {kind!r})",
            )
        value = data.get("value")
        rating = None if value is None else _number(name, "value", value)
        if kind == "rating" and rating is None:
            raise _fail(name, "a 'rating' event needs a numeric 'value' (the rating)")
        if "timestamp" not in data or data["timestamp"] is None:
            raise _fail(name, "field 'timestamp' is required (event time, epoch seconds or ISO-8601)")
        return cls(
            event_id=_id(name, data, "event_id"),
            user_id=_id(name, data, "user_id"),
            item_id=_id(name, data, "item_id"),
            type=kind,
            timestamp=_timestamp(name, "timestamp", data["timestamp"]),
            value=rating,
            context=_attributes(name, data, "context"),
            list_id=_optional_text(name, data, "list_id"),
            position=_count(name, "position", data.get("position") or 0),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "event_id": self.event_id,
            "user_id": self.user_id,
            "item_id": self.item_id,
            "type": self.type,
            "timestamp": self.timestamp,
        }
        if self.value is not None:
            out["value"] = self.value
        if self.context:
            out["context"] = self.context
        if self.list_id:
            out["list_id"] = self.list_id
        if self.position:
            out["position"] = self.position
        return out


@dataclass(frozen=True, slots=True)
class Item:
    """A catalogue entry; topic ``items``, keyed by ``item_id``, compacted.

    ``available: false`` (or a tombstone, a null value for the key) removes the item
    from every future recommendation.
    """

    item_id: str
    title: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    published_at: float | None = None
    available: bool = True

    RECORD = "item"

    @classmethod
    def from_dict(cls, data: Any) -> Item:
        name = cls.RECORD
        data = _require_object(name, data)
        _unknown_fields(name, data, {"item_id", "title", "attributes", "published_at", "available"})
        title = data.get("title", "")
        if title is None:
            title = ""
        if not isinstance(title, str):
            raise _fail(name, f"field 'title' must be a string (got {type(title).__name__})")
        available = data.get("available", True)
        if not isinstance(available, bool):
            raise _fail(name, f"field 'available' must be true or false (got {available!r})")
        return cls(
            item_id=_id(name, data, "item_id"),
            title=title,
            attributes=_attributes(name, data, "attributes"),
            published_at=_optional_timestamp(name, data, "published_at"),
            available=available,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"item_id": self.item_id, "available": self.available}
        if self.title:
            out["title"] = self.title
        if self.attributes:
            out["attributes"] = self.attributes
        if self.published_at is not None:
            out["published_at"] = self.published_at
        return out


@dataclass(frozen=True, slots=True)
class User:
    """A user profile; topic ``users``, keyed by ``user_id``, compacted."""

    user_id: str
    attributes: dict[str, Any] = field(default_factory=dict)

    RECORD = "user"

    @classmethod
    def from_dict(cls, data: Any) -> User:
        name = cls.RECORD
        data = _require_object(name, data)
        _unknown_fields(name, data, {"user_id", "attributes"})
        return cls(user_id=_id(name, data, "user_id"), attributes=_attributes(name, data, "attributes"))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"user_id": self.user_id}
        if self.attributes:
            out["attributes"] = self.attributes
        return out


@dataclass(frozen=True, slots=True)
class Follow:
    """One user starts or stops following another; topic ``follows``, keyed by ``user_id`` (the follower).

    Keyed by the follower, the topic is co-partitioned with ``interactions``: who a user
    follows lives in that user's own state.

    Examples
    --------
    >>> Follow.from_dict({"event_id": "f1", "user_id": "alice", "followee_id": "bob",
    ...                   "action": "follow", "timestamp": 3}).followee_id
    'bob'
    >>> Follow.from_dict({"event_id": "f1", "user_id": "alice", "followee_id": "alice",
    ...                   "action": "follow", "timestamp": 3})
    Traceback (most recent call last):
    ...
    schemas.errors.SchemaError: follow: a user cannot follow themselves: 'followee_id' must differ \
from 'user_id' (both 'alice')
    """

    event_id: str
    user_id: str
    followee_id: str
    action: str
    timestamp: float

    RECORD = "follow"

    @classmethod
    def from_dict(cls, data: Any) -> Follow:
        name = cls.RECORD
        data = _require_object(name, data)
        _unknown_fields(name, data, {"event_id", "user_id", "followee_id", "action", "timestamp"})
        action = data.get("action")
        if action not in FOLLOW_ACTIONS:
            raise _fail(name, f"field 'action' must be one of {', '.join(FOLLOW_ACTIONS)} (got {action!r})")
        if "timestamp" not in data or data["timestamp"] is None:
            raise _fail(name, "field 'timestamp' is required (event time, epoch seconds or ISO-8601)")
        follower, followee = _id(name, data, "user_id"), _id(name, data, "followee_id")
        if follower == followee:
            raise _fail(
                name, f"a user cannot follow themselves: 'followee_id' must differ from 'user_id' (both {follower!r})"
            )
        return cls(
            event_id=_id(name, data, "event_id"),
            user_id=follower,
            followee_id=followee,
            action=action,
            timestamp=_timestamp(name, "timestamp", data["timestamp"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "user_id": self.user_id,
            "followee_id": self.followee_id,
            "action": self.action,
            "timestamp": self.timestamp,
        }


@dataclass(frozen=True, slots=True)
class Like:
    """A user's positive interaction, as the workers share it; topic ``recsys-likes`` (batches keyed
    by the writing worker), written by the worker that applied the interaction and read whole by every
    worker, so that a user's followees' likes reach the user whichever worker owns either.

    ``weight`` is the interaction's positive weight (``RECSYS_EVENT_WEIGHTS``); ``event_id`` is
    the interaction's. ``erased`` true says the user was erased (a tombstone on ``users``) on the
    worker that owns them: every worker forgets what it holds of the user (``item_id`` is ``-``).

    Examples
    --------
    >>> Like.from_dict({"event_id": "e1", "user_id": "bob", "item_id": "m1", "weight": 2,
    ...                 "timestamp": 5}).weight
    2.0
    >>> Like.from_dict({"event_id": "e1", "user_id": "bob", "item_id": "m1", "weight": -1,
    ...                 "timestamp": 5})
    Traceback (most recent call last):
    ...
    schemas.errors.SchemaError: like: field 'weight' must be positive (got -1.0): only positive interactions are likes
    """

    event_id: str
    user_id: str
    item_id: str
    weight: float
    timestamp: float
    erased: bool = False

    RECORD = "like"

    @classmethod
    def from_dict(cls, data: Any) -> Like:
        name = cls.RECORD
        data = _require_object(name, data)
        _unknown_fields(name, data, {"event_id", "user_id", "item_id", "weight", "timestamp", "erased"})
        erased = data.get("erased", False)
        if not isinstance(erased, bool):
            raise _fail(name, f"field 'erased' must be true or false (got {erased!r})")
        for required in ("weight", "timestamp"):
            if data.get(required) is None:
                raise _fail(name, f"field {required!r} is required")
        weight = _number(name, "weight", data["weight"])
        if weight <= 0:
            raise _fail(name, f"field 'weight' must be positive (got {weight}): only positive interactions are likes")
        return cls(
            event_id=_id(name, data, "event_id"),
            user_id=_id(name, data, "user_id"),
            item_id=_id(name, data, "item_id"),
            weight=weight,
            timestamp=_timestamp(name, "timestamp", data["timestamp"]),
            erased=erased,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "user_id": self.user_id,
            "item_id": self.item_id,
            "weight": self.weight,
            "timestamp": self.timestamp,
            **({"erased": True} if self.erased else {}),
        }


@dataclass(frozen=True, slots=True)
class ItemUpdate:
    """What one interaction taught the item side, as a worker shares it; topic ``recsys-item-updates``
    (batches keyed by the writing worker), written by the worker that applied the interaction and read
    whole by every worker (``recsys.items.updates`` says what each field feeds).

    ``origin`` names the worker that wrote it and ``seq`` numbers that worker's updates from 1, so a
    worker skips its own updates it already applied. ``mf_deltas`` is base64 of little-endian
    float32 numbers, one row per id of ``mf_items`` (row-major): the change the MF step made to
    that item's vector, its bias last (JSON numbers cost a worker more to write and read than
    the rest of the event's work). The two-tower step is ``tower_rows`` (base64 little-endian
    int32 table rows: the user tower's ``tower_split`` first, then the item tower's) with
    ``tower_deltas`` (float32, one row each: the table's change, the Adagrad accumulator's last);
    the learned scorer's is ``scorer_deltas`` (per feature weight) from ``scorer_pairs`` pairs, to
    the model ``scorer_model`` names (empty: the shared one; else an experiment variant's own,
    ``experiment/variant``).
    ``partition`` and ``offset`` say where the interaction was read (-1 when not from Kafka): after a
    crash, a worker learns again only the redelivered interactions past the last one whose update
    it holds (:meth:`recsys.apply.Applier.learn`).

    Examples
    --------
    >>> import base64, struct
    >>> deltas = base64.b64encode(struct.pack("<2f", 0.5, 0.25)).decode()
    >>> u = ItemUpdate.from_dict({"origin": "w1", "seq": 3, "event_id": "e1", "item_id": "m1", "type": "like",
    ...                           "weight": 1.0, "timestamp": 5, "mf_items": ["m1"], "mf_deltas": deltas})
    >>> struct.unpack("<2f", base64.b64decode(u.mf_deltas)), u.recent
    ((0.5, 0.25), ())
    >>> ItemUpdate.from_dict({**u.to_dict(), "mf_items": ["m1", "m2", "m3"]})
    Traceback (most recent call last):
    ...
    schemas.errors.SchemaError: item_update: 'mf_deltas' must hold one row of float32 per id of 'mf_items' \
(3 ids, 8 bytes)
    """

    origin: str
    seq: int
    event_id: str
    item_id: str
    type: str
    weight: float
    timestamp: float
    engaged_before: bool = False
    recent: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    mf_items: tuple[str, ...] = ()
    mf_deltas: str = ""
    tower_rows: str = ""
    tower_split: int = 0
    tower_deltas: str = ""
    scorer_deltas: dict[str, float] = field(default_factory=dict)
    scorer_pairs: int = 0
    partition: int = -1
    offset: int = -1
    scorer_model: str = ""

    RECORD = "item_update"
    FIELDS = ("origin", "seq", "event_id", "item_id", "type", "weight", "timestamp", "engaged_before", "recent",
              "segments", "mf_items", "mf_deltas", "tower_rows", "tower_split", "tower_deltas", "scorer_deltas",
              "scorer_pairs", "partition", "offset", "scorer_model")  # fmt: skip

    @classmethod
    def from_dict(cls, data: Any) -> ItemUpdate:
        name = cls.RECORD
        data = _require_object(name, data)
        _unknown_fields(name, data, set(cls.FIELDS))
        seq = data.get("seq")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
            raise _fail(name, f"field 'seq' must be an integer from 1 (got {seq!r})")
        for required in ("type", "weight", "timestamp"):
            if data.get(required) is None:
                raise _fail(name, f"field {required!r} is required")

        def strings(field_name: str) -> tuple[str, ...]:
            values = data.get(field_name) or []
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise _fail(name, f"field {field_name!r} must be a list of strings")
            return tuple(values)

        mf_items = strings("mf_items")
        deltas = data.get("mf_deltas") or ""
        if not isinstance(deltas, str):
            raise _fail(name, "field 'mf_deltas' must be a base64 string")
        try:
            size = len(base64.b64decode(deltas, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise _fail(name, f"field 'mf_deltas' is not valid base64 ({exc})") from exc
        if (size == 0) != (not mf_items) or (mf_items and size % (4 * len(mf_items))):
            raise _fail(name, f"'mf_deltas' must hold one row of float32 per id of 'mf_items' ({len(mf_items)} ids, "
                              f"{size} bytes)")  # fmt: skip
        tower_rows, tower_deltas = data.get("tower_rows") or "", data.get("tower_deltas") or ""
        try:
            n_rows = len(base64.b64decode(tower_rows, validate=True)) // 4
            n_deltas = len(base64.b64decode(tower_deltas, validate=True))
        except (binascii.Error, ValueError, TypeError) as exc:
            raise _fail(name, f"fields 'tower_rows' and 'tower_deltas' must be base64 ({exc})") from exc
        split = data.get("tower_split", 0)
        if isinstance(split, bool) or not isinstance(split, int) or not 0 <= split <= n_rows:
            raise _fail(name, f"field 'tower_split' must be an integer from 0 to the number of tower rows ({n_rows})")
        if (n_deltas == 0) != (n_rows == 0) or (n_rows and n_deltas % (4 * n_rows)):
            raise _fail(name, f"'tower_deltas' must hold one row of float32 per tower row ({n_rows} rows, "
                              f"{n_deltas} bytes)")  # fmt: skip
        scorer = data.get("scorer_deltas") or {}
        if not isinstance(scorer, dict):
            raise _fail(name, "field 'scorer_deltas' must be an object of feature -> number")
        pairs = data.get("scorer_pairs", 0)
        if isinstance(pairs, bool) or not isinstance(pairs, int) or pairs < 0:
            raise _fail(name, f"field 'scorer_pairs' must be an integer from 0 (got {pairs!r})")
        scorer_model = data.get("scorer_model") or ""
        if not isinstance(scorer_model, str):
            raise _fail(name, f"field 'scorer_model' must be a string, 'experiment/variant' or empty "
                              f"(got {scorer_model!r})")  # fmt: skip
        position = {key: data.get(key, -1) for key in ("partition", "offset")}
        for key, value in position.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < -1:
                raise _fail(name, f"field {key!r} must be an integer from -1 (got {value!r})")
        return cls(
            origin=_id(name, data, "origin"), seq=seq, event_id=_id(name, data, "event_id"),
            item_id=_id(name, data, "item_id"), type=str(data["type"]),
            weight=_number(name, "weight", data["weight"]), timestamp=_timestamp(name, "timestamp", data["timestamp"]),
            engaged_before=bool(data.get("engaged_before", False)), recent=strings("recent"),
            segments=strings("segments"), mf_items=mf_items, mf_deltas=deltas, tower_rows=tower_rows,
            tower_split=split, tower_deltas=tower_deltas,
            scorer_deltas={str(k): _number(name, "scorer_deltas", v) for k, v in scorer.items()}, scorer_pairs=pairs,
            scorer_model=scorer_model, **position,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.FIELDS}
        for name in ("recent", "segments", "mf_items"):
            out[name] = list(out[name])
        out["scorer_deltas"] = dict(self.scorer_deltas)
        return out


@dataclass(frozen=True, slots=True)
class Context:
    """A change of a user's context; topic ``context``, keyed by ``user_id``.

    ``context`` holds what changed: ``session_id``, ``device``, ``location``, ``time_of_day``
    or any other key the rules match on. Keys merge into the user's current context; a null
    value removes a key, and a new ``session_id`` starts from an empty context.

    Examples
    --------
    >>> Context.from_dict({"event_id": "c1", "user_id": "alice", "timestamp": 5,
    ...                    "context": {"device": "tv", "session_id": "s9"}}).context["device"]
    'tv'
    >>> Context.from_dict({"event_id": "c1", "user_id": "alice", "timestamp": 5, "context": {}})
    Traceback (most recent call last):
    ...
    schemas.errors.SchemaError: context: field 'context' must name at least one key, such as \
{"device": "tv"} or {"session_id": "s1"}
    """

    event_id: str
    user_id: str
    timestamp: float
    context: dict[str, Any] = field(default_factory=dict)

    RECORD = "context"

    @classmethod
    def from_dict(cls, data: Any) -> Context:
        name = cls.RECORD
        data = _require_object(name, data)
        _unknown_fields(name, data, {"event_id", "user_id", "timestamp", "context"})
        if "timestamp" not in data or data["timestamp"] is None:
            raise _fail(name, "field 'timestamp' is required (event time, epoch seconds or ISO-8601)")
        context = _attributes(name, data, "context")
        if not context:
            raise _fail(
                name, 'field \'context\' must name at least one key, such as {"device": "tv"} or {"session_id": "s1"}'
            )
        return cls(
            event_id=_id(name, data, "event_id"),
            user_id=_id(name, data, "user_id"),
            timestamp=_timestamp(name, "timestamp", data["timestamp"]),
            context=context,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "user_id": self.user_id, "timestamp": self.timestamp,
                "context": self.context}  # fmt: skip


RULE_ACTIONS: tuple[str, ...] = ("pin", "boost")
"""Every value the ``action`` field of a business rule may take."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A business rule; topic ``rules`` (the control topic), keyed by ``rule_id``, compacted.

    ``boost`` adds ``weight`` (negative buries) to the relevance, in [0, 1], of every item
    listed in ``item_ids`` or whose attributes match every key of ``match`` (a value, or one
    of a list, equals or is among the item's). ``pin`` puts the ``item_ids`` at ``position``
    (1 = first). A rule applies between ``starts_at`` and ``ends_at`` (wall clock; open when
    absent) and, with ``context``, only to requests whose context has those values.
    ``enabled: false`` or a tombstone (null value) deletes it.

    Examples
    --------
    >>> Rule.from_dict({"rule_id": "sale", "action": "boost", "match": {"genres": "Comedy"},
    ...                 "weight": 0.3}).weight
    0.3
    >>> Rule.from_dict({"rule_id": "r", "action": "pin", "match": {"genres": "Comedy"}})
    Traceback (most recent call last):
    ...
    schemas.errors.SchemaError: rule: a 'pin' rule needs 'item_ids' (the items to pin, in order)
    """

    rule_id: str
    action: str
    item_ids: tuple[str, ...] = ()
    match: dict[str, Any] = field(default_factory=dict)
    weight: float = 0.5
    position: int = 1
    starts_at: float | None = None
    ends_at: float | None = None
    context: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True

    RECORD = "rule"

    @classmethod
    def from_dict(cls, data: Any) -> Rule:
        name = cls.RECORD
        data = _require_object(name, data)
        allowed = {"rule_id", "action", "item_ids", "match", "weight", "position", "starts_at", "ends_at",
                   "context", "enabled"}  # fmt: skip
        _unknown_fields(name, data, allowed)
        action = data.get("action")
        if action not in RULE_ACTIONS:
            raise _fail(name, f"field 'action' must be one of {', '.join(RULE_ACTIONS)} (got {action!r})")
        raw_items = data.get("item_ids") or []
        if not isinstance(raw_items, list) or not all(isinstance(i, (str, int)) and not isinstance(i, bool)
                                                      for i in raw_items):  # fmt: skip
            raise _fail(name, "field 'item_ids' must be a list of item ids")
        if len(raw_items) > MAX_RULE_ITEMS:
            raise _fail(name, f"field 'item_ids' lists {len(raw_items)} items; the limit is {MAX_RULE_ITEMS}")
        for item_id in raw_items:
            if len(str(item_id)) > MAX_ID_LENGTH:
                raise _fail(name, f"an item id in 'item_ids' is longer than {MAX_ID_LENGTH} characters")
        match = _attributes(name, data, "match")
        if action == "pin" and not raw_items:
            raise _fail(name, "a 'pin' rule needs 'item_ids' (the items to pin, in order)")
        if action == "boost" and not raw_items and not match:
            raise _fail(name, "a 'boost' rule needs 'item_ids' or 'match' (attribute values), or it boosts nothing")
        weight = _number(name, "weight", data.get("weight", 0.5))
        position = data.get("position", 1)
        if isinstance(position, bool) or not isinstance(position, int) or position < 1:
            raise _fail(name, f"field 'position' must be a whole number from 1 (got {position!r})")
        enabled = data.get("enabled", True)
        if not isinstance(enabled, bool):
            raise _fail(name, f"field 'enabled' must be true or false (got {enabled!r})")
        starts, ends = _optional_timestamp(name, data, "starts_at"), _optional_timestamp(name, data, "ends_at")
        if starts is not None and ends is not None and ends <= starts:
            raise _fail(name, f"'ends_at' ({ends}) must come after 'starts_at' ({starts})")
        return cls(
            rule_id=_id(name, data, "rule_id"),
            action=action,
            item_ids=tuple(str(i) for i in raw_items),
            match=match,
            weight=weight,
            position=position,
            starts_at=starts,
            ends_at=ends,
            context=_attributes(name, data, "context"),
            enabled=enabled,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule_id": self.rule_id, "action": self.action, "weight": self.weight,
                               "position": self.position, "enabled": self.enabled}  # fmt: skip
        if self.item_ids:
            out["item_ids"] = list(self.item_ids)
        for key in ("match", "context"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        for key in ("starts_at", "ends_at"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True, slots=True)
class RecommendedItem:
    """One entry of a recommendation list, with why it is there.

    ``sources`` are the generators that nominated it, ``components`` what the main signals
    added to its score, and ``reasons`` human-readable explanations ("because you liked
    matrix", "trending in Comedy", "new") and the rules that moved it.
    """

    item_id: str
    score: float
    sources: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    components: dict[str, float] = field(default_factory=dict)
    position: int = 0  # 1-based place in the list (0: not given)

    RECORD = "recommended item"

    @classmethod
    def from_dict(cls, data: Any) -> RecommendedItem:
        name = cls.RECORD
        data = _require_object(name, data)
        _unknown_fields(name, data, {"item_id", "score", "sources", "reasons", "components", "position"})
        lists = {}
        for key in ("sources", "reasons"):
            value = data.get(key) or []
            if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
                raise _fail(name, f"field {key!r} must be a list of strings")
            lists[key] = tuple(value)
        components = _attributes(name, data, "components")
        return cls(
            item_id=_id(name, data, "item_id"),
            score=_number(name, "score", data.get("score")),
            sources=lists["sources"],
            reasons=lists["reasons"],
            components={str(k): _number(name, f"components.{k}", v) for k, v in components.items()},
            position=_count(name, "position", data.get("position", 0)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "score": self.score,
            "sources": list(self.sources),
            "reasons": list(self.reasons),
            "components": dict(self.components),
            "position": self.position,
        }


@dataclass(frozen=True, slots=True)
class Recommendation:
    """A fresh ranked list for a user; topic ``recommendations``, keyed by ``user_id``."""

    user_id: str
    event_id: str
    generated_at: float
    model_version: str
    items: tuple[RecommendedItem, ...]
    latency_ms: float
    variant: str = ""  # the experiment variant that ranked it ("" outside an experiment)
    list_id: str = ""  # names this list, for interactions that answer it

    RECORD = "recommendation"

    @classmethod
    def from_dict(cls, data: Any) -> Recommendation:
        name = cls.RECORD
        data = _require_object(name, data)
        _unknown_fields(
            name,
            data,
            {"user_id", "event_id", "generated_at", "model_version", "items", "latency_ms", "variant", "list_id"},
        )
        items = data.get("items")
        if not isinstance(items, list):
            raise _fail(name, "field 'items' must be a list of {item_id, score, sources}")
        version = data.get("model_version")
        if not isinstance(version, str):
            raise _fail(name, "field 'model_version' must be a string")
        return cls(
            user_id=_id(name, data, "user_id"),
            event_id=_id(name, data, "event_id"),
            generated_at=_timestamp(name, "generated_at", data.get("generated_at")),
            model_version=version,
            items=tuple(RecommendedItem.from_dict(i) for i in items),
            latency_ms=_number(name, "latency_ms", data.get("latency_ms")),
            variant=_optional_text(name, data, "variant"),
            list_id=_optional_text(name, data, "list_id"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "event_id": self.event_id,
            "generated_at": self.generated_at,
            "model_version": self.model_version,
            "items": [i.to_dict() for i in self.items],
            "latency_ms": self.latency_ms,
            "variant": self.variant,
            "list_id": self.list_id,
        }


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An input that could not be applied, with where it came from and why.

    ``value_base64`` holds the original bytes exactly, so the event can be fixed and
    replayed; ``value`` repeats them as text when they are valid UTF-8. A letter always fits
    its topic: when the original does not, ``truncated`` is true, ``value_base64`` holds its
    first bytes, ``value`` is null, and ``source_topic``, ``partition`` and ``offset`` find the
    whole of it. ``value_bytes`` is the original's size.
    """

    reason: str
    error: str
    source_topic: str
    partition: int
    offset: int
    key: str | None
    value_base64: str
    value: str | None
    failed_at: float
    value_bytes: int = 0
    truncated: bool = False

    RECORD = "dead letter"

    @classmethod
    def from_dict(cls, data: Any) -> DeadLetter:
        name = cls.RECORD
        data = _require_object(name, data)
        fields = {
            "reason", "error", "source_topic", "partition", "offset", "key",
            "value_base64", "value", "failed_at", "value_bytes", "truncated",
        }  # fmt: skip
        _unknown_fields(name, data, fields)
        for text in ("reason", "error", "source_topic", "value_base64"):
            if not isinstance(data.get(text), str):
                raise _fail(name, f"field {text!r} must be a string")
        for whole in ("partition", "offset"):
            if isinstance(data.get(whole), bool) or not isinstance(data.get(whole), int):
                raise _fail(name, f"field {whole!r} must be an integer")
        for optional in ("key", "value"):
            if data.get(optional) is not None and not isinstance(data[optional], str):
                raise _fail(name, f"field {optional!r} must be a string or null")
        size, truncated = data.get("value_bytes", 0), data.get("truncated", False)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise _fail(name, "field 'value_bytes' must be a whole number from 0")
        if not isinstance(truncated, bool):
            raise _fail(name, "field 'truncated' must be true or false")
        return cls(
            reason=data["reason"],
            error=data["error"],
            source_topic=data["source_topic"],
            partition=data["partition"],
            offset=data["offset"],
            key=data.get("key"),
            value_base64=data["value_base64"],
            value=data.get("value"),
            failed_at=_timestamp(name, "failed_at", data.get("failed_at")),
            value_bytes=size,
            truncated=truncated,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "error": self.error,
            "source_topic": self.source_topic,
            "partition": self.partition,
            "offset": self.offset,
            "key": self.key,
            "value_base64": self.value_base64,
            "value": self.value,
            "failed_at": self.failed_at,
            "value_bytes": self.value_bytes,
            "truncated": self.truncated,
        }
