"""The closed-loop simulator: users with planted tastes answer their lists; an A/B test on it
finds the variant known to be worse, an A/A test finds no difference."""

from __future__ import annotations

from typing import Any

from recsys.datasets.synthetic import SyntheticWorld
from recsys.engine import Engine
from recsys.experiments import report
from recsys.settings import Settings
from recsys.simulate import Simulation


def closed_loop(second: dict[str, Any], seed: int = 1) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    world = SyntheticWorld(users=200, items=300, clusters=6, seed=seed)
    engine = Engine(Settings(ann_backend="brute"))
    sim = Simulation(world, engine, seed=seed)
    sim.warm_up(2000)
    sim.experiment({"name": f"test-{seed}", "variants": [{"name": "control"}, {"name": "b", "settings": second}]})
    truth = sim.run(2500)
    _, counts = engine.variant_counts()
    return truth, {row["variant"]: row for row in report(counts, "control")}


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
