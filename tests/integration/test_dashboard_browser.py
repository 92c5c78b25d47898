"""The operator's page in a real browser, on a running worker and the real broker; and promtool's lint of the
worker's /metrics.

One worker runs an A/B experiment behind an API token; items and interactions go through the broker. Headless
Chromium, driven through the DevTools protocol, opens ``/dashboard/?user=...&token=...``: the numbers it renders
must be the worker's own (``/stats``, ``/experiments/``), uPlot must have drawn the charts, the user's list must be
the one the worker published to the recommendations topic, and it must follow the user's next list and another
user typed into the box. Nothing of the page's data is mocked.

Chromium and promtool are system tools (Debian packages ``chromium`` and ``prometheus``, which ``scripts/setup``
installs when run as root): without them these tests skip, unless ``TESTS_REQUIRE_TOOLS=1`` makes them fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import struct
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from recsys.experiments import Experiment
from recsys.settings import Settings
from schemas import Item, Recommendation, encode
from streams.kafka_io import create_topics
from tests.conftest import ROOT, WorkerProcess, get_json, wait_for, worker_environment
from tests.integration.test_worker import FIRST_RECOMMENDATION_TIMEOUT, Reader, has_rec_for, like, send

pytestmark = pytest.mark.integration

REQUIRE_TOOLS = "TESTS_REQUIRE_TOOLS"
TOKEN = "dashboard-test-token"
EXPERIMENT = {"name": "mf-alone", "variants": [
    {"name": "control", "share": 1},
    {"name": "mf", "share": 1, "settings": {"generators": "mf", "scorer": "mf"}},
]}  # fmt: skip
USERS = [f"user-{n}" for n in range(12)]


def tool(name: str, package: str) -> str:
    """The path of a system tool; skip without it (fail with TESTS_REQUIRE_TOOLS=1)."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (apt-get install {package}; scripts/setup does as root for the tools it lists)"
    if os.environ.get(REQUIRE_TOOLS) == "1":
        pytest.fail(f"{message}, and {REQUIRE_TOOLS}=1 requires it", pytrace=False)
    pytest.skip(f"{message}; {REQUIRE_TOOLS}=1 makes this a failure")


@pytest.fixture(scope="module")
def chromium() -> str:
    return tool("chromium", "chromium")


@pytest.fixture(scope="module")
def promtool() -> str:
    return tool("promtool", "prometheus")


@dataclass
class Running:
    """The worker, its settings and a reader of everything it published."""

    worker: WorkerProcess
    settings: Settings
    reader: Reader

    def get(self, path: str, token: str | None = TOKEN) -> tuple[int, Any]:
        return get_json(self.settings.web_port, path, token=token)

    def applied_rates(self) -> list[float]:
        """The series of interactions applied per second on the dashboard's data page."""
        return list((self.get("/dashboard/data/")[1] or {}).get("series", {}).get("applied", []))

    def last_list(self, user_id: str) -> Recommendation:
        return self.reader.recommendations(user_id)[-1]  # one user's lists share a partition: topic order


@pytest.fixture(scope="module")
def running(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A worker with an experiment and a token, after 36 interactions of 12 users, quiet and sampled."""
    tmp = tmp_path_factory.mktemp("dashboard")
    env = worker_environment(kafka, tmp, "dash", RECSYS_EXPERIMENT=json.dumps(EXPERIMENT), RECSYS_API_TOKEN=TOKEN)
    worker = WorkerProcess(env, tmp / "worker.log")
    s = worker.settings
    create_topics(s)
    genres = ["Comedy", "Drama", "Sci-Fi", "Noir"]
    items = [Item(f"item-{n}", title=f"Item {n}", attributes={"genres": [genres[n % 4]]}) for n in range(20)]
    send(s, s.topic_items, [(i.item_id, encode(i)) for i in items])
    events = [like(f"{u}-{n}", u, f"item-{(3 * i + n) % 20}") for n in range(3) for i, u in enumerate(USERS)]
    reader = Reader(s, s.topic_recommendations)
    worker.start()
    running = Running(worker, s, reader)
    try:  # the interactions once the series has begun, so that its points show them
        wait_for(lambda: running.applied_rates() != [], FIRST_RECOMMENDATION_TIMEOUT, "the first point", worker)
        send(s, s.topic_interactions, events)
        wait_for(lambda: (running.get("/stats")[1] or {}).get("applied") == len(events), 60,
                 "the interactions to be applied", worker)  # fmt: skip
        quiet = time.monotonic() + 2
        reader.poll_until(lambda r: time.monotonic() > quiet, 30, worker)
        wait_for(lambda: running.applied_rates()[-1:] == [0.0], 30, "a point after the traffic", worker)
        yield running
    finally:
        reader.close()
        assert worker.stop() == 0, worker.log_tail()


# ---------------------------------------------------------------------------- a browser, through DevTools
class Browser:
    """One page of headless Chromium driven through the DevTools protocol (a websocket)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.calls = 0
        self.events: list[dict[str, Any]] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.calls += 1
        await self.ws.send_json({"id": self.calls, "method": method, "params": params})
        while True:
            message = await self.ws.receive_json(timeout=30)
            if message.get("id") == self.calls:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return dict(message["result"])
            self.events.append(message)

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-like values only)."""
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait(self, expression: str, what: str, timeout: float = 20.0) -> Any:
        """The value of ``expression`` once true (failing meanwhile, e.g. during a navigation, is not yet)."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            try:
                last = await self.evaluate(expression)
            except AssertionError as exc:
                last = exc
            else:
                if last:
                    return last
            await asyncio.sleep(0.2)
        raise AssertionError(f"the page did not show {what} within {timeout}s (last: {last})")

    def errors(self) -> list[Any]:
        """Uncaught exceptions, console errors and browser errors (a refused script or style, a failed fetch)."""
        return [e["params"] for e in self.events
                if e.get("method") == "Runtime.exceptionThrown"
                or (e.get("method") == "Runtime.consoleAPICalled" and e["params"].get("type") == "error")
                or (e.get("method") == "Log.entryAdded" and e["params"]["entry"].get("level") == "error")]  # fmt: skip


