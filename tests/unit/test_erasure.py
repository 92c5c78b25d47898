"""A user's erasure (a tombstone on ``users``): nothing of them stays in the user table or the snapshot,
and the other workers are told to forget what they hold."""

from __future__ import annotations

from pathlib import Path

from recsys.engine import Engine
from recsys.settings import Settings
from schemas import Follow, Interaction, Item, Like, User


def _engine() -> Engine:
    engine = Engine(Settings(wals_refresh_events=1000))  # the default generators (social among them)
    for n in range(30):
        engine.apply_item(Item(f"item-{n}", title=f"Item {n}", attributes={"genres": [f"g{n % 3}"]}))
    return engine


def _history(engine: Engine) -> None:
    engine.apply_user(User("erin-the-erased", {"age": 31}))
    engine.apply_follow(Follow("f1", "frank", "erin-the-erased", "follow", timestamp=1.0))
    for n in range(40):  # past one sealed log chunk (32 entries)
        for user in ("erin-the-erased", "frank"):
            engine.process(Interaction(f"{user}-{n}", user, f"item-{(n * 2 + len(user)) % 30}", "like",
                                       timestamp=10.0 + n), position=(0, n))  # fmt: skip


def test_an_erased_user_leaves_no_trace_in_the_table_or_the_snapshot(tmp_path: Path) -> None:
    engine = _engine()
    engine.share(items=True, origin="w1")
    _history(engine)
    engine.save(tmp_path / "before")
    assert _mentions(tmp_path / "before", b"erin-the-erased")  # the check below can fail
    engine.take_shared()

    records = engine.erase_user("erin-the-erased")

    assert records == 3  # the hot record, the profile, one log chunk
    assert not [k for k in engine.users.mapping if k.startswith("erin-the-erased")]
    assert "erin-the-erased" not in engine.users and engine.user_state("erin-the-erased").events == 0
    engine.save(tmp_path / "after")
    assert not _mentions(tmp_path / "after", b"erin-the-erased")
    told = [s for s in engine.take_shared() if isinstance(s, Like)]
    assert [(like.user_id, like.erased) for like in told] == [("erin-the-erased", True)]
    assert engine.refresh_user("frank", "after-erasure") is not None  # frank's lists go on without her


def test_another_worker_forgets_the_likes_it_holds_of_an_erased_user() -> None:
    owner, other = _engine(), _engine()
    owner.share(items=True, origin="w1")
    _history(owner)
    for record in owner.take_shared():
        if isinstance(record, Like):
            other.apply_event(record)
    assert other.items.likes.of("erin-the-erased")
    owner.erase_user("erin-the-erased")
    for record in owner.take_shared():
        other.apply_event(record)
    assert other.items.likes.of("erin-the-erased") == []


def _mentions(folder: Path, needle: bytes) -> bool:
    return any(needle in path.read_bytes() for path in folder.rglob("*") if path.is_file())
