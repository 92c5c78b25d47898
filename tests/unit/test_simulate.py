"""The closed-loop simulator: users with planted tastes answer their lists; an A/B test on it
finds the variant known to be worse, an A/A test finds no difference."""

from __future__ import annotations

from typing import Any

from recsys.simulate import ab_test


def closed_loop(second: dict[str, Any], seed: int = 1) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    return ab_test(second, seed=seed, name=f"test-{seed}")


def test_an_ab_test_in_the_loop_names_the_worse_variant() -> None:
    truth, rows = closed_loop({"generators": "popular", "scorer": "blend"})  # the crowd's items, not the user's
    assert truth["control"]["precision"] > truth["b"]["precision"] + 0.1  # the truth: b shows less of the user's taste
    assert rows["b"]["significant"] and rows["b"]["diff_ci"][1] < 0  # and the live counts see it
    positions = truth["control"]["positions"]
    assert positions[1] > positions[2] > positions[3]  # users examine the top of a list most


def test_an_aa_test_in_the_loop_finds_no_difference() -> None:
    truth, rows = closed_loop({})
    assert not rows["b"]["significant"] and rows["b"]["diff_ci"][0] < 0 < rows["b"]["diff_ci"][1]
    assert abs(truth["control"]["precision"] - truth["b"]["precision"]) < 0.05
