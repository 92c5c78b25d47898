"""Typed event records that cross the topics: one definition per record gives its decoder, its
validation and its JSON Schema.

Every record is a frozen :class:`msgspec.Struct`. :mod:`schemas.codec` decodes JSON straight into
it, checking types, required and unknown fields, lengths and ranges in one pass in C;
``__post_init__`` does what JSON types cannot say (an ISO time's timezone, a rating's value, a
rule's items) and normalises (an integer id is read as its text, a null optional as empty).
Errors are :class:`~schemas.errors.SchemaError` messages that name the field and what it expects,
so a dead letter says how to fix the producer; :mod:`schemas.jsonschema` exports the schemas.

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

Schema versions
---------------
Every record carries ``schema_version``, the contract its writer followed (:data:`SCHEMA_VERSION`
when written by this release). The rules for changing a contract:

- A new field is optional, with a default that means what the records without it meant; adding
  one raises :data:`SCHEMA_VERSION` by one. A field is never removed, renamed or given another
  type or meaning; one no longer used is still accepted.
- A reader decodes every version up to its own. A record without ``schema_version`` was written
  by release 0.1.0 (version 1); it reads as it always did, as a record of this version whose
  added fields hold their defaults. A record of a newer version is refused (dead-lettered),
  naming both versions: upgrade the workers before the producers that send it.
- ``tests/data/events-release-*.jsonl`` keeps what each release wrote and accepted; a test
  decodes them all.
"""

from __future__ import annotations

import base64
import binascii
import functools
import typing
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Self

import msgspec
from msgspec import Meta
from msgspec.structs import force_setattr

from schemas.errors import SchemaError

INTERACTION_TYPES: tuple[str, ...] = ("view", "click", "like", "dislike", "rating", "purchase", "skip")
"""Every value the ``type`` field of an interaction may take."""
FOLLOW_ACTIONS: tuple[str, ...] = ("follow", "unfollow")
"""Every value the ``action`` field of a follow event may take."""
RULE_ACTIONS: tuple[str, ...] = ("pin", "boost")
"""Every value the ``action`` field of a business rule may take."""

SCHEMA_VERSION = 2
"""The contract version this release writes (1: release 0.1.0, before ``schema_version`` existed)."""

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

# The wire types msgspec checks; after __post_init__ a record holds the types mypy is told of.
if TYPE_CHECKING:
    Id = str
    Time = float
    OptionalTime = float | None
    Text = str
    Title = str
    Count = int
    Attributes = dict[str, Any]
    InteractionType = str
    FollowAction = str
    RuleAction = str
else:
    Id = Annotated[str, Meta(min_length=1, max_length=MAX_ID_LENGTH)] | int
    """An id: a non-empty string, or an integer read as its text."""
    Time = Annotated[float, Meta(ge=0)] | Annotated[str, Meta(extra_json_schema={"format": "date-time"})]
    """Epoch seconds, or an ISO-8601 string with a timezone; read as epoch seconds."""
    OptionalTime = Time | None
    Text = Annotated[str, Meta(max_length=MAX_ID_LENGTH)] | None
    """Optional short text; null reads as ''."""
    Title = Annotated[str, Meta(max_length=MAX_TEXT)] | None
    """Optional text (an item's title); null reads as ''."""
    Count = Annotated[int, Meta(ge=0)] | Annotated[float, Meta(ge=0)] | None
    """A whole number, 0 or more (3.0 reads as 3, null as 0)."""
    Attributes = Annotated[dict[str, Any], Meta(max_length=MAX_ATTRIBUTES)] | None
    """Free-form values, bounded by the MAX_*; null reads as {}."""
    InteractionType = Literal["view", "click", "like", "dislike", "rating", "purchase", "skip"]
    FollowAction = Literal["follow", "unfollow"]
    RuleAction = Literal["pin", "boost"]

Version = Annotated[int, Meta(ge=1, description="the contract version its writer followed (absent: written by "
                                                "release 0.1.0, read as this version, which only added fields)")]
Base64 = Annotated[str, Meta(extra_json_schema={"contentEncoding": "base64"})]
TIME_DOC = "event time: epoch seconds, or an ISO-8601 string with a timezone"
EVENT_ID_DOC = "unique per event; redeliveries are applied once"


