"""Dataset loaders (MovieLens latest and 100K, JSON lines) and the synthetic world.

MovieLens fixtures are a few hand-written rows in tmp_path: the real data is never read here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pytest

import recsys.datasets as datasets
from recsys.datasets import (
    DOWNLOAD_HINT,
    Event,
    SyntheticWorld,
    load_jsonl,
    load_movielens_100k,
    load_movielens_latest,
)
from recsys.datasets.movielens import GENRES_100K, MAX_TAGS
from recsys.errors import DatasetError, RecsysError
from schemas import Interaction, Item, User

JAN_1_1995 = 788918400.0
JAN_1_1999 = 915148800.0


def _write(path: Path, *lines: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def _kinds(events: Iterable[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_public_surface_is_sorted_and_recsys_never_imports_streams() -> None:
    assert datasets.__all__ == sorted(datasets.__all__)
    assert all(hasattr(datasets, name) for name in datasets.__all__)
    root = Path(datasets.__file__).resolve().parents[1]
    words = ("from streams", "import streams")
    offenders = [str(p) for p in root.rglob("*.py") if any(w in p.read_text() for w in words)]
    assert offenders == []


# --- MovieLens latest -------------------------------------------------------------------------


def _latest(folder: Path, *, tags: bool = True) -> Path:
    _write(
        folder / "movies.csv",
        "movieId,title,genres",
        "10,Toy Story (1995),Adventure|Animation|Children",
        '20,"American President, The (1995)",Comedy|Drama|Romance',
        "30,Babylon 5,(no genres listed)",
        '40,"Matrix, The (1999) ",Action|Sci-Fi',
        "50,Metropolis (1927),Drama|Sci-Fi",
    )
    _write(
        folder / "ratings.csv",
        "userId,movieId,rating,timestamp",
        "1,10,4.0,300",
        "1,20,3.5,100",
        "2,10,5.0,200",
        "2,30,1.0,100",
        "3,40,4.5,100",
    )
    if tags:
        _write(
            folder / "tags.csv",
            "userId,movieId,tag,timestamp",
            "1,10,Pixar,1",
            "2,10,pixar ,2",
            "2,10,Funny,3",
            '3,40,"cyberpunk, philosophy",4',
            "3,99,orphan tag,5",
        )
    return folder


def test_latest_yields_items_then_ratings_by_time_and_file_order(tmp_path: Path) -> None:
    events = list(load_movielens_latest(_latest(tmp_path / "ml")))

    assert _kinds(events) == ["Item"] * 5 + ["Interaction"] * 5
    ratings = [e for e in events if isinstance(e, Interaction)]
    # sorted by timestamp; the three ratings at t=100 keep the file's order
    assert [(r.user_id, r.item_id, r.timestamp) for r in ratings] == [
        ("1", "20", 100.0),
        ("2", "30", 100.0),
        ("3", "40", 100.0),
        ("2", "10", 200.0),
        ("1", "10", 300.0),
    ]
    assert ratings[0] == Interaction("ml-1-20-100", "1", "20", "rating", 100.0, value=3.5)


def test_latest_item_attributes_year_published_at_and_tags(tmp_path: Path) -> None:
    items = {e.item_id: e for e in load_movielens_latest(_latest(tmp_path / "ml")) if isinstance(e, Item)}

    assert items["10"] == Item(
        "10",
        "Toy Story (1995)",
        {"genres": ["Adventure", "Animation", "Children"], "year": 1995, "tags": ["funny", "pixar"]},
        published_at=JAN_1_1995,
    )
    assert items["20"].title == "American President, The (1995)"  # a quoted title with a comma
    assert items["30"] == Item("30", "Babylon 5", {"genres": []})  # no year: no published_at
    assert items["40"].attributes["tags"] == ["cyberpunk, philosophy"]
    assert (items["40"].attributes["year"], items["40"].published_at) == (1999, JAN_1_1999)
    # before 1970 the year is kept, but published_at would be negative, which the items topic rejects
    assert (items["50"].attributes["year"], items["50"].published_at) == (1927, None)
    assert "99" not in items


def test_latest_keeps_the_most_applied_tags_up_to_the_cap(tmp_path: Path) -> None:
    folder = _latest(tmp_path / "ml", tags=False)
    rows = [f"{u},10,tag{t:02d},1" for t in range(MAX_TAGS + 5) for u in range(1 + (t >= 5))]
    _write(folder / "tags.csv", "userId,movieId,tag,timestamp", *rows)

    [toy] = [e for e in load_movielens_latest(folder) if isinstance(e, Item) and e.item_id == "10"]

    # tags 05.. were applied twice, 00..04 once: the 20 most applied are kept, listed sorted
    assert toy.attributes["tags"] == [f"tag{t:02d}" for t in range(5, MAX_TAGS + 5)]


def test_latest_accepts_ratings_csv_and_works_without_movies_or_tags(tmp_path: Path) -> None:
    folder = _latest(tmp_path / "ml")
    assert list(load_movielens_latest(folder / "ratings.csv")) == list(load_movielens_latest(folder))

    (folder / "movies.csv").unlink()
    (folder / "tags.csv").unlink()
    assert _kinds(load_movielens_latest(folder)) == ["Interaction"] * 5


@pytest.mark.parametrize(
    ("file", "line", "expected"),
    [
        ("ratings.csv", "3,10,great,400", r"ratings\.csv:7: bad rating row \(could not convert"),
        ("ratings.csv", "3,10,4.0", r"ratings\.csv:7: expected 4 columns, got 3"),
        ("ratings.csv", "3,10,4.0,-5", r"ratings\.csv:7: bad rating row \(.*timestamp not negative"),
        ("movies.csv", "60,Too,Many,Columns", r"movies\.csv:7: expected 3 columns, got 4"),
        ("tags.csv", "1,10", r"tags\.csv:7: expected 4 columns, got 2"),
    ],
)
def test_latest_bad_row_names_file_and_line(tmp_path: Path, file: str, line: str, expected: str) -> None:
    folder = _latest(tmp_path / "ml")
    path = folder / file
    path.write_text(path.read_text() + line + "\n")

    with pytest.raises(DatasetError, match=expected) as info:
        list(load_movielens_latest(folder))

    assert (info.value.path, info.value.line) == (path, 7)
    assert isinstance(info.value, ValueError) and isinstance(info.value, RecsysError)


def test_latest_on_error_collects_bad_rows_and_reads_on(tmp_path: Path) -> None:
    folder = _latest(tmp_path / "ml")
    ratings = folder / "ratings.csv"
    ratings.write_text(ratings.read_text() + "3,10,great,400\n4,10,2.0,50\n")
    errors: list[DatasetError] = []

    events = list(load_movielens_latest(folder, on_error=errors.append))

    assert [(e.line, e.raw) for e in errors] == [(7, b"3,10,great,400")]
    assert [e.user_id for e in events if isinstance(e, Interaction)][0] == "4"  # t=50 sorts first


def test_latest_wrong_header_is_an_error(tmp_path: Path) -> None:
    ratings = _write(tmp_path / "ml" / "ratings.csv", "user,item,rating,ts", "1,2,3.0,4")

    with pytest.raises(DatasetError, match=r"ratings\.csv:1: expected the header userId,movieId,rating,timestamp"):
        list(load_movielens_latest(ratings))


def test_missing_folder_or_files_say_where_to_download(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="ml-latest-small: no such file or folder") as info:
        load_movielens_latest(tmp_path / "ml-latest-small")  # raised at the call, before iterating
    assert DOWNLOAD_HINT in str(info.value)
    assert "https://grouplens.org/datasets/movielens/" in DOWNLOAD_HINT

    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"ratings\.csv not found in this folder; MovieLens is not shipped"):
        load_movielens_latest(tmp_path / "empty")
    _write(tmp_path / "empty" / "u.data", "1\t2\t3\t4")
    with pytest.raises(DatasetError, match=r"u\.item and u\.user not found in this folder; MovieLens is not"):
        load_movielens_100k(tmp_path / "empty")


# --- MovieLens 100K ---------------------------------------------------------------------------


def _flags(*genres: str) -> str:
    return "|".join("1" if g in genres else "0" for g in GENRES_100K)


def _ml100k(folder: Path) -> Path:
    url = "http://us.imdb.com/M/title-exact?x"
    toy_story = _flags("Animation", "Children's", "Comedy")
    _write(
        folder / "u.item",
        f"1|Toy Story (1995)|01-Jan-1995||{url}|{toy_story}",
        f"2|Café au lait (Métisse) (1993)|15-Mar-1996||{url}|{_flags('Comedy')}",
        f"3|Casablanca (1942)|01-Jan-1942||{url}|{_flags('Drama', 'Romance', 'War')}",
        f"4|unknown|||{url}|{_flags('unknown')}",
        f"5|Untitled|05-Jul-1997||{url}|{_flags('Documentary')}",
        encoding="latin-1",
    )
    _write(folder / "u.user", "1|24|M|technician|85711", "2|53|F|other|94043")
    _write(folder / "u.data", "2\t1\t4\t881250950", "1\t3\t5\t881250949", "1\t2\t3\t881250950", "2\t5\t1\t881250000")
    return folder


def test_100k_yields_items_users_then_ratings_by_time(tmp_path: Path) -> None:
    events = list(load_movielens_100k(_ml100k(tmp_path / "ml-100k")))

    assert _kinds(events) == ["Item"] * 5 + ["User"] * 2 + ["Interaction"] * 4
    ratings = [e for e in events if isinstance(e, Interaction)]
    assert [(r.user_id, r.item_id, r.timestamp) for r in ratings] == [
        ("2", "5", 881250000.0),
        ("1", "3", 881250949.0),
        ("2", "1", 881250950.0),  # a tie: file order
        ("1", "2", 881250950.0),
    ]
    assert ratings[1] == Interaction("ml100k-1-3-881250949", "1", "3", "rating", 881250949.0, value=5.0)
    assert events[5] == User("1", {"age": 24, "gender": "M", "occupation": "technician", "zip": "85711"})


def test_100k_items_genres_year_and_release_date(tmp_path: Path) -> None:
    items = {e.item_id: e for e in load_movielens_100k(_ml100k(tmp_path / "ml-100k")) if isinstance(e, Item)}

    assert items["1"] == Item(
        "1", "Toy Story (1995)", {"genres": ["Animation", "Children's", "Comedy"], "year": 1995}, JAN_1_1995
    )
    assert items["2"].title == "Café au lait (Métisse) (1993)"  # latin-1 decoded
    assert items["2"].attributes["year"] == 1993  # the title's year, not the release date's
    assert items["2"].published_at == 826848000.0  # 15-Mar-1996, midnight UTC
    assert (items["3"].attributes["year"], items["3"].published_at) == (1942, None)  # before 1970
    assert items["4"] == Item("4", "unknown", {"genres": []})  # "unknown" is not a genre
    assert items["5"].attributes == {"genres": ["Documentary"], "year": 1997}  # the year from the release date


@pytest.mark.parametrize(
    ("file", "line", "expected"),
    [
        ("u.item", f"6|Bad (1990)|31-Foo-1990||x|{_flags('Drama')}", r"u\.item:6: the release date must look like"),
        ("u.item", f"6|Bad (1990)|30-Feb-1990||x|{_flags('Drama')}", r"u\.item:6: day is out of range"),
        ("u.item", "6|Bad (1990)|01-Jan-1990||x|" + "2|" * 18 + "0", r"u\.item:6: the genre flags must be 0 or 1"),
        ("u.item", "6|Short|01-Jan-1990", r"u\.item:6: expected 24 '\|'-separated fields, got 3"),
        ("u.user", "3|old|M|writer|10001", r"u\.user:3: the age must be a whole number"),
        ("u.data", "1\t2\t3", r"u\.data:5: expected 4 '\\t'-separated fields, got 3"),
        ("u.data", "1\t2\tx\t5", r"u\.data:5: bad rating row"),
    ],
)
def test_100k_bad_row_names_file_and_line(tmp_path: Path, file: str, line: str, expected: str) -> None:
    folder = _ml100k(tmp_path / "ml-100k")
    path = folder / file
    path.write_text(path.read_text(encoding="latin-1") + line + "\n", encoding="latin-1")

    with pytest.raises(DatasetError, match=expected):
        list(load_movielens_100k(folder / "u.data"))  # a file of the folder is accepted too


# --- JSON lines -------------------------------------------------------------------------------


def test_jsonl_yields_records_and_names_bad_lines(tmp_path: Path) -> None:
    view = {"event_id": "e1", "user_id": "alice", "item_id": "matrix", "type": "view", "timestamp": 10}
    path = _write(
        tmp_path / "events.jsonl",
        json.dumps({"item": {"item_id": "matrix"}}),
        json.dumps({"user": {"user_id": "alice"}}),
        json.dumps(view),
        "{oops",
    )
    errors: list[DatasetError] = []

    events = list(load_jsonl(path, on_error=errors.append))

    assert events == [Item("matrix"), User("alice"), Interaction.from_dict(view)]
    assert [(e.line, e.raw) for e in errors] == [(4, b"{oops")]
    with pytest.raises(DatasetError, match=r"events\.jsonl:4: not valid JSON"):
        list(load_jsonl(path))


# --- synthetic --------------------------------------------------------------------------------


def test_default_world_draws_the_same_interactions_as_before_the_dynamics_existed() -> None:
    world = SyntheticWorld(users=20, items=30, clusters=3, seed=1)

    first = [(e.user_id, e.item_id, e.type, e.timestamp) for e in world.interactions(4)]

    # recorded from the implementation before new items, sessions and drift were added
    assert first == [
        ("u8", "i2", "view", 1700000002.317),
        ("u0", "i9", "view", 1700000005.116),
        ("u12", "i28", "view", 1700000005.866),
        ("u14", "i2", "dislike", 1700000006.113),
    ]


def test_same_seed_same_stream_other_seed_other_stream() -> None:
    def stream(seed: int) -> list[Event]:
        return list(SyntheticWorld.benchmark(seed=seed, users=100, items=150).stream(3000))

    assert stream(7) == stream(7)
    assert stream(7) != stream(8)


def test_stream_is_in_time_order_and_new_items_precede_their_interactions() -> None:
    world = SyntheticWorld(users=50, items=60, clusters=4, seed=2, new_item_rate=0.02, fresh_events=500)
    events = list(world.stream(5000))

    assert _kinds(events[:110]) == ["Item"] * 60 + ["User"] * 50
    known: set[str] = set()
    clock = 0.0
    new_ids, rated = [], set()
    for event in events:
        if isinstance(event, Item):
            known.add(event.item_id)
            if event.item_id not in {f"i{n}" for n in range(60)}:
                assert event.published_at is not None and event.published_at >= clock
                new_ids.append(event.item_id)
                clock = event.published_at
        elif isinstance(event, Interaction):
            assert event.item_id in known, f"{event.item_id} was interacted with before it was published"
            assert event.timestamp >= clock
            clock = event.timestamp
            rated.add(event.item_id)
    assert 50 <= len(new_ids) <= 150  # about 2% of 5000 events
    assert len(rated & set(new_ids)) >= 0.8 * len(new_ids)  # the freshness boost gets them seen
    assert {world.cluster_of_item(i) for i in new_ids} == set(range(4))


def test_interactions_publish_new_items_only_when_asked() -> None:
    def item_ids(new_items: bool) -> set[str]:
        world = SyntheticWorld(users=30, items=40, clusters=2, seed=3, new_item_rate=0.05)
        events = list(world.interactions(2000, new_items=new_items))
        assert all(isinstance(e, Interaction) for e in events)
        return {e.item_id for e in events}

    assert item_ids(False) <= {f"i{n}" for n in range(40)}
    assert len(item_ids(True) - {f"i{n}" for n in range(40)}) > 10


def _own_share(world: SyntheticWorld, events: Iterable[Event]) -> float:
    own = total = 0
    for event in events:  # the user's cluster at the time of the event (drift changes it)
        if isinstance(event, Interaction):
            total += 1
            own += world.cluster_of_item(event.item_id) == world.cluster_of_user(event.user_id)
    return own / total


def test_planted_clusters_dominate_interactions() -> None:
    world = SyntheticWorld(users=100, items=200, clusters=5, seed=4)
    assert _own_share(world, world.interactions(5000)) > 0.8

    bench = SyntheticWorld.benchmark(seed=4, users=300, items=400)
    assert _own_share(bench, bench.stream(10000)) > 0.7


def test_attributes_follow_the_clusters() -> None:
    world = SyntheticWorld(users=400, items=400, clusters=5, seed=5)
    items, users = world.catalogue(), world.profiles()

    for item in items:
        c = world.cluster_of_item(item.item_id)
        assert item.attributes["genres"][0] == world.genre(c)
        assert item.published_at is not None and item.published_at < world.start
        assert 1 <= len(item.attributes["tags"]) <= 3
    own_creator = sum(i.attributes["creator"].startswith(f"creator-{world.cluster_of_item(i.item_id)}-") for i in items)
    assert own_creator / len(items) > 0.85
    assert all(u.attributes["preferred_genres"][0] == world.genre(world.cluster_of_user(u.user_id)) for u in users)
    bands = [u.attributes["age_band"] for u in users if world.cluster_of_user(u.user_id) == 0]
    assert bands.count(max(set(bands), key=bands.count)) / len(bands) > 0.6
    # items of different clusters rarely share tags; items of one cluster often do
    same = sum(bool(set(items[0].attributes["tags"]) & set(i.attributes["tags"])) for i in items[5::5])
    assert same / len(items[5::5]) > 0.3


def _same_user_same_cluster_pairs(world: SyntheticWorld, n: int) -> float:
    events = list(world.interactions(n))
    pairs = zip(events, events[1:], strict=False)
    return sum(
        a.user_id == b.user_id and world.cluster_of_item(a.item_id) == world.cluster_of_item(b.item_id)
        for a, b in pairs
    ) / (n - 1)


def test_sessions_make_consecutive_related_events() -> None:
    def world(rate: float) -> SyntheticWorld:
        return SyntheticWorld(users=200, items=300, clusters=6, seed=6, session_rate=rate)

    assert _same_user_same_cluster_pairs(world(0.0), 4000) < 0.02
    assert _same_user_same_cluster_pairs(world(0.6), 4000) > 0.5


def test_drift_moves_a_fraction_of_users_to_another_cluster() -> None:
    world = SyntheticWorld(users=100, items=100, clusters=4, seed=7, drift_every=1000, drift_fraction=0.1)
    before = dict(world.user_cluster)

    events = list(world.interactions(3000))

    assert [count for count, *_ in world.drift_log] == [1000] * 10 + [2000] * 10 + [3000] * 10
    assert all(old != new for _, _, old, new in world.drift_log)
    moved = {u for u in before if world.cluster_of_user(u) != before[u]}
    assert 10 <= len(moved) <= 30
    # after a drift, a moved user's interactions follow the new cluster
    first_drift = {user: new for count, user, _, new in world.drift_log if count == 1000}
    later = [e for e in events[1000:2000] if e.user_id in first_drift]
    assert sum(world.cluster_of_item(e.item_id) == first_drift[e.user_id] for e in later) / len(later) > 0.7


def test_write_jsonl_round_trips_through_load_jsonl(tmp_path: Path) -> None:
    path = SyntheticWorld.benchmark(seed=9, users=20, items=30).write_jsonl(tmp_path / "s.jsonl", 500)

    assert list(load_jsonl(path)) == list(SyntheticWorld.benchmark(seed=9, users=20, items=30).stream(500))


@pytest.mark.parametrize(
    "knobs",
    [{"items": 2, "clusters": 3}, {"affinity": 1.5}, {"session_rate": 1.0}, {"drift_every": -1}],
)
def test_invalid_knobs_are_rejected(knobs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="SyntheticWorld: "):
        SyntheticWorld(**knobs)  # type: ignore[arg-type]
