"""The worker's HTTP API: on-demand recommendations, similar items, health, readiness, settings, and the
operator's page.

Every page but the operator's page and its files answers JSON; a bad request gets
``400 {"error": "..."}`` saying how to fix it.

``GET /recommendations/{user_id}/?k=5&exclude=a,b&context.device=tv``
    The user's top ``k`` now, as a :class:`~schemas.Recommendation` (``event_id``
    ``"on-demand"``). Nothing is published or remembered. Only the worker that owns the
    user's partition holds the user's state, so any other worker forwards the request there
    (see :func:`owner_partition`); the answer carries ``X-Recsys-Served-By``.
``GET /users/{user_id}/``
    What the worker holds of the user: ``events`` (interactions applied, each once),
    ``offset`` (the input offset of the last one), ``history``, ``seen``, ``disliked``,
    ``following``, ``context``, ``attributes``; 404 for a user it never saw. Forwarded to the
    owner like recommendations.
``GET /similar/{item_id}/?k=5``
    Items like the item (:func:`recsys.similar.similar_items`); 404 for an unknown item.
    Every worker holds the whole catalogue and answers itself.
``GET /snapshot/``
    The worker's latest model snapshot, a tar (404 before the first): a new worker copies it
    (``RECSYS_BOOTSTRAP_URL``, :mod:`streams.snapshot_copy`).
``GET /health/``
    Liveness: 200 while the event loop answers.
``GET /ready/``
    Readiness: 200 when table recovery finished (and no rebalance is under way), partitions
    are assigned and commits progress; else 503. Both carry ``{"ready", "checks", "details"}``.
``GET /settings/``
    The effective settings.
``GET /dashboard/``
    The operator's page (HTML, no data of its own; ``?user=<id>`` fills its user box): charts of
    throughput, latency, catalogue and index sizes and each experiment variant's lists and hit rate,
    and the live list of one user. Its scripts and styles, uPlot among them (vendored, see
    ``streams/static/README.md``), are served by the worker at ``GET /static/{name}``; nothing is
    fetched from elsewhere.
``GET /dashboard/data/``
    What the page plots (:mod:`streams.dashboard`): the counters now, with the experiment's report,
    and the series of the last :data:`~streams.dashboard.SAMPLES` points, one every
    :data:`~streams.dashboard.SAMPLE_SECONDS`.
``GET /lists/{user_id}/``
    The last list this worker published to the user (as on the recommendations topic), among
    its :data:`~streams.dashboard.RECENT_USERS` most recent; 404 when it holds none (forgotten at a
    rebalance). Forwarded to the owner like recommendations.

Authentication: with ``RECSYS_API_TOKEN`` set, every page needs ``Authorization: Bearer <token>``
but :data:`OPEN_PAGES`: the probes, the dashboard's HTML and its static files, which hold no data.
The page takes the token once as ``?token=``, keeps it in the tab's ``sessionStorage``, drops it
from the address bar and sends it as that header with every request for data.

Routing: interactions are produced keyed by the raw ``user_id`` with Kafka's murmur2
partitioner, and the user table's changelog follows the source partition, so the user lives
on partition ``murmur2(user_id) % partitions``. (faust's ``@app.table_route`` would hash the
table's *JSON-serialised* key, ``'"alice"'``, and send about half the users to the wrong
worker.) The owner of that changelog partition comes from the assignor's table metadata.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Iterable
from importlib import resources
from typing import Any, cast

import aiohttp
import aiohttp.web
import faust
from faust.types import TP, TableT
from faust.web import Request, Response, View
from yarl import URL

from recsys.experiments import report
from recsys.partitioning import partition_of
from schemas import Recommendation
from schemas.events import MAX_ID_LENGTH
from streams.dashboard import Dashboard
from streams.service import Service
from streams.snapshot_copy import pack

MAX_K = 1000
ON_DEMAND = "on-demand"
ROUTED_HEADER = "X-Recsys-Routed-From"
SERVED_BY_HEADER = "X-Recsys-Served-By"
FORWARD_TIMEOUT = 10.0
MAX_EXCLUDE = 1000
"""The most item ids ``exclude`` may name."""
MAX_CONTEXT = 32
"""The most ``context.<key>`` parameters of one request."""
COMMIT_STALL_SECONDS = 30.0
"""How long commits may stand still while a partition has uncommitted messages before the
worker reports not ready (faust commits every ``broker_commit_interval``, 2.8 s by default)."""


class BadRequest(ValueError):
    """A query parameter is wrong; the message says how to fix it."""


# ---------------------------------------------------------------------------- parameters
def parse_k(raw: str | None, default: int) -> int:
    """The ``k`` parameter: a whole number from 1 to :data:`MAX_K` (``default`` when absent).

    >>> parse_k("3", 10), parse_k(None, 10)
    (3, 10)
    >>> parse_k("0", 10)
    Traceback (most recent call last):
    ...
    streams.web.BadRequest: k must be a whole number from 1 to 1000, such as k=10 (got '0')
    """
    if raw is None:
        return default
    try:
        k = int(raw.strip())
    except ValueError:
        k = 0
    if not 1 <= k <= MAX_K:
        raise BadRequest(f"k must be a whole number from 1 to {MAX_K}, such as k=10 (got {raw!r})")
    return k


def parse_recommendation_query(
    params: Iterable[tuple[str, str]], default_k: int
) -> tuple[int, set[str], dict[str, str]]:
    """``(k, exclude, context)`` from the query of ``/recommendations/{user_id}/``.

    ``exclude`` is comma-separated item ids (it may repeat); ``context.<key>=<value>``
    overrides one key of the user's context for this request.

    >>> k, exclude, context = parse_recommendation_query(
    ...     [("k", "3"), ("exclude", "a, b,"), ("exclude", "c"), ("context.device", "tv")], 10)
    >>> k, sorted(exclude), context
    (3, ['a', 'b', 'c'], {'device': 'tv'})
    >>> parse_recommendation_query([("count", "3")], 10)
    Traceback (most recent call last):
    ...
    streams.web.BadRequest: unknown parameter 'count'; use k=<1..1000>, exclude=<id,id,...> \