def fail(record: str, message: str) -> SchemaError:
    """A :class:`SchemaError` for ``record``, cut to :data:`MAX_REASON` characters."""
    text = f"{record}: {message}"
    if len(text) > MAX_REASON:
        text = text[: MAX_REASON - 30] + f"... ({len(text)} characters)"
    return SchemaError(text)


def _free_form(record: str, name: str, value: Any, depth: int = 1) -> None:
    """Bound a free-form value: nesting, list lengths, object sizes and string lengths (see the MAX_*)."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise fail(record, f"a string in {name!r} has {len(value)} characters; the limit is {MAX_TEXT}")
        return
    if not isinstance(value, (list, dict)):
        return
    if depth > MAX_DEPTH:
        raise fail(record, f"field {name!r} nests lists or objects deeper than {MAX_DEPTH} levels")
    if isinstance(value, list):
        if len(value) > MAX_LIST:
            raise fail(record, f"a list in {name!r} has {len(value)} elements; the limit is {MAX_LIST}")
        for element in value:
            _free_form(record, name, element, depth + 1)
        return
    if len(value) > MAX_ATTRIBUTES:
        raise fail(record, f"an object in {name!r} has {len(value)} keys; the limit is {MAX_ATTRIBUTES}")
    for key, element in value.items():
        if len(key) > MAX_ID_LENGTH:
            raise fail(record, f"a key in {name!r} is longer than {MAX_ID_LENGTH} characters")
        _free_form(record, name, element, depth + 1)


def _epoch(record: str, name: str, value: str) -> float:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise fail(
            record, f"field {name!r} must be epoch seconds or ISO-8601 such as '2024-01-31T12:00:00Z' (got {value!r})"
        ) from None
    if parsed.tzinfo is None:
        raise fail(record, f"field {name!r} needs a timezone, e.g. a trailing 'Z' (got {value!r})")
    return parsed.timestamp()


def _normalise_id(record: Record, name: str, value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        force_setattr(record, name, str(value))
    elif isinstance(value, str) and not value.strip():
        raise fail(record.RECORD, f"field {name!r} must not be empty")


def _normalise_time(record: Record, name: str, value: Any) -> None:
    if isinstance(value, str):
        force_setattr(record, name, _epoch(record.RECORD, name, value))
    elif isinstance(value, int):
        force_setattr(record, name, float(value))


def _normalise_count(record: Record, name: str, value: Any) -> None:
    if value is None:
        force_setattr(record, name, 0)
    elif isinstance(value, float):
        if not value.is_integer():
            raise fail(record.RECORD, f"field {name!r} must be a whole number, 0 or more (got {value!r})")
        force_setattr(record, name, int(value))


def _normalise_attributes(record: Record, name: str, value: Any) -> None:
    if value is None:
        force_setattr(record, name, {})
    elif value:
        _free_form(record.RECORD, name, value)


def _normalise_text(record: Record, name: str, value: Any) -> None:
    if value is None:
        force_setattr(record, name, "")


_NORMALISE = {
    Id: _normalise_id,
    Time: _normalise_time,
    OptionalTime: _normalise_time,
    Count: _normalise_count,
    Attributes: _normalise_attributes,
    Text: _normalise_text,
    Title: _normalise_text,
}


@functools.cache
def _plan(cls: type[Record]) -> tuple[tuple[str, Any], ...]:
    """The fields of ``cls`` that need normalising after decoding, with how."""
    plan = []
    for field in msgspec.structs.fields(cls):
        kind = field.type
        if typing.get_origin(kind) is Annotated:
            kind = kind.__origin__
        for wire, normalise in _NORMALISE.items():
            if kind == wire:
                plan.append((field.name, normalise))
                break
    return tuple(plan)


class Record(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What every record shares: validation after decoding, ``from_dict`` and ``to_dict``."""

    RECORD: ClassVar[str] = "record"
    """The record's name in errors and in ``schemas/json/<name>.schema.json`` (spaces as _)."""

    def __post_init__(self) -> None:
        for name, normalise in _plan(type(self)):
            normalise(self, name, getattr(self, name))
        version = getattr(self, "schema_version", SCHEMA_VERSION)
        if version > SCHEMA_VERSION:
            raise fail(self.RECORD, f"written for schema version {version}; this release reads up to "
                                    f"{SCHEMA_VERSION}: upgrade the workers before the producers")  # fmt: skip
        self.check()

    def check(self) -> None:
        """What the types cannot say; raise :class:`SchemaError` (``fail``) when it does not hold."""

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        """The record ``data`` (decoded JSON) holds; :class:`SchemaError` when it is not one."""
        from schemas.codec import explain

        try:
            return msgspec.convert(data, cls)
        except (msgspec.ValidationError, RecursionError) as exc:
            raise explain(cls, exc) from None

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-able builtins (what :func:`schemas.codec.encode` writes)."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        return out


