"""Kafka over TLS with SASL (PLAIN and SCRAM-SHA-512), and the HTTP API behind a bearer token.

A second broker, started here, listens for SASL_SSL next to its own plaintext port (which only its
start-up probe uses); its certificate is signed by a CA this module makes with openssl. The worker
authenticates with SCRAM-SHA-512, the test's clients with PLAIN as another user.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaException

from recsys.settings import Settings
from schemas import Item, encode
from streams.kafka_io import create_topics
from tests.conftest import WorkerProcess, _kafka_launcher, free_port, get_json, wait_for, worker_environment
from tests.integration.test_worker import FIRST_RECOMMENDATION_TIMEOUT, Reader, has_rec_for, like, send


@dataclass
class SecureBroker:
    url: str  # the SASL_SSL listener, kafka://127.0.0.1:<port>
    cafile: Path
    folder: Path


def _openssl(folder: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)


def make_certificates(folder: Path, password: str) -> tuple[Path, Path]:
    """A CA, and a broker certificate it signed for 127.0.0.1 in a PKCS12 keystore: (CA PEM, keystore)."""
    _openssl(folder, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "2", "-subj", "/CN=recsys-test-ca")  # fmt: skip
    _openssl(folder, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key", "-out", "broker.csr",
             "-subj", "/CN=127.0.0.1")  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(folder, "x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "broker.pem", "-days", "2", "-extfile", "san.ext")  # fmt: skip
    _openssl(folder, "pkcs12", "-export", "-in", "broker.pem", "-inkey", "broker.key", "-certfile", "ca.pem",
             "-name", "broker", "-out", "broker.p12", "-passout", f"pass:{password}")  # fmt: skip
    return folder / "ca.pem", folder / "broker.p12"


USERS = {"alice": "alice-" + secrets.token_hex(8), "bob": "bob-" + secrets.token_hex(8)}  # PLAIN, SCRAM


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    folder = tmp_path_factory.mktemp("secure-kafka")
    password = secrets.token_hex(12)
    cafile, keystore = make_certificates(folder, password)
    plain, controller, secure = free_port(), free_port(), free_port()
    extra = f"""
listeners=PLAINTEXT://127.0.0.1:{plain},SASL_SSL://127.0.0.1:{secure},CONTROLLER://127.0.0.1:{controller}
advertised.listeners=PLAINTEXT://127.0.0.1:{plain},SASL_SSL://127.0.0.1:{secure}
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \
user_alice="{USERS["alice"]}";
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location={keystore}
ssl.keystore.password={password}
ssl.key.password={password}
"""
    launcher = _kafka_launcher()
    state = folder / "state"
    launcher.start(port=plain, controller_port=controller, state_dir=state, timeout=180, extra_config=extra,
                   scram=[f"SCRAM-SHA-512=[name=bob,password={USERS['bob']}]"])  # fmt: skip
    try:
        yield SecureBroker(f"kafka://127.0.0.1:{secure}", cafile, folder)
    finally:
        launcher.stop(state)


def _client(broker: SecureBroker, **changes: Any) -> Settings:
    """Settings of a client of the SASL_SSL listener: alice with PLAIN, unless ``changes`` say otherwise."""
    base = {"broker_url": broker.url, "security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN",
            "sasl_username": "alice", "sasl_password": USERS["alice"], "ssl_cafile": str(broker.cafile)}  # fmt: skip
    return Settings(**{**base, **changes})


def _topics(settings: Settings) -> set[str]:
    from streams.kafka_io import make_admin

    return set(make_admin(settings).list_topics(timeout=5).topics)


def test_only_a_client_with_the_ca_and_credentials_gets_in(secure_broker: SecureBroker) -> None:
    assert isinstance(_topics(_client(secure_broker)), set)  # alice, PLAIN, over TLS
    assert isinstance(_topics(_client(secure_broker, sasl_mechanism="SCRAM-SHA-512", sasl_username="bob",
                                      sasl_password=USERS["bob"])), set)  # fmt: skip
    refused = {
        "no TLS, no credentials": Settings(broker_url=secure_broker.url),
        "a wrong password": _client(secure_broker, sasl_password="guess"),
        "SCRAM for a PLAIN-only user": _client(secure_broker, sasl_mechanism="SCRAM-SHA-512"),
        "the system CAs only": _client(secure_broker, ssl_cafile=""),
    }
    for what, settings in refused.items():
        with pytest.raises(KafkaException):
            _topics(settings)
            pytest.fail(f"{what}: the broker answered")


def test_the_worker_streams_over_tls_with_scram_and_its_api_needs_the_token(
    secure_broker: SecureBroker, tmp_path: Path
) -> None:
    token = secrets.token_urlsafe(24)
    (tmp_path / "password").write_text(USERS["bob"] + "\n")
    (tmp_path / "token").write_text(token + "\n")
    env = worker_environment(
        secure_broker.url, tmp_path, "secure",
        RECSYS_SECURITY_PROTOCOL="SASL_SSL", RECSYS_SASL_MECHANISM="SCRAM-SHA-512", RECSYS_SASL_USERNAME="bob",
        RECSYS_SASL_PASSWORD_FILE=str(tmp_path / "password"), RECSYS_SSL_CAFILE=str(secure_broker.cafile),
        RECSYS_API_TOKEN_FILE=str(tmp_path / "token"),
    )  # fmt: skip
    worker = WorkerProcess(env, tmp_path / "worker.log")
    s = worker.settings
    client = s.replace(sasl_mechanism="PLAIN", sasl_username="alice", sasl_password=USERS["alice"])
    create_topics(client)
    send(client, client.topic_items, [(f"item-{n}", encode(Item(f"item-{n}", title=f"Item {n}"))) for n in range(20)])
    reader = Reader(client, client.topic_recommendations)
    worker.start()
    try:
        send(client, client.topic_interactions, [like("s-1", "sam", "item-1"), like("s-2", "sam", "item-2")])
        reader.poll_until(has_rec_for("sam", "s-2"), FIRST_RECOMMENDATION_TIMEOUT, worker)
        listed = {i.item_id for i in reader.recommendations("sam")[-1].items}
        assert listed and not listed & {"item-1", "item-2"}

        port = s.web_port
        assert get_json(port, "/health/")[0] == 200  # probes need no token
        wait_for(lambda: get_json(port, "/ready/")[0] == 200, 60, "the worker to be ready", worker)
        status, body = get_json(port, "/recommendations/sam/?k=3")
        assert status == 401 and "Authorization: Bearer" in body["error"]
        assert get_json(port, "/recommendations/sam/?k=3", token="not-it")[0] == 401
        status, body = get_json(port, "/recommendations/sam/?k=3", token=token)
        assert status == 200 and len(body["items"]) == 3
        status, shown = get_json(port, "/settings/", token=token)
        assert status == 200 and shown["sasl_password"] == shown["api_token"] == "********"
        assert shown["sasl_username"] == "bob" and shown["security_protocol"] == "SASL_SSL"
        assert get_json(port, "/metrics", token=None)[0] == 401
    finally:
        reader.close()
        assert worker.stop() == 0, worker.log_tail()
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert USERS["bob"] not in log and token not in log  # secrets never logged