and context.<key>=<value> (e.g. context.device=tv)
    """
    k: str | None = None
    exclude: set[str] = set()
    context: dict[str, str] = {}
    for name, value in params:
        if name == "k":
            if k is not None:
                raise BadRequest("give k once (e.g. k=10)")
            k = value
        elif name == "exclude":
            exclude.update(i.strip() for i in value.split(",") if i.strip())
        elif name.startswith("context."):
            key = name.removeprefix("context.").strip()
            if not key:
                raise BadRequest("a context parameter needs a key after 'context.', e.g. context.device=tv")
            if key in context:
                raise BadRequest(f"give context.{key} once")
            if not value.strip():
                raise BadRequest(f"context.{key} needs a value, e.g. context.{key}=tv")
            context[key] = value
        else:
            raise BadRequest(
                f"unknown parameter {name!r}; use k=<1..{MAX_K}>, exclude=<id,id,...> "
                "and context.<key>=<value> (e.g. context.device=tv)"
            )
    if len(exclude) > MAX_EXCLUDE:
        raise BadRequest(f"exclude names {len(exclude)} items; the limit is {MAX_EXCLUDE}")
    if any(len(i) > MAX_ID_LENGTH for i in exclude):
        raise BadRequest(f"an id in exclude is longer than {MAX_ID_LENGTH} characters")
    if len(context) > MAX_CONTEXT:
        raise BadRequest(f"{len(context)} context parameters; the limit is {MAX_CONTEXT}")
    if any(len(key) > MAX_ID_LENGTH or len(value) > MAX_ID_LENGTH for key, value in context.items()):
        raise BadRequest(f"a context key or value is longer than {MAX_ID_LENGTH} characters")
    return parse_k(k, default_k), exclude, context


def parse_similar_query(params: Iterable[tuple[str, str]], default_k: int) -> int:
    """``k`` from the query of ``/similar/{item_id}/`` (its only parameter)."""
    raw: str | None = None
    for name, value in params:
        if name != "k":
            raise BadRequest(f"unknown parameter {name!r}; /similar/<item_id>/ takes only k=<1..{MAX_K}>")
        if raw is not None:
            raise BadRequest("give k once (e.g. k=10)")
        raw = value
    return parse_k(raw, default_k)


def check_id(kind: str, value: str) -> None:
    if not value.strip():
        raise BadRequest(f"the {kind} in the path must not be empty")
    if len(value) > MAX_ID_LENGTH:
        raise BadRequest(f"the {kind} is longer than {MAX_ID_LENGTH} characters")


def _params(request: Request) -> list[tuple[str, str]]:
    return list(request.query.items())  # aiohttp's MultiDict: every pair, a repeated name too


# ---------------------------------------------------------------------------- routing
def owner_partition(user_id: str, partitions: int) -> int:
    """The partition of ``user_id``'s events and state: Kafka's murmur2 of the raw key bytes.

    The same as the producers' (``partitioner=murmur2_random``) and faust's own:

    >>> from aiokafka.partitioner import DefaultPartitioner
    >>> all(owner_partition(f"u{n}", 4) == DefaultPartitioner()(f"u{n}".encode(), [0, 1, 2, 3], [])
    ...     for n in range(100))
    True
    """
    return partition_of(user_id, partitions)


def _ident(url: URL | str) -> tuple[str, int]:
    url = URL(str(url))
    return url.host or "", url.port or 80


class Router:
    """Finds the worker that owns a user and forwards requests there."""

    def __init__(self, app: faust.App, users: TableT, partitions: int) -> None:
        self.app = app
        self.users = users
        self.partitions = partitions

    @property
    def here(self) -> str:
        return str(self.app.conf.canonical_url)

    def changelog_tp(self, user_id: str) -> TP:
        return TP(self.users.changelog_topic.get_topic_name(), owner_partition(user_id, self.partitions))

    def owns(self, tp: TP) -> bool:
        return tp in self.app.assignor.assigned_actives()

    def owner_url(self, tp: TP) -> str | None:
        for url, topics in self.app.router.table_metadata(self.users.name).items():
            if tp.partition in topics.get(tp.topic, ()):
                return str(url)
        return None

    async def answer_elsewhere(self, view: View, request: Request, user_id: str) -> Response | None:
        """A 400 for a bad ``user_id``, else :meth:`route`: None when this worker serves the user."""
        try:
            check_id("user_id", user_id)
        except BadRequest as exc:
            return _error(view, 400, str(exc))
        return await self.route(view, request, user_id)

    async def route(self, view: View, request: Request, user_id: str) -> Response | None:
        """None when this worker owns ``user_id`` (serve here); else the owner's answer or a 503."""
        tp = self.changelog_tp(user_id)
        if self.owns(tp):
            return None
        if request.headers.get(ROUTED_HEADER):
            return _error(
                view, 503,
                f"{request.headers[ROUTED_HEADER]} forwarded user {user_id!r} here, but this worker does not own "
                f"partition {tp.partition} (a rebalance is under way); retry in a few seconds",
            )  # fmt: skip
        owner = self.owner_url(tp)
        if owner is None:
            return _error(view, 503, f"no worker owns partition {tp.partition} of user {user_id!r} yet "
                                     "(the group is rebalancing); retry in a few seconds")  # fmt: skip
        if _ident(owner) == _ident(self.here):
            return _error(
                view, 503,
                f"partition {tp.partition} of user {user_id!r} belongs to another worker that advertises this "
                f"worker's own URL {owner}: give every worker a web host the others can reach "
                "(RECSYS_WEB_URL, e.g. http://worker-1:6066, when RECSYS_WEB_HOST is 0.0.0.0)",
            )  # fmt: skip
        target = request.url.with_scheme(URL(owner).scheme or "http").with_host(_ident(owner)[0])
        target = target.with_port(_ident(owner)[1])
        try:
            headers = {ROUTED_HEADER: self.here}
            if "Authorization" in request.headers:  # every worker takes the same token
                headers["Authorization"] = request.headers["Authorization"]
            async with self.app.http_client.get(
                target, headers=headers, timeout=aiohttp.ClientTimeout(total=FORWARD_TIMEOUT)
            ) as response:
                body = await response.read()
                served_by = response.headers.get(SERVED_BY_HEADER, owner)
                return view.bytes(
                    body, content_type=response.content_type, status=response.status,
                    headers={SERVED_BY_HEADER: served_by},
                )  # fmt: skip
        except (TimeoutError, aiohttp.ClientError) as exc:
            return _error(view, 503, f"the worker that owns user {user_id!r} ({owner}) did not answer "
                                     f"({type(exc).__name__}: {exc}); retry shortly")  # fmt: skip


