"""The item side: one dense row space, and the state that every worker holds for every item."""

from recsys.items.rows import Column, RowSpace

__all__ = ["Column", "RowSpace"]
