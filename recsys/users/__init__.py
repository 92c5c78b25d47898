"""The user side: each user's bounded event log, and the store that splits a user's state into small records."""

from recsys.users.log import Entry, EventLog, Limits, event_hash
from recsys.users.store import UserStore

__all__ = ["Entry", "EventLog", "Limits", "UserStore", "event_hash"]