# ---------------------------------------------------------------------------- readiness
class Readiness:
    """The checks behind ``/ready/``; remembers when each partition's commit last moved.

    >>> from types import SimpleNamespace as NS
    >>> tp = TP("interactions", 0)
    >>> consumer = NS(assignment=lambda: {tp}, highwater=lambda tp: 10, _committed_offset={tp: 4})
    >>> recovery = NS(completed=NS(is_set=lambda: True))
    >>> app = NS(consumer=consumer, rebalancing=False, in_recovery=False,
    ...          tables=NS(changelog_topics=set(), recovery=recovery))
    >>> readiness = Readiness(app, stall_seconds=30)
    >>> readiness.check(now=0.0)[0], readiness.check(now=20.0)[2]["commits"]
    (True, 'commits progress: interactions[0] lag 6')
    >>> ready, checks, details = readiness.check(now=31.0)
    >>> ready, checks, details["commits"]
    (False, {'recovered': True, 'assigned': True, 'commits': False}, \
'commits stalled (limit 30s): interactions[0] lag 6, no commit for 31s')
    >>> consumer._committed_offset[tp] = 10  # all committed: nothing left to commit
    >>> readiness.check(now=100.0)[0], readiness.check(now=100.0)[2]["commits"]
    (True, 'nothing to commit: no lag on 1 source partitions')
    """

    def __init__(self, app: faust.App, stall_seconds: float = COMMIT_STALL_SECONDS) -> None:
        self.app = app
        self.stall_seconds = stall_seconds
        self.committed: dict[TP, int | None] = {}
        self.moved_at: dict[TP, float] = {}

    def check(self, now: float | None = None) -> tuple[bool, dict[str, bool], dict[str, str]]:
        """``(ready, {check: passed}, {check: explanation})``."""
        now = time.monotonic() if now is None else now
        checks: dict[str, bool] = {}
        details: dict[str, str] = {}
        for name, probe in (("recovered", self._recovered), ("assigned", self._assigned)):
            try:
                checks[name], details[name] = probe()
            except Exception as exc:  # noqa: BLE001 - a check that cannot run has failed
                checks[name], details[name] = False, f"cannot tell yet: {type(exc).__name__}: {exc}"
        try:
            checks["commits"], details["commits"] = self._commits(now)
        except Exception as exc:  # noqa: BLE001
            checks["commits"], details["commits"] = False, f"cannot tell yet: {type(exc).__name__}: {exc}"
        return all(checks.values()), checks, details

    def _recovered(self) -> tuple[bool, str]:
        app = self.app
        if app.rebalancing:
            return False, "the consumer group is rebalancing"
        if app.in_recovery or not cast(Any, app.tables).recovery.completed.is_set():
            return False, "the tables are still being recovered from their changelogs"
        return True, "table recovery finished"

    def _assigned(self) -> tuple[bool, str]:
        assigned = self.app.consumer.assignment()
        if not assigned:
            return False, "no partitions are assigned to this worker (yet)"
        return True, f"{len(assigned)} partitions assigned"

    def _commits(self, now: float) -> tuple[bool, str]:
        """Commits progress when every source partition with uncommitted messages (committed
        offset behind the high watermark) saw its committed offset move in the last
        ``stall_seconds``; a partition without lag has nothing to commit."""
        consumer = self.app.consumer
        changelogs = self.app.tables.changelog_topics
        sources = sorted(tp for tp in consumer.assignment() if tp.topic not in changelogs)
        known = getattr(consumer, "_committed_offset", {})  # faust's record of its own commits
        lagging, stalled = [], []
        for tp in sources:
            committed = known.get(tp)
            if tp not in self.committed or self.committed[tp] != committed:
                self.committed[tp], self.moved_at[tp] = committed, now
            high = consumer.highwater(tp)
            lag = 0 if high is None else max(0, high - (committed or 0))
            if lag:
                lagging.append(f"{tp.topic}[{tp.partition}] lag {lag}")
                still = now - self.moved_at[tp]
                if still > self.stall_seconds:
                    stalled.append(f"{tp.topic}[{tp.partition}] lag {lag}, no commit for {still:.0f}s")
        for tp in set(self.committed) - set(sources):  # revoked partitions
            self.committed.pop(tp, None)
            self.moved_at.pop(tp, None)
        if stalled:
            return False, f"commits stalled (limit {self.stall_seconds:.0f}s): " + "; ".join(stalled)
        if lagging:
            return True, "commits progress: " + "; ".join(lagging)
        return True, f"nothing to commit: no lag on {len(sources)} source partitions"