class Interaction(Record, frozen=True):
    """What one user did to one item; topic ``interactions``, keyed by ``user_id``."""

    event_id: Annotated[Id, Meta(description=EVENT_ID_DOC)]
    user_id: Id
    item_id: Id
    type: InteractionType
    timestamp: Annotated[Time, Meta(description=TIME_DOC)]
    value: Annotated[float | None, Meta(description="the rating; required for type rating")] = None
    context: Annotated[Attributes, Meta(description="session, device, locale and the like")] = {}
    list_id: Annotated[Text, Meta(description="the recommendation list it answers (optional)")] = ""
    position: Annotated[Count, Meta(description="the item's 1-based position in that list (optional)")] = 0
    schema_version: Version = SCHEMA_VERSION

    RECORD: ClassVar[str] = "interaction"

    def check(self) -> None:
        if self.type == "rating" and self.value is None:
            raise fail(self.RECORD, "a 'rating' event needs a numeric 'value' (the rating)")


class Item(Record, frozen=True):
    """A catalogue entry; topic ``items``, keyed by ``item_id``, compacted.

    ``available: false`` (or a tombstone, a null value for the key) removes the item
    from every future recommendation.
    """

    item_id: Id
    title: Title = ""
    attributes: Annotated[Attributes, Meta(description="genres, tags, creator, year ...")] = {}
    published_at: Annotated[OptionalTime, Meta(description="when it was published (for freshness)")] = None
    available: bool = True
    schema_version: Version = SCHEMA_VERSION

    RECORD: ClassVar[str] = "item"


class User(Record, frozen=True):
    """A user profile; topic ``users``, keyed by ``user_id``, compacted."""

    user_id: Id
    attributes: Annotated[Attributes, Meta(description="age, country, genres ...")] = {}
    schema_version: Version = SCHEMA_VERSION

    RECORD: ClassVar[str] = "user"


class Follow(Record, frozen=True):
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

    event_id: Annotated[Id, Meta(description=EVENT_ID_DOC)]
    user_id: Annotated[Id, Meta(description="the follower (the message key)")]
    followee_id: Annotated[Id, Meta(description="the user followed or unfollowed")]
    action: FollowAction
    timestamp: Annotated[Time, Meta(description=TIME_DOC)]
    schema_version: Version = SCHEMA_VERSION

    RECORD: ClassVar[str] = "follow"

    def check(self) -> None:
        if self.user_id == self.followee_id:
            raise fail(self.RECORD, "a user cannot follow themselves: 'followee_id' must differ from 'user_id' "
                                    f"(both {self.user_id!r})")  # fmt: skip


