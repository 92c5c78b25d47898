"""Coalescing bursts: many events of one user within a short window give one list.

The first event of a user opens a window of ``window`` seconds; events until it closes only
mark the user pending. When the window closes the user's list is ranked once, with the state
after the latest event, and published if it changed. The delay is bounded: no event waits
longer than ``window`` for its list. A window of 0 ranks after every event.

The clock is passed in, so this runs the same in the worker (monotonic time) and in tests.

Examples
--------
>>> c = Coalescer(window=0.05)
>>> c.offer("alice", now=10.00), c.offer("alice", now=10.01), c.offer("bob", now=10.02)
(False, False, False)
>>> c.due(now=10.04), c.due(now=10.06), c.due(now=10.08)
([], ['alice'], ['bob'])
>>> Coalescer(window=0).offer("alice", now=1.0)  # no window: rank now
True
"""

from __future__ import annotations

from collections import OrderedDict


class Coalescer:
    """Pending users and the time their window closes, earliest first."""

    def __init__(self, window: float) -> None:
        if window < 0:
            raise ValueError(f"window must be 0 (off) or positive seconds, got {window}")
        self.window = window
        self.pending: OrderedDict[str, float] = OrderedDict()  # user -> deadline, in offer order
        self.offered = 0
        self.coalesced = 0  # events that joined an open window (lists saved)

    def __len__(self) -> int:
        return len(self.pending)

    def offer(self, user_id: str, now: float) -> bool:
        """The user's context changed at ``now``: True to rank at once (no window), else the
        list waits until the user's window closes."""
        self.offered += 1
        if self.window <= 0:
            return True
        if user_id in self.pending:
            self.coalesced += 1
        else:
            self.pending[user_id] = now + self.window
        return False

    def forget(self, user_id: str) -> None:
        """The user is no longer pending (erased)."""
        self.pending.pop(user_id, None)

    def next_deadline(self) -> float | None:
        """When the earliest window closes (None: nobody pending)."""
        return next(iter(self.pending.values()), None)

    def due(self, now: float) -> list[str]:
        """Users whose window closed by ``now``, in order; they are no longer pending."""
        out: list[str] = []
        while self.pending:
            user_id, deadline = next(iter(self.pending.items()))
            if deadline > now:
                break
            self.pending.popitem(last=False)
            out.append(user_id)
        return out
