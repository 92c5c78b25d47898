"""Accuracy and coverage of one model over a prequential replay.

Examples
--------
>>> m = Scoreboard(k=3, catalogue_size=lambda: 10)
>>> m.record(["a", "b", "c"], "b", fallback=False, seconds=0.001)
>>> m.record(["a", "b", "c"], "z", fallback=True, seconds=0.001)
>>> s = m.summary()
>>> s["hr@3"], round(s["ndcg@3"], 3), s["mrr@3"], s["coverage"], s["cold_fallback_share"]
(0.5, 0.315, 0.25, 0.3, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


class Scoreboard:
    """Hits, ranks and timings of one model; ``over_time`` keeps HR@k per window of tests."""

    def __init__(self, k: int, catalogue_size: Callable[[], int], window: int = 1000) -> None:
        self.k = k
        self.catalogue_size = catalogue_size
        self.window = window
        self.tests = self.hits = 0
        self.ndcg = self.mrr = 0.0
        self.fallbacks = 0
        self.recommended: set[str] = set()
        self.seconds = 0.0
        self.events = 0
        self.over_time: list[tuple[int, float]] = []
        self._window_hits = self._window_tests = 0
        self.segments: dict[str, list[int]] = {}

    def record(
        self, listed: list[str], target: str, fallback: bool, seconds: float, segments: tuple[str, ...] = ()
    ) -> None:
        """One test: ``listed`` was recommended, the user then interacted with ``target``."""
        self.tests += 1
        self.seconds += seconds
        self.fallbacks += fallback
        self.recommended.update(listed)
        rank = listed.index(target) + 1 if target in listed[: self.k] else 0
        if rank:
            self.hits += 1
            self.ndcg += 1.0 / math.log2(rank + 1)
            self.mrr += 1.0 / rank
        for name in segments:
            seg = self.segments.setdefault(name, [0, 0])
            seg[0] += 1
            seg[1] += bool(rank)
        self._window_tests += 1
        self._window_hits += bool(rank)
        if self._window_tests == self.window:
            self.over_time.append((self.tests, self._window_hits / self._window_tests))
            self._window_hits = self._window_tests = 0

    def learned(self, seconds: float) -> None:
        """Time spent learning one event."""
        self.events += 1
        self.seconds += seconds

    def summary(self) -> dict[str, Any]:
        k, tests = self.k, max(self.tests, 1)
        out: dict[str, Any] = {
            f"hr@{k}": self.hits / tests,
            f"ndcg@{k}": self.ndcg / tests,
            f"mrr@{k}": self.mrr / tests,
            "coverage": len(self.recommended) / max(self.catalogue_size(), 1),
            "cold_fallback_share": self.fallbacks / tests,
            "tests": self.tests,
            "events": self.events,
            "seconds": self.seconds,
            "ms_per_event": 1000.0 * self.seconds / max(self.events, 1),
        }
        for name, (n, hits) in sorted(self.segments.items()):
            out[f"hr@{k}[{name}]"] = hits / n if n else 0.0
            out[f"tests[{name}]"] = n
        out[f"hr@{k}_over_time"] = list(self.over_time)
        return out
