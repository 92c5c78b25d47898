"""The lists shown: each active user's last list, and the users whose list a change may have changed.

A list is published only when it differs from the one the user was last shown; a rule change
re-ranks the users shown a list lately; withdrawing an item re-ranks the users whose last list
showed it; online quality counts positives on an item of the user's last list. All of that
reads this bookkeeping. It is transient (a restart re-publishes) and bounded: the least
recently shown users are forgotten beyond ``active_users``.

Examples
--------
>>> shown = ShownLists(active_users=2, active_seconds=100.0)
>>> shown.show("ann", ("a", "b"), now=10.0), shown.show("ann", ("a", "b"), now=20.0)
(True, False)
>>> shown.show("bob", ("b", "c"), now=30.0), shown.show("cy", ("c",), now=40.0)
(True, True)
>>> list(shown.lists), shown.showing("c"), shown.active_users(clock=135.0)
(['bob', 'cy'], ['bob', 'cy'], ['cy'])
"""

from __future__ import annotations

from collections import OrderedDict


class ShownLists:
    """The last list shown to each of the ``active_users`` most recently shown users."""

    def __init__(self, active_users: int, active_seconds: float) -> None:
        self.limit = active_users
        self.window = active_seconds
        self.lists: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self.shown_at: dict[str, float] = {}  # event time each of them was last shown a list
        self.affected: set[str] = set()  # users whose list a change may have changed, to re-rank
        self.tags: dict[str, tuple[str, str]] = {}  # user -> (variant, list_id) of the last list

    def show(self, user_id: str, ids: tuple[str, ...], now: float, tag: tuple[str, str] | None = None) -> bool:
        """The list ``ids`` is shown to the user at event time ``now`` (``tag``: its experiment
        variant and list id); False when it is the same list as last time (nothing to publish)."""
        self.shown_at[user_id] = now
        if self.lists.get(user_id) == ids:
            self.lists.move_to_end(user_id)
            return False
        self.lists[user_id] = ids
        if tag is not None:
            self.tags[user_id] = tag
        self.lists.move_to_end(user_id)
        while len(self.lists) > self.limit:
            dropped, _ = self.lists.popitem(last=False)
            self.shown_at.pop(dropped, None)
            self.tags.pop(dropped, None)
        return True

    def tag(self, user_id: str) -> tuple[str, str] | None:
        """The variant and list id of the user's last list (None when none is remembered)."""
        return self.tags.get(user_id)

    def forget(self, user_id: str) -> None:
        """Drop everything about the user (an erased user)."""
        self.lists.pop(user_id, None)
        self.shown_at.pop(user_id, None)
        self.tags.pop(user_id, None)
        self.affected.discard(user_id)

    def last(self, user_id: str) -> tuple[str, ...]:
        """The list the user was last shown (empty when none is remembered)."""
        return self.lists.get(user_id, ())

    def showing(self, item_id: str) -> list[str]:
        """The users whose last list shows ``item_id``."""
        return [user for user, listed in self.lists.items() if item_id in listed]

    def active_users(self, clock: float) -> list[str]:
        """The users shown a list within ``active_seconds`` of ``clock`` (all remembered with 0),
        the most recent first: whom a rule change re-ranks."""
        out: list[str] = []
        for user_id in reversed(self.lists):  # least recently shown last
            if self.window and self.shown_at.get(user_id, clock) < clock - self.window:
                break
            out.append(user_id)
        return out

    def take_affected(self) -> list[str]:
        """Users whose list a catalogue, profile, follow, context or rule change may have changed
        since the last call, sorted; the caller re-ranks them."""
        users = sorted(self.affected)
        self.affected.clear()
        return users
