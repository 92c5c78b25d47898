"""Every package exports an explicit, sorted public surface."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = [
    "schemas", "recsys.ann", "recsys.candidates", "recsys.datasets", "recsys.evaluate", "recsys.models",
    "recsys.rerank", "recsys.scoring", "recsys.users",
]  # fmt: skip


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__)
    assert all(hasattr(module, attr) for attr in module.__all__)


def test_recsys_never_imports_kafka() -> None:
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2] / "recsys"
    offenders = [
        str(p) for p in root.rglob("*.py")
        if any(word in p.read_text() for word in ("import faust", "confluent_kafka", "aiokafka"))
    ]  # fmt: skip
    assert offenders == []
