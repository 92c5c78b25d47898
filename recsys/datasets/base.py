"""What every dataset loader yields, and the order it yields it in.

A loader is a function ``load_x(path, ...) -> Iterator[Event]`` whose events are ready to
replay through the engine, one at a time, exactly as the worker would see them:

* events come in **time order**: interactions by timestamp (ties keep the source's order);
* catalogue and profile records (:class:`~schemas.Item`, :class:`~schemas.User`) come
  **before the first interaction that needs them**: a static catalogue first, an item
  published later just before its first interaction;
* follow events (:class:`~schemas.Follow`), where a dataset has a social graph, come in time
  order with the interactions;
* records are validated as the topics would validate them (``from_dict``), so an event that
  replays offline would also be accepted online;
* a bad row raises :class:`~recsys.errors.DatasetError` naming the file and the line, or is
  handed to the loader's ``on_error`` callback (when given) and reading goes on.

Examples
--------
>>> from schemas import Interaction, Item
>>> events: list[Event] = [Item("matrix"), Interaction("e1", "alice", "matrix", "view", 10.0)]
>>> [type(e).__name__ for e in events]
['Item', 'Interaction']
"""

from __future__ import annotations

from collections.abc import Callable

from recsys.errors import DatasetError
from schemas import Context, Follow, Interaction, Item, Rule, User

__all__ = ["ErrorHandler", "Event"]

Event = Interaction | Item | User | Follow | Context | Rule
"""One record of a dataset stream: an interaction, a catalogue entry, a user profile, a follow, a
context change or a business rule."""

ErrorHandler = Callable[[DatasetError], None]
"""Receives each bad row instead of raising; reading goes on after it returns."""
