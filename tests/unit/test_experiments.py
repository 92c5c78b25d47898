"""A/B experiments: parsing, sticky assignment, a ranker per variant, what each variant's lists did."""

from __future__ import annotations

import json

import pytest

from recsys.datasets.synthetic import SyntheticWorld
from recsys.engine import Engine
from recsys.errors import ConfigError
from recsys.experiments import Experiment, report
from recsys.settings import Settings
from schemas import Interaction, Recommendation

MF_ALONE = {"name": "mf-alone", "variants": [
    {"name": "control", "share": 1},
    {"name": "mf", "share": 1, "settings": {"generators": "mf", "scorer": "mf"}},
]}  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("{not json", "not valid JSON"),
        ({"variants": []}, '"name"'),
        ({"name": "e", "variants": [{"name": "a"}]}, "at least two"),
        ({"name": "e", "variants": [{"name": "a"}, {"name": "a"}]}, "must differ"),
        ({"name": "e", "variants": [{"name": "a"}, {"name": "b", "share": 0}]}, "positive number"),
        ({"name": "e", "variants": [{"name": "a"}, {"name": "b", "settings": {"factors": 8}}]}, "cannot differ"),
        ({"name": "e", "variants": [{"name": "a"}, {"name": "b", "weight": 2}]}, "unknown field"),
        ({"name": "e", "extra": 1, "variants": [{"name": "a"}, {"name": "b"}]}, "unknown field"),
    ],
)
def test_a_bad_experiment_says_what_to_fix(spec: object, says: str) -> None:
    with pytest.raises(ConfigError, match="RECSYS_EXPERIMENT") as info:
        Experiment.parse(spec if isinstance(spec, str) else json.dumps(spec))
    assert says in str(info.value)


def test_a_variant_with_an_invalid_setting_is_refused_before_it_runs() -> None:
    engine = Engine(Settings(ann_backend="brute"))
    bad = {"name": "e", "variants": [{"name": "a"}, {"name": "b", "settings": {"candidates": 0}}]}
    with pytest.raises(ConfigError, match="variant 'b'"):
        engine.set_experiment(Experiment.parse(json.dumps(bad)))
    learned = {"name": "e", "variants": [{"name": "a"}, {"name": "b", "settings": {"scorer": "learned"}}]}
    with pytest.raises(ConfigError, match="RECSYS_SCORER=learned"):
        Engine(Settings(ann_backend="brute", scorer="blend", experiment=json.dumps(learned)))
    assert engine.experiment is None and engine.variant_of("u") == ""


def test_assignment_is_sticky_follows_the_shares_and_is_independent_across_experiments() -> None:
    users = [f"user-{n}" for n in range(6000)]
    one = Experiment.parse({"name": "one", "variants": [{"name": "a", "share": 1}, {"name": "b", "share": 2}]})
    two = Experiment.parse({"name": "two", "variants": [{"name": "a", "share": 1}, {"name": "b", "share": 1}]})
    first = [one.assign(u) for u in users]
    assert first == [one.assign(u) for u in users]  # the same every time (and in every process: no salted hash)
    assert abs(first.count("b") / len(users) - 2 / 3) < 0.03
    second = [two.assign(u) for u in users]
    # independent: among one's b users, two splits half and half as among everyone
    b_users = [s for f, s in zip(first, second, strict=True) if f == "b"]
    assert abs(b_users.count("a") / len(b_users) - 0.5) < 0.03
    assert Experiment.parse(json.dumps({**MF_ALONE, "name": "x"})).assign("alice") in ("control", "mf")


def world_engine(**settings: object) -> tuple[Engine, list[Interaction]]:
    world = SyntheticWorld(users=60, items=120, clusters=4, seed=3)
    engine = Engine(Settings(ann_backend="brute", **settings))  # type: ignore[arg-type]
    for item in world.catalogue():
        engine.apply_item(item)
    return engine, list(world.interactions(900))


