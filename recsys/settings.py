"""The one typed settings object; every knob, its default and its meaning live here.

Each setting is a field of :class:`Settings`, declared once with its type, its constraints
(:class:`msgspec.Meta`) and its meaning; msgspec validates them, the same library that validates
the events. A setting is read from, in order of precedence:

1. the environment, as ``RECSYS_<FIELD NAME IN CAPITALS>`` (a secret also from the file named by
   ``RECSYS_<NAME>_FILE``); an unknown ``RECSYS_*`` variable is an error;
2. a TOML file named by ``RECSYS_SETTINGS_FILE`` (empty: none): a table of field names in lower
   case with typed values, e.g. ``k = 20``, ``share_items = false``, ``generators = "mf,covisit"``
   and, for a mapping, a table merged onto its default (``[event_weights]`` then ``like = 3.0``).
   An unknown name is an error that names the file. Relative paths in it are relative to the
   working directory, as in the environment. Secrets may be set there, but a ``RECSYS_<NAME>_FILE``
   readable by the service alone is better: a settings file tends to be shared and checked in;
3. the defaults below.

An environment variable wins over the file; for a mapping its ``type=weight`` pairs are merged
onto the file's (or the default) mapping. Values are validated when the object is built (by
:meth:`Settings.from_env`, by ``Settings(...)`` or :meth:`Settings.replace`), and an error names
the variable (or the file and the key) and how to fix it.

Examples
--------
>>> s = Settings.from_env({"RECSYS_K": "5", "RECSYS_EVENT_WEIGHTS": "like=3,skip=-1"})
>>> s.k, s.event_weights["like"], s.event_weights["view"]
(5, 3.0, 0.5)
>>> Settings.from_env({"RECSYS_K": "many"})
Traceback (most recent call last):
...
recsys.errors.ConfigError: RECSYS_K: expected an integer, got 'many'
>>> Settings(k=0)
Traceback (most recent call last):
...
recsys.errors.ConfigError: RECSYS_K: must be at least 1 (got 0)
>>> Settings(ann_backend="faiss")
Traceback (most recent call last):
...
recsys.errors.ConfigError: RECSYS_ANN_BACKEND: must be one of auto, hnsw, brute (got 'faiss')
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import msgspec
from msgspec import Meta

from recsys.errors import ConfigError
from recsys.event_types import DEFAULT_EVENT_WEIGHTS, INTERACTION_TYPES

ENV_PREFIX = "RECSYS_"
SETTINGS_FILE = "RECSYS_SETTINGS_FILE"
"""The variable naming the optional TOML settings file."""
NOT_SETTINGS = frozenset({"RECSYS_KAFKA_DIR", "RECSYS_CACHE_DIR", "RECSYS_TEST_KAFKA_PORT"})
"""RECSYS_ variables read by the Kafka launcher (deploy/kafka.py) and the tests, not by the service."""

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
SECURITY_PROTOCOLS: tuple[str, ...] = get_args(SecurityProtocol)
SASL_MECHANISMS: tuple[str, ...] = get_args(SaslMechanism)
MASK = "********"
"""How ``as_dict`` (``recsys settings``, ``GET /settings/``) shows a secret that is set."""

# A field's Meta(extra=...) may hold "secret": True (never in repr(), masked by as_dict(), also read
# from RECSYS_<NAME>_FILE) and "error": the message shown instead of the generic one when a
# constraint fails, for a bound whose meaning or reason the fix needs.


LEARNED_FEATURES = ("last_similarity", "genre_continuation", "popularity_match")
"""The learned scorer's optional features (:mod:`recsys.scoring.recent`)."""


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything the engine and the worker can be told. Build with :meth:`from_env`."""

    # One field a declaration, laid out by hand (the formatter would spread each over 5 to 9 lines).
    # fmt: off
    # --- Kafka and the worker -------------------------------------------------------
    broker_url: Annotated[str, Meta(
        pattern="://", extra={"error": "must look like kafka://127.0.0.1:9092"},
        description="Kafka bootstrap servers, as kafka://host:port[;host:port].",
    )] = "kafka://127.0.0.1:9092"
    security_protocol: Annotated[SecurityProtocol, Meta(description=(
        "How the worker and the CLI reach Kafka: PLAINTEXT, SSL (TLS), SASL_PLAINTEXT or SASL_SSL (TLS and a "
        "user name and password)."
    ))] = "PLAINTEXT"
    sasl_mechanism: Annotated[SaslMechanism, Meta(
        description="SASL mechanism (SASL_*): PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.",
    )] = "PLAIN"
    sasl_username: Annotated[str, Meta(description="SASL user name (SASL_*).")] = ""
    sasl_password: Annotated[str, Meta(extra={"secret": True}, description=(
        "SASL password (SASL_*). A secret: set it here or in a file named by RECSYS_SASL_PASSWORD_FILE; "
        "never logged, shown masked."
    ))] = ""
    ssl_cafile: Annotated[str, Meta(description=(
        "PEM file of the CA certificates that signed the brokers' certificates (SSL, SASL_SSL); empty: the "
        "system's CAs. The broker's certificate must name the host in broker_url."
    ))] = ""
    ssl_certfile: Annotated[str, Meta(
        description="PEM client certificate, for brokers that require one (mutual TLS).",
    )] = ""
    ssl_keyfile: Annotated[str, Meta(description="PEM private key of ssl_certfile.")] = ""
    api_token: Annotated[str, Meta(extra={"secret": True}, description=(
        "Bearer token the HTTP API requires (Authorization: Bearer <token>) on every page but /health/, "
        "/ready/ and the operator's page shell (/dashboard/ and its /static/ files); empty: no token. "
        "A secret: set it here or in a file named by RECSYS_API_TOKEN_FILE."
    ))] = ""
    app_id: Annotated[str, Meta(
        description="Faust application id: the consumer group and the prefix of internal topics.",
    )] = "recsys"
    topic_interactions: Annotated[str, Meta(
        description="Input topic of interactions, keyed by user_id.",
    )] = "interactions"
    topic_items: Annotated[str, Meta(
        description="Input topic of the catalogue, keyed by item_id, compacted.",
    )] = "items"
    topic_users: Annotated[str, Meta(
        description="Input topic of user profiles, keyed by user_id, compacted.",
    )] = "users"
    topic_follows: Annotated[str, Meta(
        description="Input topic of follow and unfollow events, keyed by user_id (the follower).",
    )] = "follows"
    topic_context: Annotated[str, Meta(
        description="Input topic of context changes (session, device, location, time of day), keyed by user_id.",
    )] = "context"
    topic_rules: Annotated[str, Meta(
        description="Control topic of business rules (pin, boost), keyed by rule_id, compacted.",
    )] = "rules"
    topic_experiments: Annotated[str, Meta(description=(
        "Control topic of the A/B experiment: its JSON under the key 'experiment' (a tombstone stops it), "
        "compacted; when it holds one, it wins over RECSYS_EXPERIMENT (`recsys experiments start|stop`)."
    ))] = "experiments"
    topic_recommendations: Annotated[str, Meta(
        description="Output topic of recommendation lists, keyed by user_id.",
    )] = "recommendations"
    topic_dead_letters: Annotated[str, Meta(
        description="Output topic of events that could not be applied.",
    )] = "recsys-dead-letters"
    topic_likes: Annotated[str, Meta(description=(
        "Internal topic of the positive interactions the workers share (batches of schemas.Like keyed by the "
        "writing worker), read whole by every worker for the social generator; kept 4 social half-lives."
    ))] = "recsys-likes"
    topic_item_updates: Annotated[str, Meta(description=(
        "Internal topic of the item-side learning the workers share (batches of schemas.ItemUpdate keyed by "
        "the writing worker), read whole by every worker."
    ))] = "recsys-item-updates"
    partitions: Annotated[int, Meta(
        ge=1, description="Partitions of every topic the service creates (inputs and internal).",
    )] = 4
    max_event_bytes: Annotated[int, Meta(ge=1024, description=(
        "Input messages larger than this many bytes are dead-lettered unread (an interaction is a few hundred "
        "bytes, an item with attributes a few KB; the limits inside records are in schemas.events: MAX_*)."
    ))] = 1048576
    dead_letter_max_bytes: Annotated[int, Meta(
        ge=8192, extra={"error": "must be at least 8192 (a letter holds the reason and where the input was)"},
        description=(
            "The largest dead letter: a failed input's copy is cut to fit (marked truncated; its topic, partition "
            "and offset find the original). Keep it under the dead-letter topic's max.message.bytes."
        ),
    )] = 524288
    replication_factor: Annotated[int, Meta(
        ge=1, description="Replication factor of the topics the service creates.",
    )] = 1
    data_dir: Annotated[Path, Meta(
        description="Where the worker keeps its RocksDB tables and model snapshots.",
    )] = Path(".data")
    web_port: Annotated[int, Meta(
        gt=0, lt=65536, extra={"error": "must be a TCP port"}, description="Port of the worker's HTTP endpoint.",
    )] = 6066
    web_host: Annotated[str, Meta(
        description="Interface the HTTP endpoint binds to (0.0.0.0 in a container).",
    )] = "127.0.0.1"
    web_url: Annotated[str, Meta(
        pattern="^(https?://|$)", extra={"error": "must look like http://worker-1:6066 (or be empty)"},
        description=(
            "URL other workers reach this one's HTTP endpoint at (requests for users another worker owns are "
            "forwarded there); empty: http://<web_host>:<web_port>. Set it when web_host is 0.0.0.0."
        ),
    )] = ""
    snapshot_seconds: Annotated[float, Meta(
        gt=0, description="Seconds between model snapshots (and one at shutdown).",
    )] = 30.0
    log_level: Annotated[str, Meta(description="Log level of the worker.")] = "info"
    log_format: Annotated[Literal["json", "text"], Meta(
        description="Worker log format: json (one object per line on stderr) or text (faust's own).",
    )] = "json"
    blas_threads: Annotated[int, Meta(ge=0, extra={"error": "must be 0 (the library's default) or more"}, description=(
        "Threads numpy's BLAS may use in the worker and the recsys commands (1 measured best on 2 cores: "
        "matrix products next to the event loop and hnswlib); 0 leaves the library's default (one per core)."
    ))] = 1
    fetch_wait_ms: Annotated[int, Meta(ge=1, description=(
        "Longest time (ms) the broker holds the worker's fetch when no new data came; low keeps "
        "interactions from waiting behind a fetch of the quiet topics."
    ))] = 100
    share_items: Annotated[bool, Meta(description=(
        "Share each interaction's item-side learning (MF item steps, co-visitation, popularity, trends, "
        "click-bait feedback) with the other workers through topic_item_updates, so that every worker "
        "learns from every user; false: each worker learns from its own users only."
    ))] = True
    bootstrap_url: Annotated[str, Meta(description=(
        "A running worker's URL (http://host:port) whose model snapshot a worker without one copies at start, "
        "then replays the item update log from there: how a new worker gets item learning older than the "
        "log's retention. Empty: replay the log alone."
    ))] = ""
    session_timeout_ms: Annotated[int, Meta(ge=1000, extra={"error": (
        "must be at least 1000 (ms; the broker's floor is group.min.session.timeout.ms, 6000 by default)"
    )}, description=(
        "How long (ms) the group waits for a silent worker (killed, cut off) before its partitions move "
        "to the others; heartbeats go every third of it. faust's default is 60 s; the broker's "
        "group.min.session.timeout.ms (6,000 by default) is the floor."
    ))] = 6000

    # --- the recommender ------------------------------------------------------------
    k: Annotated[int, Meta(ge=1, description="Length of each recommendation list.")] = 10
    candidates: Annotated[int, Meta(ge=1, description="Candidates fetched from each generator before scoring.")] = 100
    event_weights: Annotated[dict[str, float], Meta(description=(
        "Weight per interaction type, as type=weight pairs; a negative weight is a negative "
        "signal. A rating's weight is multiplied by (value - rating_neutral)."
    ))] = msgspec.field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))
    rating_neutral: Annotated[float, Meta(description="The rating that carries no signal; above it is positive.")] = 3.0
    generators: Annotated[str, Meta(
        pattern=r"[^,\s]", extra={"error": "must name at least one generator"},
        description=(
            "Candidate generators, comma-separated: mf (ANN over MF vectors), covisit (items co-visited "
            "with the user's recent items), popular (the most taken items), content (attributes like the "
            "user's recent items), trending (decayed counts, overall and in the user's segments), fresh "
            "(newest published), two_tower (user and item towers over ids and attributes; serves brand-new "
            "items and users), social (items the user's followees liked recently), transitions (what users "
            "took next after the user's latest items: directed, first order), sequence (a small sequential model "
            "trained online: the next item from a recency-weighted pool of the user's latest items), adjacent (what "
            "users took right before or after the user's latest items: transitions counted both ways)."
        ),
    )] = "mf,covisit,popular,fresh,two_tower"
    scorer: Annotated[Literal["blend", "learned", "mf"], Meta(description=(
        "How merged candidates are ranked: blend (rank fusion of signals), learned (logistic regression "
        "over the signals, learned online from what users did with their lists; the blend until it has "
        "learned enough) or mf (MF score)."
    ))] = "learned"
    learned_min_examples: Annotated[int, Meta(
        ge=0, description="Labelled examples the learned scorer needs before it ranks.",
    )] = 1000
    learned_features: Annotated[str, Meta(description=(
        "Optional features of the learned scorer, comma-separated: last_similarity (content cosine with "
        "each of the latest 3 positives), genre_continuation (genres shared with the last positive), "
        "popularity_match (log popularity near that of the latest positives); empty: none."
    ))] = "last_similarity,genre_continuation,popularity_match"
    learned_learning_rate: Annotated[float, Meta(gt=0, description="AdaGrad step of the learned scorer.")] = 0.1
    learned_negatives: Annotated[int, Meta(
        ge=0, description="Candidates paired with each item a user acted on (pairwise labels).",
    )] = 8
    learned_keep: Annotated[int, Meta(
        ge=1, description="Best candidates remembered per list, to label with the user's next event.",
    )] = 30
    learned_memory: Annotated[int, Meta(
        ge=1, description="Users whose last list is remembered for labelling (least recent dropped).",
    )] = 5000
    learned_debias: Annotated[Literal["none", "ipw", "feature"], Meta(description=(
        "How the learned scorer corrects for position bias (users look at the top of a list more): "
        "ipw (a take at position p weighs p ** learned_propensity_power, at most 10), feature (the "
        "position is a feature when learning, absent when ranking) or none."
    ))] = "feature"
    learned_propensity_power: Annotated[float, Meta(
        ge=0, description="Examination at position p taken as (1/p) ** this, for learned_debias=ipw.",
    )] = 1.0
    blend_weights: Annotated[dict[str, float], Meta(description=(
        "Weight of each signal in the blend, as signal=weight pairs (mf, covisit, popular, content, "
        "trending, fresh, two_tower, social, transitions, sequence, adjacent); 0 turns a signal off."
    ))] = msgspec.field(default_factory=lambda: {
        "mf": 0.05, "covisit": 1.0, "popular": 0.01, "fresh": 0.05, "two_tower": 0.3, "content": 0.0,
        "trending": 0.0, "social": 0.0, "transitions": 0.0, "sequence": 0.0, "adjacent": 0.0,
    })
    experiment: Annotated[str, Meta(description=(
        "An A/B experiment as JSON: {\"name\": ..., \"variants\": [{\"name\": \"control\", \"share\": 50}, "
        "{\"name\": ..., \"share\": 50, \"settings\": {\"generators\": \"mf\"}}]} (the first is the control; "
        "a variant overrides ranking settings only, see recsys/experiments.py); empty: none."
    ))] = ""
    coalesce_ms: Annotated[float, Meta(
        ge=0, le=10_000, extra={"error": "must be 0 (off) to 10000: it bounds every list's delay"},
        description=(
            "Bursts of one user's events within this many ms give one list, ranked at the end of the window "
            "with the latest state (bounded: an event waits at most this long); 0 ranks after every event."
        ),
    )] = 0.0
    active_users: Annotated[int, Meta(ge=1, description=(
        "Users whose last list is remembered (least recent dropped): a list is published only when it "
        "changed, rule and catalogue changes re-rank these users, and online quality is measured on them."
    ))] = 10000
    active_seconds: Annotated[float, Meta(
        ge=0, extra={"error": "must be 0 (every remembered user) or positive seconds"},
        description=(
            "A rule change re-ranks the users shown a list within this many event-time seconds (those on "
            "line); 0: every remembered user (active_users)."
        ),
    )] = 3600.0
    exclude_types: Annotated[str, Meta(description=(
        "Interaction types after which the item is never recommended to that user again, comma-separated "
        "(a music service may leave out view and like: a song can be played again). Disliked items are "
        "always excluded."
    ))] = "view,click,like,dislike,rating,purchase,skip"
    creator_attribute: Annotated[str, Meta(
        description="Item attribute naming the item's creator (caps, fairness, blocking).",
    )] = "creator"
    blocked_creators_attribute: Annotated[str, Meta(
        description="User profile attribute listing the creators the user blocked; their items are never recommended.",
    )] = "blocked_creators"
    max_item_age: Annotated[float, Meta(
        ge=0, extra={"error": "must be 0 (no limit) or positive seconds"},
        description="Items published longer ago than this (event-time seconds) are never listed; 0: no limit.",
    )] = 0.0
    rerank_steps: Annotated[str, Meta(description=(
        "Re-ranking steps after the hard filters, in order, comma-separated: freshness (boost by age), "
        "clickbait (demote items often skipped after a click, or flagged), boosts (rules' boosts), "
        "diversity (maximal marginal relevance), caps (items per genre and creator), fairness (creator "
        "exposure), new_item_slot, explore (Thompson-sampled slots for items with little feedback), pins "
        "(rules' pins). A step whose setting turns it off does nothing."
    ))] = "freshness,clickbait,boosts,diversity,caps,fairness,new_item_slot,explore,pins"
    explore_slots: Annotated[int, Meta(ge=0, description=(
        "Places at the end of each list's top k given to exploration: Thompson draws of each candidate's "
        "take rate from its takes and impressions, times its relevance (0: off)."
    ))] = 0
    explore_depth: Annotated[int, Meta(ge=1, description=(
        "Candidates below the exploration slots that compete for them."
    ))] = 50
    freshness_weight: Annotated[float, Meta(ge=0, extra={"error": "must be 0 (off) or more"}, description=(
        "Relevance (scores are scaled to [0, 1] before re-ranking) added to a just-published item, halving "
        "every freshness_half_life; 0: off."
    ))] = 0.0
    freshness_half_life: Annotated[float, Meta(
        gt=0, description="Event-time seconds in which the freshness boost halves.",
    )] = 604800.0
    clickbait_weight: Annotated[float, Meta(
        ge=0, extra={"error": "must be 0 (off) or more"},
        description="Relevance taken from an item times its rate of skips and dislikes after a click; 0: off.",
    )] = 0.0
    clickbait_min_clicks: Annotated[int, Meta(
        ge=1, description="Clicks an item needs before its skip rate counts.",
    )] = 20
    clickbait_half_life: Annotated[float, Meta(
        ge=0, extra={"error": "must be 0 (no decay) or positive seconds"},
        description=(
            "Event-time seconds in which an item's click and skip-after-click counts halve (recent behaviour "
            "counts; 0: never)."
        ),
    )] = 604800.0
    clickbait_flag: Annotated[str, Meta(
        description="Item attribute that, when true, marks the item as click-bait.",
    )] = "clickbait"
    clickbait_flag_weight: Annotated[float, Meta(
        ge=0, extra={"error": "must be 0 (off) or more"},
        description="Relevance taken from an item flagged as click-bait; 0: off.",
    )] = 0.5
    mmr_lambda: Annotated[float, Meta(
        ge=0, le=1, extra={"error": "must be in [0, 1] (1: no diversification)"},
        description=(
            "Diversity trade-off of maximal marginal relevance: 1 ranks by relevance alone, lower values "
            "prefer items unlike those already listed."
        ),
    )] = 1.0
    mmr_space: Annotated[Literal["content", "mf", "genres"], Meta(
        description="What similarity MMR uses: content (item attributes), mf (MF vectors) or genres.",
    )] = "content"
    max_per_genre: Annotated[int, Meta(
        ge=0, extra={"error": "must be 0 (no cap) or more"},
        description="Most items sharing a genre in the top k; 0: no cap.",
    )] = 0
    max_per_creator: Annotated[int, Meta(
        ge=0, extra={"error": "must be 0 (no cap) or more"},
        description="Most items of one creator in the top k; 0: no cap.",
    )] = 0
    fairness_window: Annotated[float, Meta(
        gt=0, description="Event-time seconds over which creator exposure is counted.",
    )] = 86400.0
    fairness_max_share: Annotated[float, Meta(
        ge=0, le=1, extra={"error": "must be in [0, 1] (0: no cap)"},
        description=(
            "Largest share of the listed slots one creator may get over the window; items beyond it leave "
            "the top k; 0: no cap."
        ),
    )] = 0.0
    fairness_reserved_slots: Annotated[int, Meta(
        ge=0, extra={"error": "must be 0 (none) or more"},
        description="Slots of the top k kept for items of creators below fairness_min_share of exposure; 0: none.",
    )] = 0
    fairness_min_share: Annotated[float, Meta(
        ge=0, le=1, description="Exposure share under which a creator counts as under-exposed.",
    )] = 0.01
    new_item_slot: Annotated[bool, Meta(description=(
        "Give the last place of a list to a new item (published within new_item_max_age) whose "
        "two-tower fit is at least that of the item it displaces, when none is in it."
    ))] = True
    new_item_max_age: Annotated[float, Meta(
        gt=0, description="Event-time seconds an item counts as new for that slot.",
    )] = 86400.0
    blend_offset: Annotated[float, Meta(
        ge=0, description="Rank-fusion offset: a signal adds weight / (offset + rank).",
    )] = 60.0
    trending_half_life: Annotated[float, Meta(
        gt=0, description="Seconds of event time in which a trending count halves.",
    )] = 86400.0
    social_half_life: Annotated[float, Meta(
        gt=0, description="Seconds of event time in which a followee's like halves (social).",
    )] = 259200.0
    social_likes: Annotated[int, Meta(
        ge=1, description="Recent positive events kept per user for their followers' social candidates.",
    )] = 50
    max_following: Annotated[int, Meta(
        ge=1, description="Followees kept per user (the oldest follow is dropped beyond this).",
    )] = 1000
    content_dim: Annotated[int, Meta(
        ge=2, description="Length of the content vectors (random projection of item attributes).",
    )] = 64
    tower_dim: Annotated[int, Meta(ge=2, description="Length of the two-tower embeddings.")] = 32
    tower_learning_rate: Annotated[float, Meta(gt=0, description="Adagrad step of the two-tower model.")] = 0.1
    tower_history: Annotated[int, Meta(ge=0, description="Recent positives in the user tower's input.")] = 20
    tower_reembed_events: Annotated[int, Meta(ge=1, description=(
        "Re-embed every item once per this many two-tower steps (a slice of the catalogue at every index "
        "refresh, so no refresh re-embeds it whole)."
    ))] = 2000
    covisit_window: Annotated[int, Meta(
        ge=1, description="Recent positives per user that co-visitation pairs and queries with.",
    )] = 5
    transition_window: Annotated[int, Meta(ge=1, description=(
        "The user's latest positives that the transitions and adjacent generators count from and query with "
        "(1: the last item alone, first order; the n-th latest weighs 1/sqrt(n))."
    ))] = 2
    transition_half_life: Annotated[float, Meta(
        ge=0, extra={"error": "must be 0 (no decay) or positive seconds"},
        description="Event-time seconds in which a transitions or adjacent count halves (0: never).",
    )] = 0.0
    sequence_dim: Annotated[int, Meta(ge=1, le=512, description=(
        "Width of the sequence model's item vectors (an input and an output vector per item)."
    ))] = 32
    sequence_window: Annotated[int, Meta(ge=1, description=(
        "The user's latest positives the sequence model pools into its query."
    ))] = 20
    sequence_decay: Annotated[float, Meta(gt=0, le=1, description=(
        "Recency weight of the sequence model's query: the n-th latest positive weighs decay^(n-1) (1: a plain mean)."
    ))] = 0.8
    sequence_learning_rate: Annotated[float, Meta(gt=0, description="AdaGrad step of the sequence model.")] = 0.1
    sequence_negatives: Annotated[int, Meta(ge=0, description=(
        "Items drawn uniformly against each next item in the sequence model's sampled softmax."
    ))] = 20
    covisit_half_life: Annotated[float, Meta(
        ge=0, extra={"error": "must be 0 (no decay) or positive seconds"},
        description="Event-time seconds in which a co-visitation count halves (0: never).",
    )] = 0.0
    mf_loss: Annotated[Literal["bpr", "squared"], Meta(description=(
        "How the MF model learns: bpr (pairwise, numpy; the default) or squared (River's BiasedMF, "
        "pointwise, target 1 for positives and 0 for negatives)."
    ))] = "bpr"
    factors: Annotated[int, Meta(ge=1, description="Latent factors of the matrix-factorisation model.")] = 32
    learning_rate: Annotated[float, Meta(
        ge=0, le=5, extra={"error": "must be in [0, 5] (0: the loss's default)"},
        description="SGD step of item factors and biases; 0 picks the loss's own (bpr 0.5, squared 0.05).",
    )] = 0.0
    user_learning_rate: Annotated[float, Meta(
        ge=0, le=20, extra={"error": "must be in [0, 20] (0: the default)"},
        description="SGD step of a user's factors (bpr only; squared uses learning_rate); 0 picks 3.0.",
    )] = 0.0
    l2: Annotated[float, Meta(ge=0, description="L2 regularisation of latent factors and biases.")] = 0.01
    max_norm: Annotated[float, Meta(
        ge=0, extra={"error": "must be 0 (no limit) or more"},
        description="Largest length of a latent vector (bpr only; 0: no limit).",
    )] = 3.0
    negatives: Annotated[int, Meta(ge=0, description=(
        "Items sampled as negatives per positive event, among items someone took (squared pays a "
        "River step for each; 4 suits it)."
    ))] = 32
    init_std: Annotated[float, Meta(gt=0, description="Standard deviation of the initial latent factors.")] = 0.1
    wals_l2: Annotated[float, Meta(
        gt=0, extra={"error": "must be positive (it keeps every least-squares solve well posed)"},
        description="L2 regularisation of WALS, the batch fit of the MF factors (`recsys train`).",
    )] = 0.1
    wals_alpha: Annotated[float, Meta(
        ge=0,
        description="WALS confidence slope: an item a user took with summed positive weight r counts 1 + alpha * r.",
    )] = 10.0
    wals_iterations: Annotated[int, Meta(ge=1, description="Alternating sweeps of each WALS fit.")] = 10
    wals_refresh_events: Annotated[int, Meta(ge=0, extra={"error": "must be 0 (off) or more"}, description=(
        "Re-fit WALS over the recent positive events every this many applied interactions, then fold "
        "each user in at their next event (synchronous; bpr only); 0: never. With several workers each "
        "re-fits over its own users' positives only (the shared updates carry no user rows)."
    ))] = 0
    wals_buffer: Annotated[int, Meta(
        ge=1, description="Recent (user, item, weight) positives kept for the periodic WALS re-fit.",
    )] = 200000
    ann_backend: Annotated[Literal["auto", "hnsw", "brute"], Meta(description=(
        "Nearest-neighbour index: auto (exact numpy up to 20,000 items, then hnswlib, its graph built in a "
        "thread), hnsw (approximate, hnswlib through the maximum-inner-product reduction) or brute (exact numpy)."
    ))] = "auto"
    hnsw_m: Annotated[int, Meta(ge=1, description="hnswlib M: graph degree.")] = 12
    hnsw_ef_construction: Annotated[int, Meta(ge=1, description="hnswlib ef_construction.")] = 200
    hnsw_ef: Annotated[int, Meta(ge=1, description="hnswlib ef at query time (raised to n when n is larger).")] = 200
    index_refresh_events: Annotated[int, Meta(
        ge=1, description="Refresh the index after this many changed item vectors ...",
    )] = 256
    index_refresh_seconds: Annotated[float, Meta(
        ge=0, description="... or after this many seconds, whichever comes first.",
    )] = 1.0
    index_tolerance: Annotated[float, Meta(ge=0, description=(
        "Re-index an item only when its vector moved by more than this fraction of its indexed "
        "length (hnswlib updates cost milliseconds; lists are scored with current vectors anyway)."
    ))] = 0.5
    index_refresh_ms: Annotated[float, Meta(ge=0, extra={"error": "must be 0 (no limit) or more"}, description=(
        "Time an index refresh may spend writing into hnswlib (a write costs 0.1-1 ms, more at a million "
        "items), the items of events first and the most moved first; the rest wait for the next refresh "
        "(items of events) or the next pass of the rolling re-embedding. At least 8 vectors are written each "
        "time; exact (numpy) indexes are never limited; 0: no limit."
    ))] = 20.0
    index_background_writes: Annotated[bool, Meta(description=(
        "Write into hnswlib graphs on a thread of their own (hnswlib releases the GIL: the writes run on "
        "another core while the engine ranks); the periodic refresh queues at most 256 vectors and leaves the "
        "rest for later. Off: the refresh writes in the engine's thread, within index_refresh_ms."
    ))] = True
    dedupe_window: Annotated[int, Meta(
        ge=1, description="Event ids remembered per user to skip redelivered events.",
    )] = 200
    learnt_window: Annotated[int, Meta(ge=1, description=(
        "Interactions whose item-side learning the worker remembers by id (the latest this many, of every "
        "worker; about 80 bytes each): after a crash, a redelivered interaction whose item update was lost "
        "is learnt again, and an update already held is not applied twice (recsys.items.learnt)."
    ))] = 200_000
    history_size: Annotated[int, Meta(ge=1, description="Recent items kept per user.")] = 50
    max_seen: Annotated[int, Meta(ge=1, description=(
        "Items remembered per user as seen (excluded from recommendations) or disliked, at most this many: "
        "those of the user's last max(max_seen, dedupe_window, history_size) events (follows and context "
        "changes count as events)."
    ))] = 5000
    user_cache: Annotated[int, Meta(ge=1, description=(
        "Users whose state is kept decoded in memory (least recently used dropped; one with a full log of "
        "5,000 events takes about 0.7 MiB); a miss reads the user's records from the table."
    ))] = 1000
    user_chunk: Annotated[int, Meta(ge=1, description=(
        "Event-log entries per sealed chunk of a user's state: the record rewritten on every event carries "
        "up to this many recent entries (and at most 1 KiB of them); each full chunk is written once."
    ))] = 32
    seed: Annotated[int, Meta(description="Seed of every random choice (initial factors, negative sampling).")] = 42
    model_name: Annotated[str, Meta(
        description="Name of the model, the first part of model_version in each list.",
    )] = "online-mf"
    # fmt: on

    def __post_init__(self) -> None:
        """Check every field against its declared type and constraints, then the rules across fields."""
        try:
            checked = msgspec.convert(self, _Checked, from_attributes=True, dec_hook=_decode)
        except msgspec.ValidationError as exc:
            problem, name = _problem(exc)
            raise ConfigError(f"{_var(name)}: {_explain(name, problem, getattr(self, name))}") from None
        for name in self.__struct_fields__:  # as converted: a str data_dir becomes a Path, an int weight a float
            msgspec.structs.force_setattr(self, name, getattr(checked, name))
        _check_together(self)

    # --------------------------------------------------------------------------------
    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``RECSYS_*`` variables from ``environ`` (default: the process environment), over the
        TOML file ``RECSYS_SETTINGS_FILE`` names, if any; ``overrides`` (by field name) win over both."""
        env = os.environ if environ is None else environ
        stray = sorted(k for k in env if k.startswith(ENV_PREFIX) and k not in _KNOWN_VARIABLES)
        if stray:
            known = ", ".join(sorted(_KNOWN_VARIABLES - NOT_SETTINGS))
            raise ConfigError(f"unknown setting(s) {', '.join(stray)}; known: {known}")
        values = _read_file(env[SETTINGS_FILE]) if env.get(SETTINGS_FILE) else {}
        for name in cls.__struct_fields__:
            var = _var(name)
            if var in env:
                values[name] = _parse(name, env[var], values.get(name, getattr(_DEFAULT, name)))
            if name in _SECRETS and var + "_FILE" in env:
                if var in env:
                    raise ConfigError(f"set {var} or {var}_FILE, not both")
                values[name] = _read_secret(var + "_FILE", env[var + "_FILE"])
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (validated again)."""
        return msgspec.structs.replace(self, **changes)

    @classmethod
    def describe(cls) -> list[tuple[str, str, str]]:
        """(variable, default, meaning) of every setting, for the README and ``recsys settings``."""
        return [
            (_var(name), _show(getattr(_DEFAULT, name)), get_args(kind)[1].description) for name, kind in _TYPES.items()
        ]

    def as_dict(self) -> dict[str, Any]:
        """Every setting by name, secrets masked (:data:`MASK` when set).

        >>> shown = Settings(sasl_password="hunter2").as_dict()
        >>> shown["sasl_password"], shown["api_token"]
        ('********', '')
        >>> "hunter2" in repr(Settings(sasl_password="hunter2"))
        False
        """
        out = {name: _jsonable(getattr(self, name)) for name in self.__struct_fields__}
        for name in _SECRETS:
            out[name] = MASK if out[name] else ""
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{name}={value!r}' for name, value in self.__rich_repr__())})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        """Every field but the secrets (for repr() and rich's pretty printer)."""
        return [(name, getattr(self, name)) for name in self.__struct_fields__ if name not in _SECRETS]

    @property
    def learned_feature_names(self) -> list[str]:
        """``learned_features`` as a list of names, in order.

        >>> Settings(learned_features="last_similarity, popularity_match").learned_feature_names
        ['last_similarity', 'popularity_match']
        """
        return [f.strip() for f in self.learned_features.split(",") if f.strip()]

    @property
    def generator_names(self) -> list[str]:
        """``generators`` as a list of names, in order.

        >>> Settings(generators="mf, covisit").generator_names
        ['mf', 'covisit']
        """
        return [g.strip() for g in self.generators.split(",") if g.strip()]

    @property
    def rerank_step_names(self) -> list[str]:
        """``rerank_steps`` as a list of names, in order."""
        return [t.strip() for t in self.rerank_steps.split(",") if t.strip()]

    @property
    def broker_servers(self) -> str:
        """The broker URL as a bootstrap.servers string for non-faust clients."""
        return ",".join(s.split("://", 1)[-1] for s in self.broker_url.replace(";", ",").split(","))


def _var(name: str) -> str:
    return ENV_PREFIX + name.upper()


def _check_together(s: Settings) -> None:
    """The rules a field's type cannot say: across fields, against a registry or the file system."""

    def need(cond: bool, name: str, msg: str) -> None:
        if not cond:
            raise ConfigError(f"{_var(name)}: {msg} (got {s.as_dict()[name]!r})")  # a secret masked

    if s.security_protocol.startswith("SASL_"):
        with_sasl = f"with security_protocol={s.security_protocol}"
        need(bool(s.sasl_username), "sasl_username", f"must be set {with_sasl}")
        need(bool(s.sasl_password), "sasl_password", f"must be set (or RECSYS_SASL_PASSWORD_FILE) {with_sasl}")
    need(not s.ssl_certfile or bool(s.ssl_keyfile), "ssl_keyfile", "must be set with ssl_certfile")
    for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        path = getattr(s, name)
        need(not path or Path(path).is_file(), name, f"must name a readable PEM file (no file at {path!r})")
    types = [t.strip() for t in s.exclude_types.split(",") if t.strip()]
    need(set(types) <= set(INTERACTION_TYPES), "exclude_types",
         f"must be a comma-separated subset of {', '.join(INTERACTION_TYPES)} (may be empty)")  # fmt: skip
    steps = s.rerank_step_names
    need(len(steps) == len(set(steps)), "rerank_steps", "must name each step once")
    need(not (s.wals_refresh_events and s.mf_loss != "bpr"), "wals_refresh_events",
         "needs RECSYS_MF_LOSS=bpr: WALS factors only go into the BPR model; set it to 0")  # fmt: skip
    unknown = sorted(set(s.learned_feature_names) - set(LEARNED_FEATURES))
    need(not unknown, "learned_features", f"unknown feature(s) {unknown}; known: {', '.join(LEARNED_FEATURES)}")
    unknown = sorted(set(s.event_weights) - set(INTERACTION_TYPES))
    need(not unknown, "event_weights", f"unknown event type(s) {unknown}; known: {list(INTERACTION_TYPES)}")


_FIELDS = msgspec.structs.fields(Settings)
_Checked = msgspec.defstruct("_Checked", [(f.name, f.type) for f in _FIELDS])
"""Settings' types and constraints without its __post_init__: what one msgspec.convert checks."""
_TYPES: dict[str, Any] = {f.name: f.type for f in _FIELDS}
"""Each field's declared type, Annotated with its Meta."""
assert all(get_origin(t) is Annotated and get_args(t)[1].description for t in _TYPES.values()), "a field lacks its Meta"
_SECRETS = frozenset(name for name, kind in _TYPES.items() if (get_args(kind)[1].extra or {}).get("secret"))
_KNOWN_VARIABLES = NOT_SETTINGS | {SETTINGS_FILE} | {_var(n) for n in _TYPES} | {_var(n) + "_FILE" for n in _SECRETS}
_NOUNS: dict[Any, str] = {int: "an integer", float: "a number", bool: "true or false", str: "a string", Path: "a path"}
_BOUNDS = {">=": "at least", ">": "more than", "<=": "at most", "<": "less than"}
_FLAGS = {"yes": "true", "on": "true", "no": "false", "off": "false"}  # msgspec reads true, false, 1 and 0 itself


def _explain(name: str, problem: str, got: Any) -> str:
    """msgspec's ``problem`` with a value of field ``name`` ("Expected `int` >= 1"), said as what it must be."""
    kind, meta = get_args(_TYPES[name])
    shown = (MASK if got else "") if name in _SECRETS else got
    choices = ", ".join(get_args(kind)) if get_origin(kind) is Literal else ""
    if ", got `" in problem:  # the wrong type: "Expected `int`, got `str`"
        expected = f"one of {choices}" if choices else _NOUNS.get(kind, "a mapping of names to numbers")
        return f"expected {expected}, got {shown!r}"
    bound = re.fullmatch(r"Expected `\w+` ([<>]=?) (\S+?)(?:\.0)?", problem)
    if meta.extra and "error" in meta.extra:  # the declared message, for a bound whose meaning the fix needs
        rule = meta.extra["error"]
    elif choices:  # "Invalid enum value 'faiss'"
        rule = f"must be one of {choices}"
    elif meta.ge is not None and meta.le is not None:  # msgspec names the side that failed
        rule = f"must be in [{meta.ge}, {meta.le}]"
    elif bound:
        rule = {"> 0": "must be positive", ">= 0": "must be 0 or more"}.get(
            f"{bound[1]} {bound[2]}", f"must be {_BOUNDS[bound[1]]} {bound[2]}"
        )
    else:
        rule = problem
    return f"{rule} (got {shown!r})"


def _problem(exc: msgspec.ValidationError) -> tuple[str, str]:
    """msgspec's message as the problem and the field it names: "Expected `int` >= 1 - at `$.k`"."""
    problem, _, where = str(exc).partition(" - at `$")
    field = re.match(r"\.(\w+)", where)
    return problem, field[1] if field else ""


def _parse(name: str, raw: str, base: Any) -> Any:
    """The value of the variable's text ``raw``; a mapping's ``name=weight`` pairs are merged onto ``base``."""
    kind = get_args(_TYPES[name])[0]
    if get_origin(kind) is dict:
        pairs = {k.strip(): v.strip() for k, _, v in (p.partition("=") for p in raw.split(",") if p.strip())}
        try:
            return {**base, **msgspec.convert(pairs, kind, strict=False)}
        except msgspec.ValidationError:
            raise ConfigError(
                f"{_var(name)}: expected type=weight pairs such as like=2,skip=-0.5, got {raw!r}"
            ) from None
    text = raw.strip() if kind in (int, float, bool) else raw
    if kind is bool:
        text = _FLAGS.get(text.lower(), text)
    try:
        return msgspec.convert(text, kind, strict=False, dec_hook=_decode)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{_var(name)}: {_explain(name, _problem(exc)[0], raw)}") from None


def _read_file(path: str) -> dict[str, Any]:
    """The settings in the TOML file at ``path``, each checked against its field's type and constraints."""
    try:
        with open(path, "rb") as fh:
            table = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(
            f"{SETTINGS_FILE}: cannot read {path!r} ({exc.strerror}); name a readable TOML file"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{SETTINGS_FILE}: {path} is not valid TOML ({exc})") from None
    unknown = sorted(set(table) - set(_TYPES))
    if unknown:
        known = ", ".join(Settings.__struct_fields__)
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(unknown)}; known (lower case, no {ENV_PREFIX}): {known}"
        )
    values: dict[str, Any] = {}
    for name, value in table.items():
        default = getattr(_DEFAULT, name)
        merged = {**default, **value} if isinstance(default, dict) and isinstance(value, dict) else value
        try:
            values[name] = msgspec.convert(merged, _TYPES[name], dec_hook=_decode)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"{path}: {name}: {_explain(name, _problem(exc)[0], value)}") from None
    return values


def _decode(kind: type, value: Any) -> Any:
    """msgspec's hook for the one type it does not know: a path, from a string or a path."""
    if kind is Path and isinstance(value, str | os.PathLike):
        return Path(value)
    raise TypeError(f"Expected `{kind.__name__}`, got `{type(value).__name__}`")


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}={v:g}" for k, v in value.items())
    return str(value)


def _read_secret(var: str, path: str) -> str:
    """The secret in the file ``path`` names (one trailing newline dropped)."""
    try:
        return Path(path).read_text().removesuffix("\n")
    except OSError as exc:
        raise ConfigError(f"{var}: cannot read {path!r} ({exc.strerror}); name a readable file") from None


def _jsonable(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


_DEFAULT = Settings()
"""The defaults (built once, and so checked at import)."""

