"""The one typed settings object; every knob, its default and its meaning live here.

Each field can be set from the environment as ``RECSYS_<FIELD NAME IN CAPITALS>``; nothing
else is read. Values are validated when the object is built, and an error names the
variable and how to fix it.

Examples
--------
>>> s = Settings.from_env({"RECSYS_K": "5", "RECSYS_EVENT_WEIGHTS": "like=3,skip=-1"})
>>> s.k, s.event_weights["like"], s.event_weights["view"]
(5, 3.0, 0.5)
>>> Settings.from_env({"RECSYS_K": "many"})
Traceback (most recent call last):
...
recsys.errors.ConfigError: RECSYS_K: expected an integer, got 'many'
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from recsys.errors import ConfigError
from recsys.event_types import DEFAULT_EVENT_WEIGHTS, INTERACTION_TYPES

ENV_PREFIX = "RECSYS_"
NOT_SETTINGS = frozenset({"RECSYS_KAFKA_DIR", "RECSYS_CACHE_DIR", "RECSYS_TEST_KAFKA_PORT"})
"""RECSYS_ variables read by the Kafka launcher (deploy/kafka.py) and the tests, not by the service."""


def _doc(text: str, default: Any = dataclasses.MISSING, secret: bool = False, **kw: Any) -> Any:
    if "default_factory" in kw:
        return field(metadata={"doc": text}, **kw)
    if secret:  # never in repr(), masked by as_dict(); read from RECSYS_<NAME>_FILE as well
        return field(default=default, metadata={"doc": text, "secret": True}, repr=False)
    return field(default=default, metadata={"doc": text})


SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
MASK = "********"
"""How ``as_dict`` (``recsys settings``, ``GET /settings/``) shows a secret that is set."""


@dataclass(frozen=True)
class Settings:
    """Everything the engine and the worker can be told. Build with :meth:`from_env`."""

    # --- Kafka and the worker -------------------------------------------------------
    broker_url: str = _doc("Kafka bootstrap servers, as kafka://host:port[;host:port].", "kafka://127.0.0.1:9092")
    security_protocol: str = _doc(
        "How the worker and the CLI reach Kafka: PLAINTEXT, SSL (TLS), SASL_PLAINTEXT or SASL_SSL (TLS and a "
        "user name and password).",
        "PLAINTEXT",
    )
    sasl_mechanism: str = _doc("SASL mechanism (SASL_*): PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.", "PLAIN")
    sasl_username: str = _doc("SASL user name (SASL_*).", "")
    sasl_password: str = _doc(
        "SASL password (SASL_*). A secret: set it here or in a file named by RECSYS_SASL_PASSWORD_FILE; "
        "never logged, shown masked.",
        "",
        secret=True,
    )
    ssl_cafile: str = _doc(
        "PEM file of the CA certificates that signed the brokers' certificates (SSL, SASL_SSL); empty: the "
        "system's CAs. The broker's certificate must name the host in broker_url.",
        "",
    )
    ssl_certfile: str = _doc("PEM client certificate, for brokers that require one (mutual TLS).", "")
    ssl_keyfile: str = _doc("PEM private key of ssl_certfile.", "")
    api_token: str = _doc(
        "Bearer token the HTTP API requires (Authorization: Bearer <token>) on every page but /health/, "
        "/ready/ and the operator's page shell (/dashboard/ and its /static/ files); empty: no token. "
        "A secret: set it here or in a file named by RECSYS_API_TOKEN_FILE.",
        "",
        secret=True,
    )
    app_id: str = _doc("Faust application id: the consumer group and the prefix of internal topics.", "recsys")
    topic_interactions: str = _doc("Input topic of interactions, keyed by user_id.", "interactions")
    topic_items: str = _doc("Input topic of the catalogue, keyed by item_id, compacted.", "items")
    topic_users: str = _doc("Input topic of user profiles, keyed by user_id, compacted.", "users")
    topic_follows: str = _doc("Input topic of follow and unfollow events, keyed by user_id (the follower).", "follows")
    topic_context: str = _doc(
        "Input topic of context changes (session, device, location, time of day), keyed by user_id.", "context"
    )
    topic_rules: str = _doc("Control topic of business rules (pin, boost), keyed by rule_id, compacted.", "rules")
    topic_experiments: str = _doc(
        "Control topic of the A/B experiment: its JSON under the key 'experiment' (a tombstone stops it), "
        "compacted; when it holds one, it wins over RECSYS_EXPERIMENT (`recsys experiments start|stop`).",
        "experiments",
    )
    topic_recommendations: str = _doc("Output topic of recommendation lists, keyed by user_id.", "recommendations")
    topic_dead_letters: str = _doc("Output topic of events that could not be applied.", "recsys-dead-letters")
    topic_likes: str = _doc(
        "Internal topic of the positive interactions the workers share (batches of schemas.Like keyed by the "
        "writing worker), read "
        "whole by every worker for the social generator; kept 4 social half-lives.",
        "recsys-likes",
    )
    topic_item_updates: str = _doc(
        "Internal topic of the item-side learning the workers share (batches of schemas.ItemUpdate keyed by the "
        "writing worker), "
        "read whole by every worker.",
        "recsys-item-updates",
    )
    partitions: int = _doc("Partitions of every topic the service creates (inputs and internal).", 4)
    max_event_bytes: int = _doc(
        "Input messages larger than this many bytes are dead-lettered unread (an interaction is a few hundred "
        "bytes, an item with attributes a few KB; the limits inside records are in schemas.events: MAX_*).",
        1048576,
    )
    dead_letter_max_bytes: int = _doc(
        "The largest dead letter: a failed input's copy is cut to fit (marked truncated; its topic, partition "
        "and offset find the original). Keep it under the dead-letter topic's max.message.bytes.",
        524288,
    )
    replication_factor: int = _doc("Replication factor of the topics the service creates.", 1)
    data_dir: Path = _doc("Where the worker keeps its RocksDB tables and model snapshots.", Path(".data"))
    web_port: int = _doc("Port of the worker's HTTP endpoint.", 6066)
    web_host: str = _doc("Interface the HTTP endpoint binds to (0.0.0.0 in a container).", "127.0.0.1")
    web_url: str = _doc(
        "URL other workers reach this one's HTTP endpoint at (requests for users another worker owns are "
        "forwarded there); empty: http://<web_host>:<web_port>. Set it when web_host is 0.0.0.0.",
        "",
    )
    snapshot_seconds: float = _doc("Seconds between model snapshots (and one at shutdown).", 30.0)
    log_level: str = _doc("Log level of the worker.", "info")
    log_format: str = _doc("Worker log format: json (one object per line on stderr) or text (faust's own).", "json")
    blas_threads: int = _doc(
        "Threads numpy's BLAS may use in the worker and the recsys commands (1 measured best on 2 cores: "
        "matrix products next to the event loop and hnswlib); 0 leaves the library's default (one per core).",
        1,
    )
    fetch_wait_ms: int = _doc(
        "Longest time (ms) the broker holds the worker's fetch when no new data came; low keeps "
        "interactions from waiting behind a fetch of the quiet topics.",
        100,
    )
    share_items: bool = _doc(
        "Share each interaction's item-side learning (MF item steps, co-visitation, popularity, trends, "
        "click-bait feedback) with the other workers through topic_item_updates, so that every worker "
        "learns from every user; false: each worker learns from its own users only.",
        True,
    )
    bootstrap_url: str = _doc(
        "A running worker's URL (http://host:port) whose model snapshot a worker without one copies at start, "
        "then replays the item update log from there: how a new worker gets item learning older than the "
        "log's retention. Empty: replay the log alone.",
        "",
    )
    session_timeout_ms: int = _doc(
        "How long (ms) the group waits for a silent worker (killed, cut off) before its partitions move "
        "to the others; heartbeats go every third of it. faust's default is 60 s; the broker's "
        "group.min.session.timeout.ms (6,000 by default) is the floor.",
        6000,
    )

    # --- the recommender ------------------------------------------------------------
    k: int = _doc("Length of each recommendation list.", 10)
    candidates: int = _doc("Candidates fetched from each generator before scoring.", 100)
    event_weights: dict[str, float] = _doc(
        "Weight per interaction type, as type=weight pairs; a negative weight is a negative "
        "signal. A rating's weight is multiplied by (value - rating_neutral).",
        default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS),
    )
    rating_neutral: float = _doc("The rating that carries no signal; above it is positive.", 3.0)
    generators: str = _doc(
        "Candidate generators, comma-separated: mf (ANN over MF vectors), covisit (items co-visited "
        "with the user's recent items), popular (the most taken items), content (attributes like the "
        "user's recent items), trending (decayed counts, overall and in the user's segments), fresh "
        "(newest published), two_tower (user and item towers over ids and attributes; serves brand-new "
        "items and users), social (items the user's followees liked recently).",
        "mf,covisit,popular,fresh,two_tower",
    )
    scorer: str = _doc(
        "How merged candidates are ranked: blend (rank fusion of signals), learned (logistic regression "
        "over the signals, learned online from what users did with their lists; the blend until it has "
        "learned enough) or mf (MF score).",
        "learned",
    )
    learned_min_examples: int = _doc("Labelled examples the learned scorer needs before it ranks.", 1000)
    learned_learning_rate: float = _doc("AdaGrad step of the learned scorer.", 0.1)
    learned_negatives: int = _doc("Candidates paired with each item a user acted on (pairwise labels).", 8)
    learned_keep: int = _doc("Best candidates remembered per list, to label with the user's next event.", 100)
    learned_memory: int = _doc("Users whose last list is remembered for labelling (least recent dropped).", 5000)
    learned_debias: str = _doc(
        "How the learned scorer corrects for position bias (users look at the top of a list more): "
        "ipw (a take at position p weighs p ** learned_propensity_power, at most 10), feature (the "
        "position is a feature when learning, absent when ranking) or none.",
        "feature",
    )
    learned_propensity_power: float = _doc(
        "Examination at position p taken as (1/p) ** this, for learned_debias=ipw.", 1.0
    )
    blend_weights: dict[str, float] = _doc(
        "Weight of each signal in the blend, as signal=weight pairs (mf, covisit, popular, content, "
        "trending, fresh, two_tower, social); 0 turns a signal off.",
        default_factory=lambda: {
            "mf": 0.05,
            "covisit": 1.0,
            "popular": 0.01,
            "fresh": 0.05,
            "two_tower": 0.3,
            "content": 0.0,
            "trending": 0.0,
            "social": 0.0,
        },
    )
    experiment: str = _doc(
        "An A/B experiment as JSON: {\"name\": ..., \"variants\": [{\"name\": \"control\", \"share\": 50}, "
        "{\"name\": ..., \"share\": 50, \"settings\": {\"generators\": \"mf\"}}]} (the first is the control; "
        "a variant overrides ranking settings only, see recsys/experiments.py); empty: none.",
        "",
    )
    coalesce_ms: float = _doc(
        "Bursts of one user's events within this many ms give one list, ranked at the end of the window "
        "with the latest state (bounded: an event waits at most this long); 0 ranks after every event.",
        0.0,
    )
    active_users: int = _doc(
        "Users whose last list is remembered (least recent dropped): a list is published only when it "
        "changed, rule and catalogue changes re-rank these users, and online quality is measured on them.",
        10000,
    )
    active_seconds: float = _doc(
        "A rule change re-ranks the users shown a list within this many event-time seconds (those on "
        "line); 0: every remembered user (active_users).",
        3600.0,
    )
    exclude_types: str = _doc(
        "Interaction types after which the item is never recommended to that user again, comma-separated "
        "(a music service may leave out view and like: a song can be played again). Disliked items are "
        "always excluded.",
        "view,click,like,dislike,rating,purchase,skip",
    )
    creator_attribute: str = _doc("Item attribute naming the item's creator (caps, fairness, blocking).", "creator")
    blocked_creators_attribute: str = _doc(
        "User profile attribute listing the creators the user blocked; their items are never recommended.",
        "blocked_creators",
    )
    max_item_age: float = _doc(
        "Items published longer ago than this (event-time seconds) are never listed; 0: no limit.", 0.0
    )
    rerank_steps: str = _doc(
        "Re-ranking steps after the hard filters, in order, comma-separated: freshness (boost by age), "
        "clickbait (demote items often skipped after a click, or flagged), boosts (rules' boosts), "
        "diversity (maximal marginal relevance), caps (items per genre and creator), fairness (creator "
        "exposure), new_item_slot, pins (rules' pins). A step whose setting turns it off does nothing.",
        "freshness,clickbait,boosts,diversity,caps,fairness,new_item_slot,pins",
    )
    freshness_weight: float = _doc(
        "Relevance (scores are scaled to [0, 1] before re-ranking) added to a just-published item, halving "
        "every freshness_half_life; 0: off.",
        0.0,
    )
    freshness_half_life: float = _doc("Event-time seconds in which the freshness boost halves.", 604800.0)
    clickbait_weight: float = _doc(
        "Relevance taken from an item times its rate of skips and dislikes after a click; 0: off.", 0.0
    )
    clickbait_min_clicks: int = _doc("Clicks an item needs before its skip rate counts.", 20)
    clickbait_half_life: float = _doc(
        "Event-time seconds in which an item's click and skip-after-click counts halve (recent behaviour "
        "counts; 0: never).",
        604800.0,
    )
    clickbait_flag: str = _doc("Item attribute that, when true, marks the item as click-bait.", "clickbait")
    clickbait_flag_weight: float = _doc("Relevance taken from an item flagged as click-bait; 0: off.", 0.5)
    mmr_lambda: float = _doc(
        "Diversity trade-off of maximal marginal relevance: 1 ranks by relevance alone, lower values "
        "prefer items unlike those already listed.",
        1.0,
    )
    mmr_space: str = _doc("What similarity MMR uses: content (item attributes), mf (MF vectors) or genres.", "content")
    max_per_genre: int = _doc("Most items sharing a genre in the top k; 0: no cap.", 0)
    max_per_creator: int = _doc("Most items of one creator in the top k; 0: no cap.", 0)
    fairness_window: float = _doc("Event-time seconds over which creator exposure is counted.", 86400.0)
    fairness_max_share: float = _doc(
        "Largest share of the listed slots one creator may get over the window; items beyond it leave "
        "the top k; 0: no cap.",
        0.0,
    )
    fairness_reserved_slots: int = _doc(
        "Slots of the top k kept for items of creators below fairness_min_share of exposure; 0: none.", 0
    )
    fairness_min_share: float = _doc("Exposure share under which a creator counts as under-exposed.", 0.01)
    new_item_slot: bool = _doc(
        "Give the last place of a list to a new item (published within new_item_max_age) whose "
        "two-tower fit is at least that of the item it displaces, when none is in it.",
        True,
    )
    new_item_max_age: float = _doc("Event-time seconds an item counts as new for that slot.", 86400.0)
    blend_offset: float = _doc("Rank-fusion offset: a signal adds weight / (offset + rank).", 60.0)
    trending_half_life: float = _doc("Seconds of event time in which a trending count halves.", 86400.0)
    social_half_life: float = _doc("Seconds of event time in which a followee's like halves (social).", 259200.0)
    social_likes: int = _doc("Recent positive events kept per user for their followers' social candidates.", 50)
    max_following: int = _doc("Followees kept per user (the oldest follow is dropped beyond this).", 1000)
    content_dim: int = _doc("Length of the content vectors (random projection of item attributes).", 64)
    tower_dim: int = _doc("Length of the two-tower embeddings.", 32)
    tower_learning_rate: float = _doc("Adagrad step of the two-tower model.", 0.1)
    tower_history: int = _doc("Recent positives in the user tower's input.", 20)
    tower_reembed_events: int = _doc(
        "Re-embed every item once per this many two-tower steps (a slice of the catalogue at every index "
        "refresh, so no refresh re-embeds it whole).",
        2000,
    )
    covisit_window: int = _doc("Recent positives per user that co-visitation pairs and queries with.", 5)
    covisit_half_life: float = _doc("Event-time seconds in which a co-visitation count halves (0: never).", 0.0)
    mf_loss: str = _doc(
        "How the MF model learns: bpr (pairwise, numpy; the default) or squared (River's BiasedMF, "
        "pointwise, target 1 for positives and 0 for negatives).",
        "bpr",
    )
    factors: int = _doc("Latent factors of the matrix-factorisation model.", 32)
    learning_rate: float = _doc(
        "SGD step of item factors and biases; 0 picks the loss's own (bpr 0.5, squared 0.05).", 0.0
    )
    user_learning_rate: float = _doc(
        "SGD step of a user's factors (bpr only; squared uses learning_rate); 0 picks 3.0.", 0.0
    )
    l2: float = _doc("L2 regularisation of latent factors and biases.", 0.01)
    max_norm: float = _doc("Largest length of a latent vector (bpr only; 0: no limit).", 3.0)
    negatives: int = _doc(
        "Items sampled as negatives per positive event, among items someone took (squared pays a "
        "River step for each; 4 suits it).",
        32,
    )
    init_std: float = _doc("Standard deviation of the initial latent factors.", 0.1)
    wals_l2: float = _doc("L2 regularisation of WALS, the batch fit of the MF factors (`recsys train`).", 0.1)
    wals_alpha: float = _doc(
        "WALS confidence slope: an item a user took with summed positive weight r counts 1 + alpha * r.", 10.0
    )
    wals_iterations: int = _doc("Alternating sweeps of each WALS fit.", 10)
    wals_refresh_events: int = _doc(
        "Re-fit WALS over the recent positive events every this many applied interactions, then fold "
        "each user in at their next event (synchronous; bpr only); 0: never. With several workers each "
        "re-fits over its own users' positives only (the shared updates carry no user rows).",
        0,
    )
    wals_buffer: int = _doc("Recent (user, item, weight) positives kept for the periodic WALS re-fit.", 200000)
    ann_backend: str = _doc(
        "Nearest-neighbour index: auto (exact numpy up to 20,000 items, then hnswlib, its graph built in a "
        "thread), hnsw (approximate, hnswlib through the maximum-inner-product reduction) or brute (exact numpy).",
        "auto",
    )
    hnsw_m: int = _doc("hnswlib M: graph degree.", 12)
    hnsw_ef_construction: int = _doc("hnswlib ef_construction.", 200)
    hnsw_ef: int = _doc("hnswlib ef at query time (raised to n when n is larger).", 200)
    index_refresh_events: int = _doc("Refresh the index after this many changed item vectors ...", 256)
    index_refresh_seconds: float = _doc("... or after this many seconds, whichever comes first.", 1.0)
    index_tolerance: float = _doc(
        "Re-index an item only when its vector moved by more than this fraction of its indexed "
        "length (hnswlib updates cost milliseconds; lists are scored with current vectors anyway).",
        0.5,
    )
    index_refresh_ms: float = _doc(
        "Time an index refresh may spend writing into hnswlib (a write costs 0.1-1 ms, more at a million "
        "items), the items of events first and the most moved first; the rest wait for the next refresh "
        "(items of events) or the next pass of the rolling re-embedding. At least 8 vectors are written each "
        "time; exact (numpy) indexes are never limited; 0: no limit.",
        20.0,
    )
    index_background_writes: bool = _doc(
        "Write into hnswlib graphs on a thread of their own (hnswlib releases the GIL: the writes run on "
        "another core while the engine ranks); the periodic refresh queues at most 256 vectors and leaves the "
        "rest for later. Off: the refresh writes in the engine's thread, within index_refresh_ms.",
        True,
    )
    dedupe_window: int = _doc("Event ids remembered per user to skip redelivered events.", 200)
    learnt_window: int = _doc(
        "Interactions whose item-side learning the worker remembers by id (the latest this many, of every "
        "worker; about 80 bytes each): after a crash, a redelivered interaction whose item update was lost "
        "is learnt again, and an update already held is not applied twice (recsys.items.learnt).",
        200_000,
    )
    history_size: int = _doc("Recent items kept per user.", 50)
    max_seen: int = _doc(
        "Items remembered per user as seen (excluded from recommendations) or disliked, at most this many: "
        "those of the user's last max(max_seen, dedupe_window, history_size) events (follows and context "
        "changes count as events).",
        5000,
    )
    user_cache: int = _doc(
        "Users whose state is kept decoded in memory (least recently used dropped; one with a full log of "
        "5,000 events takes about 0.7 MiB); a miss reads the user's records from the table.",
        1000,
    )
    user_chunk: int = _doc(
        "Event-log entries per sealed chunk of a user's state: the record rewritten on every event carries "
        "up to this many recent entries (and at most 1 KiB of them); each full chunk is written once.",
        32,
    )
    seed: int = _doc("Seed of every random choice (initial factors, negative sampling).", 42)
    model_name: str = _doc("Name of the model, the first part of model_version in each list.", "online-mf")

    def __post_init__(self) -> None:
        self._validate()

    # --------------------------------------------------------------------------------
    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``RECSYS_*`` variables from ``environ`` (default: the process environment)."""
        env = os.environ if environ is None else environ
        known = {f.name for f in fields(cls)}
        secret = {f.name for f in fields(cls) if f.metadata.get("secret")}
        stray = sorted(
            k
            for k in env
            if k.startswith(ENV_PREFIX)
            and k[len(ENV_PREFIX) :].lower() not in known
            and k.removesuffix("_FILE")[len(ENV_PREFIX) :].lower() not in secret
            and k not in NOT_SETTINGS
        )
        if stray:
            raise ConfigError(
                f"unknown setting(s) {', '.join(stray)}; known: "
                + ", ".join(ENV_PREFIX + n.upper() for n in sorted(known))
            )
        values: dict[str, Any] = {}
        for f in fields(cls):
            var = ENV_PREFIX + f.name.upper()
            if var in env:
                values[f.name] = _parse(var, f.type, env[var], getattr(cls(), f.name))
            if f.metadata.get("secret") and var + "_FILE" in env:
                if var in env:
                    raise ConfigError(f"set {var} or {var}_FILE, not both")
                values[f.name] = _read_secret(var + "_FILE", env[var + "_FILE"])
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def describe(cls) -> list[tuple[str, str, str]]:
        """(variable, default, meaning) of every setting, for the README and ``recsys settings``."""
        default = cls()
        return [(ENV_PREFIX + f.name.upper(), _show(getattr(default, f.name)), f.metadata["doc"]) for f in fields(cls)]

    def as_dict(self) -> dict[str, Any]:
        """Every setting by name, secrets masked (:data:`MASK` when set).

        >>> shown = Settings(sasl_password="hunter2").as_dict()
        >>> shown["sasl_password"], shown["api_token"]
        ('********', '')
        >>> "hunter2" in repr(Settings(sasl_password="hunter2"))
        False
        """
        out = {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}
        for f in fields(self):
            if f.metadata.get("secret"):
                out[f.name] = MASK if out[f.name] else ""
        return out

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

    def _validate(self) -> None:
        def need(cond: bool, name: str, msg: str) -> None:
            if not cond:
                got = self.as_dict()[name]  # a secret masked
                raise ConfigError(f"{ENV_PREFIX}{name.upper()}: {msg} (got {got!r})")

        for name in ("partitions", "replication_factor", "k", "candidates", "factors", "hnsw_m",
                     "hnsw_ef_construction", "hnsw_ef", "index_refresh_events", "dedupe_window", "learnt_window",
                     "history_size", "max_seen", "learned_keep", "learned_memory", "user_cache",
                     "user_chunk"):  # fmt: skip
            need(getattr(self, name) >= 1, name, "must be at least 1")
        need(self.negatives >= 0, "negatives", "must be 0 or more")
        need(self.learned_negatives >= 0, "learned_negatives", "must be 0 or more")
        need(self.learned_min_examples >= 0, "learned_min_examples", "must be 0 or more")
        need(self.mf_loss in ("bpr", "squared"), "mf_loss", "must be bpr or squared")
        need(0 <= self.learning_rate <= 5, "learning_rate", "must be in [0, 5] (0: the loss's default)")
        need(0 <= self.user_learning_rate <= 20, "user_learning_rate", "must be in [0, 20] (0: the default)")
        need(self.l2 >= 0, "l2", "must be 0 or more")
        need(self.max_norm >= 0, "max_norm", "must be 0 (no limit) or more")
        need(self.init_std > 0, "init_std", "must be positive")
        need(self.snapshot_seconds > 0, "snapshot_seconds", "must be positive")
        need(self.fetch_wait_ms >= 1, "fetch_wait_ms", "must be at least 1")
        need(self.session_timeout_ms >= 1000, "session_timeout_ms", "must be at least 1000 (ms; the broker's floor "
             "is group.min.session.timeout.ms, 6000 by default)")
        need(self.blas_threads >= 0, "blas_threads", "must be 0 (the library's default) or more")
        need(self.log_format in ("json", "text"), "log_format", "must be json or text")
        need(self.index_refresh_seconds >= 0, "index_refresh_seconds", "must be 0 or more")
        need(self.index_tolerance >= 0, "index_tolerance", "must be 0 or more")
        need(self.ann_backend in ("auto", "hnsw", "brute"), "ann_backend", "must be auto, hnsw or brute")
        need(0 < self.web_port < 65536, "web_port", "must be a TCP port")
        need("://" in self.broker_url, "broker_url", "must look like kafka://127.0.0.1:9092")
        need(not self.web_url or self.web_url.startswith(("http://", "https://")), "web_url",
             "must look like http://worker-1:6066 (or be empty)")  # fmt: skip
        chosen = self.generator_names
        need(bool(chosen), "generators", "must name at least one generator")
        need(self.scorer in ("blend", "learned", "mf"), "scorer", "must be blend, learned or mf")
        need(self.learned_learning_rate > 0, "learned_learning_rate", "must be positive")
        need(self.learned_debias in ("none", "ipw", "feature"), "learned_debias", "must be none, ipw or feature")
        need(self.learned_propensity_power >= 0, "learned_propensity_power", "must be 0 or more")
        need(self.trending_half_life > 0, "trending_half_life", "must be positive seconds")
        need(self.social_half_life > 0, "social_half_life", "must be positive seconds")
        need(self.social_likes >= 1, "social_likes", "must be at least 1")
        need(self.max_following >= 1, "max_following", "must be at least 1")
        need(self.content_dim >= 2, "content_dim", "must be at least 2")
        need(self.tower_dim >= 2, "tower_dim", "must be at least 2")
        need(self.tower_learning_rate > 0, "tower_learning_rate", "must be positive")
        need(self.tower_history >= 0, "tower_history", "must be 0 or more")
        need(self.tower_reembed_events >= 1, "tower_reembed_events", "must be at least 1")
        need(self.index_refresh_ms >= 0, "index_refresh_ms", "must be 0 (no limit) or more")
        need(self.covisit_window >= 1, "covisit_window", "must be at least 1")
        need(self.covisit_half_life >= 0, "covisit_half_life", "must be 0 (no decay) or positive seconds")
        need(self.blend_offset >= 0, "blend_offset", "must be 0 or more")
        need(self.new_item_max_age > 0, "new_item_max_age", "must be positive seconds")
        need(self.max_event_bytes >= 1024, "max_event_bytes", "must be at least 1024")
        need(self.security_protocol in SECURITY_PROTOCOLS, "security_protocol",
             f"must be one of {', '.join(SECURITY_PROTOCOLS)}")  # fmt: skip
        need(self.sasl_mechanism in SASL_MECHANISMS, "sasl_mechanism", f"must be one of {', '.join(SASL_MECHANISMS)}")
        if self.security_protocol.startswith("SASL_"):
            with_sasl = f"with security_protocol={self.security_protocol}"
            need(bool(self.sasl_username), "sasl_username", f"must be set {with_sasl}")
            need(bool(self.sasl_password), "sasl_password", f"must be set (or RECSYS_SASL_PASSWORD_FILE) {with_sasl}")
        need(not self.ssl_certfile or bool(self.ssl_keyfile), "ssl_keyfile", "must be set with ssl_certfile")
        for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            path = getattr(self, name)
            need(not path or Path(path).is_file(), name, f"must name a readable PEM file (no file at {path!r})")
        need(self.dead_letter_max_bytes >= 8192, "dead_letter_max_bytes",
             "must be at least 8192 (a letter holds the reason and where the input was)")  # fmt: skip
        need(self.coalesce_ms >= 0, "coalesce_ms", "must be 0 (off) or more")
        need(self.coalesce_ms <= 10000, "coalesce_ms", "must be at most 10000: it bounds every list's delay")
        need(self.active_users >= 1, "active_users", "must be at least 1")
        need(self.active_seconds >= 0, "active_seconds", "must be 0 (every remembered user) or positive seconds")
        types = [t.strip() for t in self.exclude_types.split(",") if t.strip()]
        need(set(types) <= set(INTERACTION_TYPES), "exclude_types",
             f"must be a comma-separated subset of {', '.join(INTERACTION_TYPES)} (may be empty)")  # fmt: skip
        need(self.max_item_age >= 0, "max_item_age", "must be 0 (no limit) or positive seconds")
        steps = self.rerank_step_names
        need(len(steps) == len(set(steps)), "rerank_steps", "must name each step once")
        need(self.freshness_weight >= 0, "freshness_weight", "must be 0 (off) or more")
        need(self.freshness_half_life > 0, "freshness_half_life", "must be positive seconds")
        need(self.clickbait_weight >= 0, "clickbait_weight", "must be 0 (off) or more")
        need(self.clickbait_flag_weight >= 0, "clickbait_flag_weight", "must be 0 (off) or more")
        need(self.clickbait_min_clicks >= 1, "clickbait_min_clicks", "must be at least 1")
        need(self.clickbait_half_life >= 0, "clickbait_half_life", "must be 0 (no decay) or positive seconds")
        need(0 <= self.mmr_lambda <= 1, "mmr_lambda", "must be in [0, 1] (1: no diversification)")
        need(self.mmr_space in ("content", "mf", "genres"), "mmr_space", "must be content, mf or genres")
        need(self.max_per_genre >= 0, "max_per_genre", "must be 0 (no cap) or more")
        need(self.max_per_creator >= 0, "max_per_creator", "must be 0 (no cap) or more")
        need(self.fairness_window > 0, "fairness_window", "must be positive seconds")
        need(0 <= self.fairness_max_share <= 1, "fairness_max_share", "must be in [0, 1] (0: no cap)")
        need(self.fairness_reserved_slots >= 0, "fairness_reserved_slots", "must be 0 (none) or more")
        need(0 <= self.fairness_min_share <= 1, "fairness_min_share", "must be in [0, 1]")
        need(self.wals_l2 > 0, "wals_l2", "must be positive (it keeps every least-squares solve well posed)")
        need(self.wals_alpha >= 0, "wals_alpha", "must be 0 or more")
        need(self.wals_iterations >= 1, "wals_iterations", "must be at least 1")
        need(self.wals_refresh_events >= 0, "wals_refresh_events", "must be 0 (off) or more")
        need(self.wals_buffer >= 1, "wals_buffer", "must be at least 1")
        need(not (self.wals_refresh_events and self.mf_loss != "bpr"), "wals_refresh_events",
             "needs RECSYS_MF_LOSS=bpr: WALS factors only go into the BPR model; set it to 0")  # fmt: skip
        unknown = sorted(set(self.event_weights) - set(INTERACTION_TYPES))
        need(not unknown, "event_weights", f"unknown event type(s) {unknown}; known: {list(INTERACTION_TYPES)}")


def _parse(var: str, kind: Any, raw: str, default: Any) -> Any:
    kind = str(kind)
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "Path":
            return Path(raw)
        if kind == "bool":
            flag = raw.strip().lower()
            if flag not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(raw)
            return flag in ("1", "true", "yes", "on")
        if kind.startswith("dict"):
            weights = dict(default)
            for pair in filter(None, (p.strip() for p in raw.split(","))):
                key, _, value = pair.partition("=")
                weights[key.strip()] = float(value)
            return weights
    except ValueError:
        expected = {"int": "an integer", "float": "a number", "Path": "a path", "bool": "true or false"}.get(
            kind, "type=weight pairs such as like=2,skip=-0.5"
        )
        raise ConfigError(f"{var}: expected {expected}, got {raw!r}") from None
    return raw


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