def test_each_user_is_ranked_by_their_variant_and_the_list_says_which() -> None:
    engine, events = world_engine(experiment=json.dumps(MF_ALONE))
    lists: list[Recommendation] = []
    for event in events:
        rec = engine.process(event).recommendation
        if rec is not None:
            lists.append(rec)
    by_variant = {v: [r for r in lists if r.variant == v] for v in ("control", "mf")}
    assert all(by_variant.values()) and len(lists) == sum(map(len, by_variant.values()))
    assert all(r.variant == engine.variant_of(r.user_id) for r in lists)
    mf_sources = {s for r in by_variant["mf"] for i in r.items for s in i.sources}
    control_sources = {s for r in by_variant["control"] for i in r.items for s in i.sources}
    assert mf_sources <= {"mf", "catalog"} and len(control_sources - {"mf", "catalog"}) >= 2
    assert len({r.list_id for r in lists}) == len(lists)
    assert all([i.position for i in r.items] == list(range(1, len(r.items) + 1)) for r in lists)
    assert Recommendation.from_dict(json.loads(json.dumps(lists[-1].to_dict()))) == lists[-1]


def test_what_users_did_with_their_lists_is_counted_per_variant() -> None:
    engine, events = world_engine(experiment=json.dumps(MF_ALONE), k=5)
    for event in events[:300]:
        engine.process(event)
    user = events[299].user_id
    variant = engine.variant_of(user)
    listed = engine.shown.last(user)
    before = engine.variant_stats[variant].to_dict()
    engine.process(Interaction("hit-1", user, listed[2], "click", timestamp=1e9))  # third on the list
    after = engine.variant_stats[variant].to_dict()
    assert after["positives"] == before["positives"] + 1 and after["hits"] == before["hits"] + 1
    assert after["positions"].get(3, 0) == before["positions"].get(3, 0) + 1
    assert after["lists"] == before["lists"] + 1  # and the click gave a new list
    listed = engine.shown.last(user)
    engine.process(Interaction("skip-1", user, listed[0], "skip", timestamp=1e9 + 1))
    assert engine.variant_stats[variant].negatives == before["negatives"] + 1
    not_listed = next(e.item_id for e in events if e.item_id not in engine.shown.last(user))
    engine.process(Interaction("miss-1", user, not_listed, "like", timestamp=1e9 + 2))
    final = engine.variant_stats[variant].to_dict()
    assert final["positives"] == after["positives"] + 1 and final["hits"] == after["hits"]


def test_an_experiment_starts_changes_and_stops_without_a_restart() -> None:
    engine, events = world_engine()
    for event in events[:200]:
        assert engine.process(event).recommendation is None or engine.variant_of(event.user_id) == ""
    engine.set_experiment(Experiment.parse(json.dumps(MF_ALONE)))
    variants = {rec.variant for e in events[200:500] if (rec := engine.process(e).recommendation) is not None}
    assert variants == {"control", "mf"}
    assert sum(s.lists for s in engine.variant_stats.values()) > 0
    engine.set_experiment(None)
    variants = {rec.variant for e in events[500:600] if (rec := engine.process(e).recommendation) is not None}
    assert variants == {""} and engine.variant_stats == {}


def test_the_report_names_a_difference_only_when_its_interval_excludes_zero() -> None:
    rows = {r["variant"]: r for r in report({"a": {"lists": 4000, "hits": 400}, "b": {"lists": 4000, "hits": 480},
                                             "c": {"lists": 4000, "hits": 410}}, control="a")}  # fmt: skip
    assert rows["a"]["diff"] is None and not rows["a"]["significant"]
    assert rows["b"]["significant"] and rows["b"]["diff_ci"][0] > 0
    assert not rows["c"]["significant"] and rows["c"]["diff_ci"][0] < 0 < rows["c"]["diff_ci"][1]
    low, high = rows["a"]["ci"]
    assert low < 0.1 < high