class Like(Record, frozen=True):
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
    schemas.errors.SchemaError: like: field 'weight' must be positive
    """

    event_id: Annotated[Id, Meta(description="the interaction's event_id")]
    user_id: Annotated[Id, Meta(description="who liked it")]
    item_id: Id
    weight: Annotated[float, Meta(gt=0, description="the interaction's positive weight")]
    timestamp: Time
    erased: Annotated[bool, Meta(description="the user was erased: every worker forgets them; item_id is '-'")] = (
        False
    )
    schema_version: Version = SCHEMA_VERSION

    RECORD: ClassVar[str] = "like"


def _base64_size(record: str, name: str, value: str) -> int:
    try:
        return len(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise fail(record, f"field {name!r} is not valid base64 ({exc})") from None


class ItemUpdate(Record, frozen=True):
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

    origin: Annotated[Id, Meta(description="the worker that wrote it")]
    seq: Annotated[int, Meta(ge=1, description="the origin's update number, from 1")]
    event_id: Annotated[Id, Meta(description="the interaction's event_id")]
    item_id: Id
    type: Annotated[str, Meta(description="the interaction's type")]
    weight: Annotated[float, Meta(description="the interaction's signed weight")]
    timestamp: Time
    engaged_before: Annotated[bool, Meta(description="the user had engaged with the item before")] = False
    recent: Annotated[tuple[str, ...], Meta(description="the user's recent positives")] = ()
    segments: Annotated[tuple[str, ...], Meta(description="trending segments")] = ()
    mf_items: Annotated[tuple[str, ...], Meta(description="items the MF step moved")] = ()
    mf_deltas: Annotated[Base64, Meta(description="little-endian float32, one row per item of mf_items: the "
                                                  "change to its vector, bias last")] = ""  # fmt: skip
    tower_rows: Annotated[Base64, Meta(description="little-endian int32 two-tower table rows: the user tower's, "
                                                   "then the item tower's")] = ""  # fmt: skip
    tower_split: Annotated[int, Meta(ge=0, description="how many tower_rows are the user tower's")] = 0
    tower_deltas: Annotated[Base64, Meta(description="little-endian float32, one row per tower row: table "
                                                     "change, accumulator")] = ""  # fmt: skip
    scorer_deltas: Annotated[dict[str, float], Meta(description="the learned scorer's weight changes, per "
                                                                "feature")] = {}  # fmt: skip
    scorer_pairs: Annotated[int, Meta(ge=0, description="pairs the scorer learnt from")] = 0
    partition: Annotated[int, Meta(ge=-1, description="the interaction's input partition (-1: not from Kafka)")] = -1
    offset: Annotated[int, Meta(ge=-1, description="its offset there (-1: not from Kafka)")] = -1
    scorer_model: Annotated[str, Meta(description="the learned scorer's model the scorer_deltas belong to: empty "
                                                  "for the shared one, experiment/variant for a variant's own")] = ""
    schema_version: Version = SCHEMA_VERSION

    RECORD: ClassVar[str] = "item_update"

    def check(self) -> None:
        name = self.RECORD
        size = _base64_size(name, "mf_deltas", self.mf_deltas)
        if (size == 0) != (not self.mf_items) or (self.mf_items and size % (4 * len(self.mf_items))):
            raise fail(name, f"'mf_deltas' must hold one row of float32 per id of 'mf_items' "
                             f"({len(self.mf_items)} ids, {size} bytes)")  # fmt: skip
        n_rows = _base64_size(name, "tower_rows", self.tower_rows) // 4
        n_deltas = _base64_size(name, "tower_deltas", self.tower_deltas)
        if self.tower_split > n_rows:
            raise fail(name, f"field 'tower_split' must be an integer from 0 to the number of tower rows ({n_rows})")
        if (n_deltas == 0) != (n_rows == 0) or (n_rows and n_deltas % (4 * n_rows)):
            raise fail(name, f"'tower_deltas' must hold one row of float32 per tower row ({n_rows} rows, "
                             f"{n_deltas} bytes)")  # fmt: skip


class Context(Record, frozen=True):
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

    event_id: Annotated[Id, Meta(description=EVENT_ID_DOC)]
    user_id: Id
    timestamp: Annotated[Time, Meta(description=TIME_DOC)]
    context: Annotated[Attributes, Meta(description="session_id, device, location, time_of_day ...")] = {}
    schema_version: Version = SCHEMA_VERSION

    RECORD: ClassVar[str] = "context"

    def check(self) -> None:
        if not self.context:
            raise fail(self.RECORD, 'field \'context\' must name at least one key, such as {"device": "tv"} or '
                                    '{"session_id": "s1"}')  # fmt: skip


class Rule(Record, frozen=True):
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

    rule_id: Id
    action: RuleAction
    item_ids: Annotated[tuple[Id, ...], Meta(max_length=MAX_RULE_ITEMS, description="the items it pins or boosts")] = ()
    match: Annotated[Attributes, Meta(description="attribute values an item must have (a value or a list)")] = {}
    weight: Annotated[float, Meta(description="boost added (negative buries)")] = 0.5
    position: Annotated[int, Meta(ge=1, description="pin position, 1 first")] = 1
    starts_at: Annotated[OptionalTime, Meta(description="wall clock")] = None
    ends_at: Annotated[OptionalTime, Meta(description="wall clock")] = None
    context: Annotated[Attributes, Meta(description="request context values the rule is limited to")] = {}
    enabled: bool = True
    schema_version: Version = SCHEMA_VERSION

    RECORD: ClassVar[str] = "rule"

    def check(self) -> None:
        if any(not isinstance(i, str) for i in self.item_ids):
            force_setattr(self, "item_ids", tuple(str(i) for i in self.item_ids))
        if not self.enabled:  # deletes the rule: nothing else matters
            return
        if self.action == "pin" and not self.item_ids:
            raise fail(self.RECORD, "a 'pin' rule needs 'item_ids' (the items to pin, in order)")
        if self.action == "boost" and not self.item_ids and not self.match:
            raise fail(self.RECORD, "a 'boost' rule needs 'item_ids' or 'match' (attribute values), or it boosts "
                                    "nothing")  # fmt: skip
        if self.starts_at is not None and self.ends_at is not None and self.ends_at <= self.starts_at:
            raise fail(self.RECORD, f"'ends_at' ({self.ends_at}) must come after 'starts_at' ({self.starts_at})")


class RecommendedItem(Record, frozen=True):
    """One entry of a recommendation list, with why it is there.

    ``sources`` are the generators that nominated it, ``components`` what the main signals
    added to its score, and ``reasons`` human-readable explanations ("because you liked
    matrix", "trending in Comedy", "new") and the rules that moved it.
    """

    item_id: Id
    score: float
    sources: Annotated[tuple[str, ...], Meta(description="generators that nominated it")] = ()
    reasons: Annotated[tuple[str, ...], Meta(description="why it is there, and the rules that moved it")] = ()
    components: Annotated[dict[str, float], Meta(description="what the main signals added to its score")] = {}
    position: Annotated[Count, Meta(description="1-based place in the list (0: not given)")] = 0

    RECORD: ClassVar[str] = "recommended item"


class Recommendation(Record, frozen=True):
    """A fresh ranked list for a user; topic ``recommendations``, keyed by ``user_id``."""

    user_id: Id
    event_id: Annotated[Id, Meta(description="the event that triggered it")]
    generated_at: Annotated[Time, Meta(description="epoch seconds")]
    model_version: str
    items: tuple[RecommendedItem, ...]
    latency_ms: Annotated[float, Meta(description="event arrival to publish, in ms")]
    variant: Annotated[Text, Meta(description="the experiment variant that ranked it (empty outside one)")] = ""
    list_id: Annotated[Text, Meta(description="names this list (an answer may carry it)")] = ""
    schema_version: Version = SCHEMA_VERSION

    RECORD: ClassVar[str] = "recommendation"


class DeadLetter(Record, frozen=True):
    """An input that could not be applied, with where it came from and why.

    ``value_base64`` holds the original bytes exactly, so the event can be fixed and
    replayed; ``value`` repeats them as text when they are valid UTF-8. A letter always fits
    its topic: when the original does not, ``truncated`` is true, ``value_base64`` holds its
    first bytes, ``value`` is null, and ``source_topic``, ``partition`` and ``offset`` find the
    whole of it. ``value_bytes`` is the original's size.
    """

    reason: Annotated[str, Meta(description="what is wrong and how to fix it")]
    error: Annotated[str, Meta(description="the error class")]
    source_topic: str
    partition: int
    offset: int
    key: str | None
    value_base64: Annotated[Base64, Meta(description="the original bytes (the first of them when truncated)")]
    value: Annotated[str | None, Meta(description="the original bytes as text (null when not UTF-8 or truncated)")]
    failed_at: Time
    value_bytes: Annotated[int, Meta(ge=0, description="the original's size in bytes")] = 0
    truncated: Annotated[bool, Meta(description="the copy was cut to fit the topic; source_topic, partition and "
                                                "offset find the original")] = False  # fmt: skip
    schema_version: Version = SCHEMA_VERSION

    RECORD: ClassVar[str] = "dead letter"