# ---------------------------------------------------------------------------- the views
def _error(view: View, status: int, message: str) -> Response:
    return view.json({"error": message}, status=status)


# ---------------------------------------------------------------------------- authentication
STATIC_FILES = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "uPlot.iife.min.js": "text/javascript; charset=utf-8",
    "uPlot.min.css": "text/css; charset=utf-8",
    "uPlot.LICENSE": "text/plain; charset=utf-8",
}
"""The files of ``streams/static/`` served at ``/static/{name}``, and their content types (no others)."""
OPEN_PAGES = frozenset({"/health/", "/ready/", "/dashboard/", *(f"/static/{name}" for name in STATIC_FILES)})
"""Pages answered without the token: what an orchestrator's probes ask, and the operator's page's HTML
and files (the data it shows needs the token)."""


def bearer_token_required(token: str) -> Any:
    """An aiohttp middleware: every page but :data:`OPEN_PAGES` answers 401 unless the request
    carries ``Authorization: Bearer <token>`` (compared in constant time)."""
    expected = f"Bearer {token}".encode()

    @aiohttp.web.middleware
    async def check(request: Any, handler: Any) -> Any:
        if request.path in OPEN_PAGES:
            return await handler(request)
        if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected):
            return aiohttp.web.json_response(
                {"error": "this API needs the header 'Authorization: Bearer <token>' with the token the "
                          "worker was given (RECSYS_API_TOKEN)"},
                status=401, headers={"WWW-Authenticate": 'Bearer realm="recsys"'},
            )  # fmt: skip
        return await handler(request)

    return check


