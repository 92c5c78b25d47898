"""Shared fixtures: the real Kafka broker for integration tests, and a worker process; a helper that
runs a re-ranking step on `Scored` records."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from recsys.request import Request
from recsys.rerank.base import Ranked, Reranker
from recsys.rows import RowSpace
from recsys.scoring import Scored
from recsys.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
TOPIC_FIELDS = tuple(name for name in Settings.__struct_fields__ if name.startswith("topic_"))


def topic_stem(field: str) -> str:
    """``topic_dead_letters`` -> ``dead-letters``."""
    return field.removeprefix("topic_").replace("_", "-")


def rerank(step: Reranker, request: Request, scored: Sequence[Scored], space: RowSpace | None = None) -> list[Scored]:
    """Run one re-ranking step on a list of :class:`Scored` records and return the list it makes as
    :class:`Scored` records. The list travels as a :class:`Ranked` over ``space``: the catalogue's
    row space for a step that reads a catalogue (ids it does not know get rows), a fresh one
    otherwise (rows in the order of ``scored``)."""
    ranked = Ranked.of(RowSpace() if space is None else space, scored)
    return step.rerank(request, ranked).scored()


BROKER_PORT = int(os.environ.get("RECSYS_TEST_KAFKA_PORT", "9092"))


def _kafka_launcher() -> Any:
    spec = importlib.util.spec_from_file_location("deploy_kafka", ROOT / "deploy" / "kafka.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def kafka() -> Iterator[str]:
    """A real broker on 127.0.0.1: reuse one that answers, else start one (and stop it after)."""
    launcher = _kafka_launcher()
    started = False
    if not launcher.is_up(BROKER_PORT):
        launcher.start(port=BROKER_PORT, controller_port=BROKER_PORT + 1, timeout=120)
        started = True
    yield f"kafka://127.0.0.1:{BROKER_PORT}"
    if started:
        launcher.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WorkerProcess:
    """``python -m streams.worker`` in a subprocess, configured only through RECSYS_* variables."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def settings(self) -> Settings:
        return Settings.from_env({k: v for k, v in self.env.items() if k.startswith("RECSYS_")})

    def start(self) -> WorkerProcess:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "streams.worker"], env=self.env, cwd=ROOT,
                                     stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        return self

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM (a clean stop: final snapshot, commit) and wait."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL, as a crash or power loss: no final snapshot, no commit, no leaving the group."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def worker_environment(kafka: str, folder: Path, prefix: str = "test", **extra: str) -> dict[str, str]:
    """Environment for a worker with its own app id, topics, data dir (under ``folder``) and web port."""
    tag = uuid.uuid4().hex[:8]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECSYS_")}
    env.update({
        "RECSYS_BROKER_URL": kafka,
        "RECSYS_APP_ID": f"{prefix}-{tag}",
        # every topic its own, so no test worker creates or reads a shared one
        **{f"RECSYS_{name.upper()}": f"{topic_stem(name)}-{tag}" for name in TOPIC_FIELDS},
        "RECSYS_PARTITIONS": "2",
        "RECSYS_DATA_DIR": str(folder / f"data-{tag}"),
        "RECSYS_WEB_PORT": str(free_port()),
        "RECSYS_LOG_LEVEL": "info",
    })  # fmt: skip
    env.update(extra)
    return env


@pytest.fixture
def worker_env(kafka: str, tmp_path: Path) -> Callable[..., dict[str, str]]:
    """:func:`worker_environment` for this test, with settings changed by keyword."""
    return lambda **extra: worker_environment(kafka, tmp_path, **extra)


def get_json(port: int, path: str, token: str | None = None, timeout: float = 15.0) -> tuple[int, Any]:
    """``(status, decoded JSON body)`` of a GET on a worker's web port (with a bearer ``token`` when
    given); ``(0, None)`` while it does not answer."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except (OSError, ValueError):
        return 0, None


def stats(worker: WorkerProcess) -> dict[str, Any]:
    """The worker's ``/stats`` page (counters); {} while it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.settings.web_port}/stats", timeout=2) as reply:
            return dict(json.loads(reply.read()))
    except (OSError, ValueError):
        return {}


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, worker: WorkerProcess | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if worker is not None and not worker.alive():
            pytest.fail(f"the worker died while waiting for {what}:\n{worker.log_tail()}")
        time.sleep(0.2)
    tail = worker.log_tail() if worker else ""
    pytest.fail(f"timed out after {timeout}s waiting for {what}\n{tail}")


@pytest.fixture
def topic_settings(kafka: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Settings]]:
    """Make settings on fresh uuid-suffixed topics of the test broker (every ``topic_*`` setting),
    also exported as RECSYS_* variables for code that reads the environment; the topics are
    deleted after the test. ``make(prefix, **settings)`` sets further RECSYS_* values."""
    from streams.kafka_io import BrokerUnavailable, make_admin, wait_for_broker

    made: list[Settings] = []

    def make(prefix: str, **extra: str) -> Settings:
        monkeypatch.setenv("RECSYS_BROKER_URL", kafka)
        suffix = uuid.uuid4().hex[:8]
        names = {name: f"{prefix}-{topic_stem(name)}-{suffix}" for name in TOPIC_FIELDS}
        for name, value in {**names, **extra}.items():
            monkeypatch.setenv(f"RECSYS_{name.upper()}", str(value))
        settings = Settings.from_env()
        try:
            wait_for_broker(settings, timeout=5)
        except BrokerUnavailable as exc:
            pytest.fail(f"integration tests need a running Kafka broker: {exc}", pytrace=False)
        made.append(settings)
        return settings

    yield make
    for settings in made:
        admin = make_admin(settings)
        existing = admin.list_topics(timeout=10).topics
        doomed = [topic for topic in (getattr(settings, name) for name in TOPIC_FIELDS) if topic in existing]
        if doomed:
            for future in admin.delete_topics(doomed, request_timeout=30).values():
                future.result()
