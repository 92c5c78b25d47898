"""Decode-and-validate time per event: JSON bytes to a validated record, as the worker does for
every input message (``schemas.decode``), and the way back (``schemas.encode``).

    .venv/bin/python -m benchmarks.decode_events [--events 20000] [--repeat 5]

The events are the synthetic world's (interactions with context, list_id and position on a share
of them; items with attributes); interactions are also decoded as release 0.1.0 wrote them (optional
fields at their default left out, as producers may send them). Prints the best of ``--repeat``
passes, in microseconds per event. Nothing here asserts anything.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import msgspec

from recsys.datasets.synthetic import SyntheticWorld
from schemas import Interaction, Item, decode, encode


def compact(record: Any) -> bytes:
    """``record`` as release 0.1.0 wrote it: its optional fields left out when they hold their default."""
    defaults = {f.name: f.default for f in msgspec.structs.fields(record)}
    return msgspec.json.encode({k: v for k, v in record.to_dict().items()
                                if k != "schema_version" and v != defaults[k]})  # fmt: skip


def best(fn: Callable[[], Any], n: int, repeat: int) -> float:
    """The fastest of ``repeat`` passes, in µs per event."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    world = SyntheticWorld(users=500, items=2000, clusters=10, seed=1)
    events = []
    for n, e in enumerate(world.interactions(args.events)):
        if n % 3 == 0:  # a third answer a list, with the device in their context
            e = Interaction(e.event_id, e.user_id, e.item_id, e.type, e.timestamp, e.value, {"device": "tv"},
                            f"list{n:012d}", 1 + n % 10)  # fmt: skip
        events.append(e)
    raw = [encode(e) for e in events]
    raw_compact = [compact(e) for e in events]
    items = world.catalogue()
    raw_items = [encode(i) for i in items]
    rows = [
        ("interaction: decode + validate", best(lambda: [decode(Interaction, r) for r in raw], len(raw), args.repeat)),
        ("interaction, as 0.1.0 wrote it", best(lambda: [decode(Interaction, r) for r in raw_compact], len(raw),
                                                args.repeat)),
        ("interaction: encode", best(lambda: [encode(e) for e in events], len(events), args.repeat)),
        ("item: decode + validate", best(lambda: [decode(Item, r) for r in raw_items], len(raw_items), args.repeat)),
    ]
    print(f"{len(raw)} interactions (mean {sum(map(len, raw)) / len(raw):.0f} bytes; "
          f"{sum(map(len, raw_compact)) / len(raw):.0f} as 0.1.0 wrote them), {len(raw_items)} items "
          f"(mean {sum(map(len, raw_items)) / len(raw_items):.0f} bytes); best of {args.repeat}")  # fmt: skip
    for name, us in rows:
        print(f"{name:32s} {us:7.2f} µs/event")


if __name__ == "__main__":
    main()