def load_static() -> dict[str, bytes]:
    """The operator's page and its files (:data:`STATIC_FILES`), read from the package once: a file
    missing from an install (package data) stops the worker at start, not a browser later."""
    folder = resources.files("streams") / "static"
    return {name: (folder / name).read_bytes() for name in ("dashboard.html", *STATIC_FILES)}


PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
}
"""The page runs only the worker's own scripts and styles, and reads only the worker's pages."""


def register_views(
    service: Service, users: TableT, *, commit_stall_seconds: float | None = None, dashboard: Dashboard | None = None
) -> None:
    """Add the pages described in the module docstring to ``service.app`` (the operator's page and its
    data with ``dashboard``)."""
    app, engine, settings = service.app, service.engine, service.settings
    if settings.api_token:
        app.web.web_app.middlewares.append(bearer_token_required(settings.api_token))  # type: ignore[attr-defined]
    router = Router(app, users, settings.partitions)
    readiness = Readiness(app, COMMIT_STALL_SECONDS if commit_stall_seconds is None else commit_stall_seconds)

    @app.page("/recommendations/{user_id}/", name="recommendations")
    class Recommendations(View):
        async def get(self, request: Request, user_id: str) -> Response:
            started = time.perf_counter()
            try:
                check_id("user_id", user_id)
                k, exclude, context = parse_recommendation_query(_params(request), settings.k)
            except BadRequest as exc:
                return _error(self, 400, str(exc))
            routed = await router.route(self, request, user_id)
            if routed is not None:
                return routed
            items = engine.recommend(user_id, k, exclude, context)
            rec = Recommendation(
                user_id=user_id,
                event_id=ON_DEMAND,
                generated_at=time.time(),
                model_version=engine.model_version,
                items=tuple(items),
                latency_ms=round((time.perf_counter() - started) * 1000.0, 3),
            )
            return self.json(rec.to_dict(), headers={SERVED_BY_HEADER: router.here})

    @app.page("/users/{user_id}/", name="users")
    class Users(View):
        async def get(self, request: Request, user_id: str) -> Response:
            elsewhere = await router.answer_elsewhere(self, request, user_id)
            if elsewhere is not None:
                return elsewhere
            if user_id not in engine.table:
                return _error(self, 404, f"user {user_id!r} has no state here: no event of theirs was applied yet")
            state = engine.user_state(user_id)
            body = {"user_id": user_id, "events": state.events, "offset": state.offset, "history": state.history,
                    "seen": state.seen, "disliked": state.disliked, "following": state.following,
                    "context": state.context, "attributes": state.attributes}  # fmt: skip
            return self.json(body, headers={SERVED_BY_HEADER: router.here})

    @app.page("/similar/{item_id}/", name="similar")
    class Similar(View):
        async def get(self, request: Request, item_id: str) -> Response:
            try:
                check_id("item_id", item_id)
                k = parse_similar_query(_params(request), settings.k)
            except BadRequest as exc:
                return _error(self, 400, str(exc))
            try:
                items = engine.similar(item_id, k)
            except KeyError:
                raise  # a bug, not an unknown item: let it be a 500 with its traceback in the log
            except LookupError as exc:
                return _error(self, 404, str(exc))
            return self.json({"item_id": item_id, "items": [i.to_dict() for i in items]})

    @app.page("/snapshot/", name="snapshot")
    async def snapshot(web: View, request: Request) -> Response:
        try:
            raw = await asyncio.to_thread(pack, service.model_dir)
        except FileNotFoundError as exc:
            return _error(web, 404, f"{exc}: the first is written {settings.snapshot_seconds:g} s after start")
        return web.bytes(raw, content_type="application/x-tar")

    @app.page("/health/", name="health")
    async def health(web: View, request: Request) -> Response:
        return web.json({"status": "ok"})

    @app.page("/ready/", name="ready")
    async def ready(web: View, request: Request) -> Response:
        ok, checks, details = readiness.check()
        return web.json({"ready": ok, "checks": checks, "details": details}, status=200 if ok else 503)

    @app.page("/experiments/", name="experiments")
    async def experiments(web: View, request: Request) -> Response:
        """The running experiment, each variant's counts on this worker, and the report against control."""
        if engine.experiment is None:
            return web.json({"experiment": None, "variants": {}, "report": []})
        name, counts = engine.variant_counts()
        return web.json({"experiment": engine.experiment.to_dict(), "variants": counts,
                         "report": report(counts, engine.experiment.control)})  # fmt: skip

    @app.page("/settings/", name="settings")
    async def settings_page(web: View, request: Request) -> Response:
        return web.json(settings.as_dict())

    if dashboard is not None:
        _register_dashboard(app, router, dashboard)


