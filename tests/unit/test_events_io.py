"""Reading event files: JSON lines with wrappers, MovieLens CSV, format detection, bad lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas import Context, Interaction, Item, Rule, User
from streams.events_io import EventFileError, detect_format, read_events, read_jsonl, read_movielens


def _write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


VIEW = {"event_id": "e1", "user_id": "alice", "item_id": "matrix", "type": "view", "timestamp": 10}


# --- JSON lines -------------------------------------------------------------------------------


def test_jsonl_reads_plain_interactions_and_every_wrapper(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "events.jsonl",
        "# a catalogue entry, a profile, then two events",
        json.dumps({"item": {"item_id": "matrix", "title": "The Matrix", "attributes": {"year": 1999}}}),
        "",
        json.dumps({"user": {"user_id": "alice", "attributes": {"country": "NL"}}}),
        json.dumps(VIEW),
        "   ",
        json.dumps({"interaction": {**VIEW, "event_id": "e2", "type": "rating", "value": 4.5}}),
    )

    events = list(read_jsonl(path))

    assert events == [
        ("items", "matrix", Item(item_id="matrix", title="The Matrix", attributes={"year": 1999})),
        ("users", "alice", User(user_id="alice", attributes={"country": "NL"})),
        ("interactions", "alice", Interaction.from_dict(VIEW)),
        ("interactions", "alice", Interaction("e2", "alice", "matrix", "rating", 10.0, value=4.5)),
    ]


def test_jsonl_numeric_ids_become_string_keys(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.jsonl", json.dumps({**VIEW, "user_id": 7, "item_id": 42}))

    [(kind, key, record)] = read_jsonl(path)

    assert (kind, key) == ("interactions", "7")
    assert isinstance(record, Interaction) and record.item_id == "42"


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({**VIEW, "type": "love"}), "field 'type' must be one of"),
        (json.dumps({"item": {"title": "no id"}}), "field 'item_id' is required"),
        (json.dumps({"item": {"item_id": "x"}, "user": {"user_id": "y"}}), "exactly one key"),
        (json.dumps([1, 2]), "expected a JSON object"),
    ],
)
def test_jsonl_bad_line_names_file_and_line_number(tmp_path: Path, bad_line: str, expected: str) -> None:
    lines = ["# header comment", json.dumps(VIEW), "", bad_line, json.dumps(VIEW)]
    path = _write(tmp_path / "events.jsonl", *lines)
    events = read_jsonl(path)

    assert next(events)[0] == "interactions"  # the good line before it is still read
    with pytest.raises(EventFileError) as info:
        next(events)

    assert info.value.line == 4
    assert str(info.value).startswith(f"{path}:4: ")
    assert expected in str(info.value)
    assert info.value.raw == bad_line.encode()


def test_jsonl_on_error_reports_bad_lines_and_keeps_reading(tmp_path: Path) -> None:
    path = _write(tmp_path / "events.jsonl", "{oops", json.dumps(VIEW), '{"item": 5}')
    errors: list[EventFileError] = []

    events = list(read_jsonl(path, on_error=errors.append))

    assert [key for _, key, _ in events] == ["alice"]
    assert [(e.line, e.raw) for e in errors] == [(1, b"{oops"), (3, b'{"item": 5}')]


def test_jsonl_line_that_is_not_utf8_is_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"user": {"user_id": "\xff"}}\n')

    with pytest.raises(EventFileError, match=r":1: .*UTF-8"):
        list(read_jsonl(path))


# --- MovieLens --------------------------------------------------------------------------------


def _movielens(folder: Path, with_movies: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    ratings = _write(
        folder / "ratings.csv",
        "userId,movieId,rating,timestamp",
        "1,10,4.0,300",
        "1,20,3.5,100",
        "2,10,5.0,200",
        "2,30,1.0,100",
    )
    if with_movies:
        _write(
            folder / "movies.csv",
            "movieId,title,genres",
            "10,Toy Story (1995),Adventure|Animation|Children",
            '20,"American President, The (1995)",Comedy|Drama|Romance',
            "30,Babylon 5,(no genres listed)",
        )
    return ratings


def test_movielens_yields_movies_as_items_then_ratings_by_timestamp(tmp_path: Path) -> None:
    ratings = _movielens(tmp_path / "ml")

    events = list(read_movielens(ratings))

    items = [record for kind, _, record in events if kind == "items"]
    assert [kind for kind, _, _ in events] == ["items"] * 3 + ["interactions"] * 4
    assert items == [
        Item("10", "Toy Story (1995)", {"genres": ["Adventure", "Animation", "Children"], "year": 1995}),
        Item("20", "American President, The (1995)", {"genres": ["Comedy", "Drama", "Romance"], "year": 1995}),
        Item("30", "Babylon 5", {"genres": []}),
    ]
    interactions = [(key, record) for _, key, record in events if isinstance(record, Interaction)]
    # sorted by timestamp; the two ratings at t=100 keep the file's order
    assert [(key, r.item_id, r.timestamp) for key, r in interactions] == [
        ("1", "20", 100.0),
        ("2", "30", 100.0),
        ("2", "10", 200.0),
        ("1", "10", 300.0),
    ]
    first = interactions[0][1]
    assert first == Interaction("ml-1-20-100", "1", "20", "rating", 100.0, value=3.5)


def test_movielens_accepts_the_folder_and_works_without_movies(tmp_path: Path) -> None:
    _movielens(tmp_path / "ml", with_movies=False)

    events = list(read_events(tmp_path / "ml"))

    assert len(events) == 4
    assert {kind for kind, _, _ in events} == {"interactions"}


def test_movielens_bad_row_names_the_line(tmp_path: Path) -> None:
    ratings = _movielens(tmp_path / "ml")
    ratings.write_text(ratings.read_text() + "3,10,great,400\n")

    with pytest.raises(EventFileError, match=r"ratings\.csv:6: bad rating row"):
        list(read_movielens(ratings))


def test_movielens_wrong_header_is_an_error(tmp_path: Path) -> None:
    ratings = _write(tmp_path / "ratings.csv", "user,item,rating,ts", "1,2,3.0,4")

    with pytest.raises(EventFileError, match="expected the header userId,movieId,rating,timestamp"):
        list(read_movielens(ratings))


# --- format detection -------------------------------------------------------------------------


def test_detect_format(tmp_path: Path) -> None:
    ratings = _movielens(tmp_path / "ml")
    jsonl = _write(tmp_path / "events.jsonl", json.dumps(VIEW))

    assert detect_format(ratings) == "movielens"
    assert detect_format(ratings.parent) == "movielens"
    assert detect_format(jsonl) == "jsonl"
    with pytest.raises(ValueError, match="without ratings.csv"):
        detect_format(_empty_dir(tmp_path))
    with pytest.raises(ValueError, match="not named ratings.csv"):
        detect_format(_write(tmp_path / "other.csv", "a,b"))


def _empty_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def test_jsonl_reads_context_changes_and_rules_and_tells_them_from_an_interactions_context(tmp_path: Path) -> None:
    with_context = {**VIEW, "context": {"device": "tv"}}
    path = _write(
        tmp_path / "events.jsonl",
        json.dumps({"context": {"event_id": "c1", "user_id": "alice", "timestamp": 11, "context": {"device": "tv"}}}),
        json.dumps({"rule": {"rule_id": "sale", "action": "boost", "match": {"genres": "Comedy"}, "weight": 0.3}}),
        json.dumps(with_context),
    )
    events = list(read_jsonl(path))
    assert events == [
        ("context", "alice", Context("c1", "alice", 11.0, {"device": "tv"})),
        ("rules", "sale", Rule("sale", "boost", match={"genres": "Comedy"}, weight=0.3)),
        ("interactions", "alice", Interaction.from_dict(with_context)),
    ]
