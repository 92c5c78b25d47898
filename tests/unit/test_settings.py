"""The one settings object: RECSYS_* binding, defaults in one place, errors that name the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, get_args, get_origin

import msgspec
import pytest

from recsys.errors import ConfigError
from recsys.settings import Settings


def test_every_field_binds_to_its_recsys_variable() -> None:
    env = {
        "RECSYS_BROKER_URL": "kafka://kafka:19092",
        "RECSYS_PARTITIONS": "8",
        "RECSYS_K": "25",
        "RECSYS_DATA_DIR": "state",
        "RECSYS_LEARNING_RATE": "0.2",
        "RECSYS_EVENT_WEIGHTS": "view=0.1, purchase=5",
        "RECSYS_ANN_BACKEND": "brute",
    }
    s = Settings.from_env(env)
    assert (s.broker_url, s.partitions, s.k, s.data_dir, s.learning_rate) == (
        "kafka://kafka:19092",
        8,
        25,
        Path("state"),
        0.2,
    )
    assert s.event_weights["view"] == 0.1 and s.event_weights["purchase"] == 5.0 and s.event_weights["like"] == 2.0
    assert s.ann_backend == "brute" and s.broker_servers == "kafka:19092"


def test_defaults_come_from_one_place_and_are_documented() -> None:
    rows = Settings.describe()
    assert len(rows) == len(Settings().as_dict())
    assert all(var.startswith("RECSYS_") and doc for var, _, doc in rows)
    assert Settings.from_env({}) == Settings()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RECSYS_K": "0"}, "RECSYS_K: must be at least 1"),
        ({"RECSYS_PARTITIONS": "four"}, "RECSYS_PARTITIONS: expected an integer"),
        ({"RECSYS_ANN_BACKEND": "faiss"}, "RECSYS_ANN_BACKEND: must be one of auto, hnsw, brute .got 'faiss'."),
        ({"RECSYS_BROKER_URL": "localhost"}, "kafka://"),
        ({"RECSYS_EVENT_WEIGHTS": "love=3"}, "unknown event type"),
        ({"RECSYS_EVENT_WEIGHTS": "like=lots"}, "type=weight pairs"),
        ({"RECSYS_KK": "10"}, "unknown setting"),
    ],
)
def test_invalid_settings_fail_at_start_with_the_variable_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_unrelated_variables_are_ignored() -> None:
    assert Settings.from_env({"BROKER_URL": "kafka://elsewhere:1", "WEB_PORT": "1"}) == Settings()
    launcher = {"RECSYS_KAFKA_DIR": "/tmp/k", "RECSYS_CACHE_DIR": "/tmp/c", "RECSYS_TEST_KAFKA_PORT": "9"}
    assert Settings.from_env(launcher) == Settings()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"generators": "mf,bogus"}, "RECSYS_GENERATORS: unknown name.s. bogus; known: mf, covisit"),
        ({"blend_weights": {"mf": 1.0, "loud": 1.0}}, "RECSYS_BLEND_WEIGHTS: unknown name.s. loud"),
        ({"rerank_steps": "pins,shuffle"}, "RECSYS_RERANK_STEPS: unknown name.s. shuffle; known: freshness"),
    ],
)
def test_names_come_from_the_registries_and_an_unknown_one_stops_the_engine(
    changes: dict[str, object], message: str
) -> None:
    from recsys.engine import Engine

    with pytest.raises(ConfigError, match=message):
        Engine(Settings().replace(**changes))


def test_the_settings_document_every_registered_generator_and_step() -> None:
    from recsys.candidates import GENERATORS
    from recsys.rerank.pipeline import STEPS

    docs = {var: doc for var, _, doc in Settings.describe()}
    assert all(f"{name} (" in docs["RECSYS_GENERATORS"] for name in GENERATORS)
    assert all(name in docs["RECSYS_BLEND_WEIGHTS"] for name in GENERATORS)
    assert Settings().rerank_steps.split(",") == list(STEPS)  # every step, in the registry's order


def test_the_commands_limit_numpys_blas_threads_as_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """``recsys`` commands apply RECSYS_BLAS_THREADS to the BLAS numpy loaded (after import)."""
    from recsys.threads import blas_threads, limit_blas_threads
    from streams.cli import main

    limit_blas_threads(2)
    monkeypatch.setenv("RECSYS_BLAS_THREADS", "1")
    assert main(["settings"]) == 0
    assert blas_threads() == 1


def test_secrets_come_from_a_file_and_are_never_shown(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret-pw\n")
    env = {"RECSYS_SECURITY_PROTOCOL": "SASL_SSL", "RECSYS_SASL_USERNAME": "svc",
           "RECSYS_SASL_PASSWORD_FILE": str(tmp_path / "pw"), "RECSYS_API_TOKEN": "t0ken"}  # fmt: skip
    s = Settings.from_env(env)
    assert (s.sasl_password, s.api_token) == ("s3cret-pw", "t0ken")
    assert "s3cret-pw" not in repr(s) and "t0ken" not in repr(s)
    assert s.as_dict()["sasl_password"] == s.as_dict()["api_token"] == "********"
    with pytest.raises(ConfigError, match="not both"):
        Settings.from_env({**env, "RECSYS_SASL_PASSWORD": "other"})
    with pytest.raises(ConfigError, match="RECSYS_API_TOKEN_FILE: cannot read"):
        Settings.from_env({"RECSYS_API_TOKEN_FILE": str(tmp_path / "missing")})
    with pytest.raises(ConfigError, match="unknown setting"):
        Settings.from_env({"RECSYS_K_FILE": str(tmp_path / "pw")})  # only secrets have a _FILE form


def test_sasl_needs_credentials_and_tls_files_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="RECSYS_SASL_PASSWORD: must be set"):
        Settings(security_protocol="SASL_SSL", sasl_username="svc")
    with pytest.raises(ConfigError, match="RECSYS_SECURITY_PROTOCOL: must be one of"):
        Settings(security_protocol="TLS")
    with pytest.raises(ConfigError, match="RECSYS_SSL_CAFILE: must name a readable PEM file"):
        Settings(security_protocol="SSL", ssl_cafile=str(tmp_path / "ca.pem"))


def test_every_field_declares_its_type_constraints_and_meaning_once() -> None:
    described = {var: doc for var, _, doc in Settings.describe()}
    for field in msgspec.structs.fields(Settings):
        assert get_origin(field.type) is Annotated, field.name
        meta = get_args(field.type)[1]
        assert isinstance(meta, msgspec.Meta) and meta.description, f"{field.name} has no description"
        assert described[f"RECSYS_{field.name.upper()}"] == meta.description


def test_construction_validates_types_constraints_and_choices() -> None:
    with pytest.raises(ConfigError, match=r"^RECSYS_K: must be at least 1 \(got 0\)$"):
        Settings(k=0)
    with pytest.raises(ConfigError, match=r"^RECSYS_ANN_BACKEND: must be one of auto, hnsw, brute \(got 'faiss'\)$"):
        Settings(ann_backend="faiss")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^RECSYS_K: expected an integer, got 'x'$"):
        Settings().replace(k="x")
    with pytest.raises(ConfigError, match=r"^RECSYS_FAIRNESS_MIN_SHARE: must be in \[0, 1\] \(got 2\)$"):
        Settings().replace(fairness_min_share=2)
    with pytest.raises(ConfigError, match=r"RECSYS_MAX_NORM: must be 0 \(no limit\) or more"):
        Settings(max_norm=-1.0)  # a declared message that says what 0 means
    with pytest.raises(ConfigError, match=r"RECSYS_API_TOKEN: expected a string, got '\*+'$"):
        Settings(api_token=5)  # type: ignore[arg-type]  # a secret is masked even when it is the wrong type
    s = Settings().replace(data_dir="state", learning_rate=1)
    assert s.data_dir == Path("state") and isinstance(s.learning_rate, float)


@pytest.mark.parametrize(
    ("raw", "flag"), [("off", False), ("No", False), ("0", False), (" TRUE ", True), ("yes", True)]
)
def test_flags_take_the_usual_spellings(raw: str, flag: bool) -> None:
    assert Settings.from_env({"RECSYS_SHARE_ITEMS": raw}).share_items is flag


def test_a_settings_file_sets_typed_values_under_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "recsys.toml"
    path.write_text(
        'k = 20\nshare_items = false\ngenerators = "mf,covisit"\ndata_dir = "state"\nlearning_rate = 1\n'
        "[event_weights]\nlike = 3.0\nskip = -2\n"
    )
    s = Settings.from_env({"RECSYS_SETTINGS_FILE": str(path)})
    assert (s.k, s.share_items, s.generator_names, s.data_dir, s.learning_rate) == (
        20, False, ["mf", "covisit"], Path("state"), 1.0
    )  # fmt: skip
    assert (s.event_weights["like"], s.event_weights["skip"], s.event_weights["view"]) == (3.0, -2.0, 0.5)
    env = {"RECSYS_SETTINGS_FILE": str(path), "RECSYS_K": "7", "RECSYS_EVENT_WEIGHTS": "skip=-1"}
    s = Settings.from_env(env)
    assert s.k == 7 and s.share_items is False  # the variable wins, the rest of the file stays
    assert (s.event_weights["like"], s.event_weights["skip"]) == (3.0, -1.0)  # pairs merged onto the file's
    assert Settings.from_env({"RECSYS_SETTINGS_FILE": ""}) == Settings()  # empty: no file


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("k = 20\nRECSYS_K = 3\n", r"recsys.toml: unknown setting.s. RECSYS_K; known .lower case"),
        ("k = 0\n", r"recsys.toml: k: must be at least 1 \(got 0\)"),
        ('k = "20"\n', r"recsys.toml: k: expected an integer, got '20'"),
        ('ann_backend = "faiss"\n', r"recsys.toml: ann_backend: must be one of auto, hnsw, brute"),
        ('[event_weights]\nlike = "lots"\n', r"recsys.toml: event_weights: expected a mapping of names to numbers"),
        ("k = \n", r"RECSYS_SETTINGS_FILE: .*recsys.toml is not valid TOML"),
    ],
)
def test_a_bad_settings_file_names_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "recsys.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({"RECSYS_SETTINGS_FILE": str(tmp_path / "recsys.toml")})


def test_a_missing_settings_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="RECSYS_SETTINGS_FILE: cannot read .*name a readable TOML file"):
        Settings.from_env({"RECSYS_SETTINGS_FILE": str(tmp_path / "nowhere.toml")})