def _register_dashboard(app: faust.App, router: Router, dashboard: Dashboard) -> None:
    """The operator's page, its files, its data and the users' last lists."""
    files = load_static()

    @app.page("/dashboard/", name="dashboard")
    async def page(web: View, request: Request) -> Response:
        return web.bytes(files["dashboard.html"], headers=PAGE_HEADERS)

    @app.page("/static/{name}", name="static")
    class Static(View):
        async def get(self, request: Request, name: str) -> Response:
            if name not in STATIC_FILES:
                return _error(self, 404, f"no file {name!r} here; the worker serves {', '.join(sorted(STATIC_FILES))}")
            headers = {"Content-Type": STATIC_FILES[name], "Cache-Control": "no-cache",
                       "X-Content-Type-Options": "nosniff"}  # fmt: skip
            return self.bytes(files[name], headers=headers)

    @app.page("/dashboard/data/", name="dashboard-data")
    async def data(web: View, request: Request) -> Response:
        return web.json({**dashboard.sampler.page(), "worker": router.here})

    @app.page("/lists/{user_id}/", name="lists")
    class Lists(View):
        async def get(self, request: Request, user_id: str) -> Response:
            elsewhere = await router.answer_elsewhere(self, request, user_id)
            if elsewhere is not None:
                return elsewhere
            encoded = dashboard.lists.get(user_id)
            if encoded is None:
                return _error(
                    self, 404,
                    f"no list of user {user_id!r} here: none was published to them since this worker started or "
                    f"last rebalanced (it keeps the last list of its {dashboard.lists.capacity} most recent users)",
                )  # fmt: skip
            return self.bytes(encoded, headers={"Content-Type": "application/json; charset=utf-8",
                                                SERVED_BY_HEADER: router.here})  # fmt: skip