def test_an_interaction_may_name_the_list_and_position_it_answers() -> None:
    from schemas import SchemaError, decode, encode

    event = Interaction("e1", "u", "i", "click", timestamp=1.0, list_id="a1b2", position=3)
    assert decode(Interaction, encode(event)) == event
    unanswered = decode(Interaction, b'{"event_id": "e2", "user_id": "u", "item_id": "i", "type": "click", '
                                     b'"timestamp": 1}')
    assert (unanswered.list_id, unanswered.position) == ("", 0)
    for bad in ({"position": -1}, {"position": 1.5}, {"list_id": 7}):
        raw = json.dumps({"event_id": "e", "user_id": "u", "item_id": "i", "type": "click", "timestamp": 1, **bad})
        with pytest.raises(SchemaError, match="list_id|position"):
            decode(Interaction, raw.encode())

    engine, events = world_engine(experiment=json.dumps(MF_ALONE), k=5)
    for e in events[:300]:
        engine.process(e)
    user = events[299].user_id
    variant = engine.variant_of(user)
    before = engine.variant_stats[variant].to_dict()
    not_listed = next(e.item_id for e in events if e.item_id not in engine.shown.last(user))
    # a click on an item of an older list of theirs, at position 4 there: a hit at 4
    engine.process(Interaction("old-1", user, not_listed, "click", timestamp=1e9, list_id="older", position=4))
    after = engine.variant_stats[variant].to_dict()
    assert after["hits"] == before["hits"] + 1 and after["positions"][4] == before["positions"].get(4, 0) + 1


def test_the_global_reader_applies_experiment_records_and_skips_one_that_is_not_valid() -> None:
    from streams.global_reader import GlobalReader

    engine, events = world_engine()
    for e in events[:100]:
        engine.process(e)
    reader = GlobalReader(engine.settings, engine)
    topic = engine.settings.topic_experiments
    assert reader.apply(topic, b"experiment", json.dumps(MF_ALONE).encode()) == "experiment"
    assert engine.experiment is not None and engine.experiment.name == "mf-alone"
    assert engine.take_affected()  # the active users are re-ranked under it
    bad = {"name": "x", "variants": [{"name": "a"}, {"name": "b", "settings": {"seed": 1}}]}
    assert reader.apply(topic, b"experiment", json.dumps(bad).encode()) is None
    assert engine.experiment.name == "mf-alone" and reader.skipped == 1  # the running one goes on
    assert reader.apply(topic, b"experiment", None) == "experiment"  # a tombstone stops it
    assert engine.experiment is None


def test_a_learned_variant_starts_from_the_shared_scorer_and_learns_from_its_own_users_only() -> None:
    engine, events = world_engine(learned_min_examples=50)
    for event in events[:400]:
        engine.process(event)
    shared = engine.items.learned
    assert shared is not None and shared.examples > 0
    engine.set_experiment(Experiment.parse(json.dumps({"name": "e", "variants": [
        {"name": "control"}, {"name": "b", "settings": {"learned_debias": "ipw"}}]})))  # fmt: skip
    own = engine.items.learned_variants["e/b"]
    assert own is not shared and own.debias == "ipw" and shared.debias == "feature"
    assert dict(own.model.weights) == dict(shared.model.weights) and own.examples == shared.examples
    shared.impressions.clear()  # lists shown before the start label the model that ranked them: not tested here
    rest = events[400:]
    for variant, other in (("b", shared), ("control", own)):
        start = (shared.examples, own.examples)
        for event in [e for e in rest if engine.variant_of(e.user_id) == variant][:150]:
            engine.process(event)
        learner = own if variant == "b" else shared
        assert learner.examples > start[learner is own]  # its users' answers label its lists
        assert other.examples == start[other is own], variant  # and nobody else's
    with pytest.raises(ConfigError, match="control 'control' ranks with the shared learned scorer"):
        engine.set_experiment(Experiment.parse(json.dumps({"name": "x", "variants": [
            {"name": "control", "settings": {"learned_debias": "ipw"}}, {"name": "b"}]})))  # fmt: skip
