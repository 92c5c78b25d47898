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


def test_expected_clicks_follow_the_true_model_and_quality_is_fixed_per_item() -> None:
    from recsys.datasets.synthetic import SyntheticWorld
    from recsys.simulate import Simulation
    from schemas import Recommendation, RecommendedItem

    world = SyntheticWorld(users=10, items=40, clusters=2, seed=2)
    sim = Simulation(world, None, examine=0.5, relevant=0.6, irrelevant=0.1, quality=0.8)
    own = world.cluster_of_user("u0")
    ids = [item.item_id for item in world.catalogue()]
    mine = [i for i in ids if world.cluster_of_item(i) == own][:2]
    other = next(i for i in ids if world.cluster_of_item(i) != own)
    qualities = [sim.quality_of(i) for i in mine]
    assert all(0.2 <= q <= 1.0 for q in qualities) and sim.quality_of(mine[0]) == qualities[0]
    assert len({round(sim.quality_of(i), 9) for i in ids}) > len(ids) // 2  # spread, not one value
    rec = Recommendation("u0", "e", 0.0, "v", tuple(RecommendedItem(item, 1.0, position=p + 1)
                                     for p, item in enumerate([mine[0], other, mine[1]])), 0.0)  # fmt: skip
    chances = [0.6 * qualities[0], 0.5 * 0.1, 0.25 * 0.6 * qualities[1]]
    assert abs(sim.expected_clicks(rec, own) - (1 - (1 - chances[0]) * (1 - chances[1]) * (1 - chances[2]))) < 1e-12
    assert Simulation(world, None).quality_of(mine[0]) == 1.0  # no spread: every item alike
