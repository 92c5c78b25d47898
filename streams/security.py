"""How every Kafka client of the service authenticates and encrypts, from one set of settings.

Three client libraries talk to the broker: faust (the worker's consumer group, its producer and
its topic admin, through aiokafka), aiokafka directly (the global reader) and confluent-kafka (the
CLI, the history reader, the topic admin, the tests' and benchmarks' clients). Each spells the
same choice differently; this module spells it once for each from :class:`~recsys.settings.Settings`
(``security_protocol``, ``sasl_*``, ``ssl_*``).

>>> from recsys.settings import Settings
>>> plain = Settings()
>>> librdkafka(plain), aiokafka(plain), faust_credentials(plain)
({'security.protocol': 'PLAINTEXT'}, {'security_protocol': 'PLAINTEXT'}, None)
>>> sasl = Settings(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
...                 sasl_username="svc", sasl_password="s3cret")
>>> librdkafka(sasl)["sasl.mechanism"], aiokafka(sasl)["sasl_mechanism"], faust_credentials(sasl).mechanism.value
('SCRAM-SHA-512', 'SCRAM-SHA-512', 'SCRAM-SHA-512')
"""

from __future__ import annotations

import ssl
from typing import Any

import faust

from recsys.settings import Settings


def _tls(settings: Settings) -> bool:
    return settings.security_protocol in ("SSL", "SASL_SSL")


def _sasl(settings: Settings) -> bool:
    return settings.security_protocol.startswith("SASL_")


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """A client TLS context (the brokers' CA, the client's certificate when set); None without TLS."""
    if not _tls(settings):
        return None
    context = ssl.create_default_context(cafile=settings.ssl_cafile or None)
    if settings.ssl_certfile:
        context.load_cert_chain(settings.ssl_certfile, settings.ssl_keyfile or None)
    return context


def librdkafka(settings: Settings) -> dict[str, Any]:
    """confluent-kafka (librdkafka) configuration keys."""
    out: dict[str, Any] = {"security.protocol": settings.security_protocol}
    if _sasl(settings):
        out |= {"sasl.mechanism": settings.sasl_mechanism, "sasl.username": settings.sasl_username,
                "sasl.password": settings.sasl_password}  # fmt: skip
    if _tls(settings):
        if settings.ssl_cafile:
            out["ssl.ca.location"] = settings.ssl_cafile
        if settings.ssl_certfile:
            out |= {"ssl.certificate.location": settings.ssl_certfile, "ssl.key.location": settings.ssl_keyfile}
    return out


def aiokafka(settings: Settings) -> dict[str, Any]:
    """aiokafka client keyword arguments."""
    out: dict[str, Any] = {"security_protocol": settings.security_protocol}
    if _sasl(settings):
        out |= {"sasl_mechanism": settings.sasl_mechanism, "sasl_plain_username": settings.sasl_username,
                "sasl_plain_password": settings.sasl_password}  # fmt: skip
    context = ssl_context(settings)
    if context is not None:
        out["ssl_context"] = context
    return out


def faust_credentials(settings: Settings) -> faust.SASLCredentials | faust.SSLCredentials | None:
    """The ``broker_credentials`` of the faust app (None: plaintext)."""
    context = ssl_context(settings)
    if _sasl(settings):
        return faust.SASLCredentials(username=settings.sasl_username, password=settings.sasl_password,
                                     mechanism=settings.sasl_mechanism, ssl_context=context)  # fmt: skip
    if context is not None:
        return faust.SSLCredentials(context)
    return None