async def _page(profile: Path, session: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
    """The websocket of the page of the Chromium started on ``profile`` with ``--remote-debugging-port=0``
    (it writes the port it chose into the profile)."""
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text().strip():
        if time.monotonic() > deadline:
            raise AssertionError(f"chromium did not open its DevTools port: {(profile / 'chromium.log').read_text()}")
        await asyncio.sleep(0.1)
    port = int(port_file.read_text().split()[0])
    async with session.get(f"http://127.0.0.1:{port}/json/list") as reply:
        targets = await reply.json()
    url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
    return await session.ws_connect(url, max_msg_size=0)


DOM = """JSON.stringify({
  tiles: Object.fromEntries([...document.querySelectorAll(".tile .value")].map(e => [e.id, e.textContent])),
  experiment: document.getElementById("experiment-name").textContent,
  variants: Object.fromEntries([...document.querySelectorAll("#variants tbody tr")].map(
    tr => [tr.dataset.variant, tr.querySelector("td.lists").textContent])),
  charts: document.querySelectorAll(".chart > .uplot").length,
  canvases: document.querySelectorAll(".chart .uplot canvas").length,
  legends: [...document.querySelectorAll("#chart-lists .u-legend .u-label")].map(e => e.textContent),
  user: document.getElementById("user-meta").dataset.user || null,
  list_id: document.getElementById("user-meta").dataset.listId || null,
  items: [...document.querySelectorAll("#user-list tbody tr")].map(tr => tr.dataset.item),
  reasons: [...document.querySelectorAll("#user-list tbody tr:first-child .reason")].map(e => e.textContent),
  status: document.getElementById("status").className,
  search: location.search,
  token: sessionStorage.getItem("recsys-token"),
})"""


def _showing(user_id: str, list_id: str | None = None) -> str:
    """A JavaScript test: the page shows a list of ``user_id`` (that list, when given)."""
    meta = 'document.getElementById("user-meta").dataset'
    test = f"{meta}.user === {json.dumps(user_id)} && document.querySelectorAll('#user-list tbody tr').length > 0"
    if list_id is not None:
        test += f" && {meta}.listId === {json.dumps(list_id)}"
    return test


def test_the_page_shows_the_workers_numbers_charts_and_a_users_live_list(
    chromium: str, running: Running, tmp_path: Path
) -> None:
    s, port = running.settings, running.settings.web_port
    base = f"http://127.0.0.1:{port}"
    # the page's shell and files are open, its data needs the token
    with urllib.request.urlopen(f"{base}/dashboard/", timeout=10) as reply:
        assert reply.headers["Content-Type"] == "text/html; charset=utf-8" and b"dashboard.js" in reply.read()
    with urllib.request.urlopen(f"{base}/static/uPlot.iife.min.js", timeout=10) as reply:
        assert reply.headers["Content-Type"].startswith("text/javascript") and b"uPlot" in reply.read(200)
    first, second = USERS[0], USERS[1]
    assert running.get("/dashboard/data/", token=None)[0] == 401 and running.get(f"/lists/{first}/", None)[0] == 401
    assert running.get("/lists/nobody/")[0] == 404
    status, body = running.get(f"/lists/{first}/")
    assert status == 200 and Recommendation.from_dict(body) == running.last_list(first)
    _, stats = running.get("/stats")
    _, experiments = running.get("/experiments/")
    _, data = running.get("/dashboard/data/")
    before = running.last_list(second)
    assert max(data["series"]["applied"]) > 0 and data["series"]["catalogue"][-1] == 20

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], list[Any]]:
        profile = Path(tempfile.mkdtemp(dir=tmp_path))
        with open(profile / "chromium.log", "wb") as log:
            proc = subprocess.Popen(
                [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                 "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=1280,1000", "about:blank"],
                stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            async with aiohttp.ClientSession() as session:
                browser = Browser(await _page(profile, session))
                for domain in ("Runtime", "Log", "Page"):
                    await browser.call(f"{domain}.enable")
                await browser.call("Page.navigate", url=f"{base}/dashboard/?user={first}&token={TOKEN}")
                await browser.wait("location.pathname === '/dashboard/' && document.readyState === 'complete'", "")
                await browser.wait(f"{_showing(first)} && document.querySelectorAll('#variants tbody tr').length",
                                   f"{first}'s list and the experiment")  # fmt: skip
                await browser.wait("document.getElementById('status').textContent.startsWith('updated')", "data")
                shown = json.loads(await browser.evaluate(DOM))
                # another user, typed into the box
                await browser.evaluate(f'document.getElementById("user-id").value = {json.dumps(second)}; '
                                       'document.getElementById("user-form").requestSubmit(); true')  # fmt: skip
                await browser.wait(_showing(second, before.list_id), f"{second}'s list")
                typed = json.loads(await browser.evaluate(DOM))
                # their next list, published while the page is open: it follows
                send(s, s.topic_interactions, [like(f"{second}-next", second, before.items[0].item_id, ts=2.0)])
                running.reader.poll_until(has_rec_for(second, f"{second}-next"), 30, running.worker)
                await browser.wait(_showing(second, running.last_list(second).list_id), f"{second}'s next list")
                followed = json.loads(await browser.evaluate(DOM))
                return shown, typed, followed, browser.errors()
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    shown, typed, followed, errors = asyncio.run(scenario())
    assert errors == [], errors  # no script error, no request refused, nothing blocked by the page's policy
    tiles = shown["tiles"]
    assert tiles["catalogue"] == f"{stats['items']:,}" == "20"
    assert tiles["index"] == f"{stats['index']:,}"
    assert tiles["applied"] == f"{stats['applied']:,}" == "36"
    assert tiles["published"] == f"{stats['recommendations']:,}" and stats["recommendations"] > 0
    assert tiles["events-in"] == f"{stats['in']:,}" and tiles["dead-letters"] == "0"
    assert shown["experiment"] == "mf-alone (control: control)"
    assert shown["variants"] == {v: f"{c['lists']:,}" for v, c in experiments["variants"].items()}
    assert set(shown["variants"]) == {"control", "mf"} and shown["legends"] == ["control", "mf"]
    assert shown["charts"] == 6 and shown["canvases"] >= 6  # drawn by uPlot
    assert shown["status"] == "status" and shown["search"] == f"?user={first}" and shown["token"] == TOKEN
    published = running.last_list(first)
    assert (shown["user"], shown["list_id"]) == (first, published.list_id)
    assert shown["items"] == [i.item_id for i in published.items] and len(shown["items"]) == s.k
    assert shown["reasons"] == list(published.items[0].reasons) and shown["reasons"]
    assert typed["items"] == [i.item_id for i in before.items]
    latest = running.last_list(second)
    assert latest.event_id == f"{second}-next" and followed["list_id"] == latest.list_id
    assert followed["items"] == [i.item_id for i in latest.items] and typed["items"][0] not in followed["items"]
    assert Experiment.parse(json.dumps(EXPERIMENT)).assign(second) == latest.variant


def test_the_screenshot_script_draws_the_page(chromium: str, running: Running, tmp_path: Path) -> None:
    out = tmp_path / "dashboard.png"
    url = f"http://127.0.0.1:{running.settings.web_port}/dashboard/?user={USERS[0]}"
    env = {**os.environ, "RECSYS_API_TOKEN": TOKEN, "CHROMIUM": chromium}
    script = ROOT / "scripts" / "screenshot-dashboard"
    done = subprocess.run([str(script), url, str(out)], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    head = out.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", head[16:24]) == (1280, 1000)
    assert out.stat().st_size > 50_000  # charts and tables, not a blank page


def test_promtool_finds_nothing_new_in_the_metrics_of_a_worker_running_an_experiment(
    promtool: str, running: Running
) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{running.settings.web_port}/metrics",
                                     headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as reply:
        text = reply.read().decode()
    assert 'recsys_experiment_lists_total{experiment="mf-alone",variant="mf"}' in text
    assert "recsys_processing_seconds_bucket" in text and "recsys_consumer_lag" in text
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0 and not (checked.stdout + checked.stderr).strip(), checked.stdout + checked.stderr


def test_an_erased_users_last_list_is_forgotten(running: Running) -> None:
    """Last: it changes the counters the page test compares."""
    s, user = running.settings, USERS[2]
    assert running.get(f"/lists/{user}/")[0] == 200
    send(s, s.topic_users, [(user, None)])  # a tombstone: the user's erasure
    wait_for(lambda: running.get(f"/lists/{user}/")[0] == 404, 30, f"{user}'s list forgotten", running.worker)
