"""Batch WALS fits for the online model: a bootstrap from history, a periodic re-fit, and lazy user fold-in.

:func:`bootstrap` replays a history through an :class:`~recsys.engine.Engine` (so catalogue,
profiles, co-visitation, popularity, trends, towers and every user's history, seen and
disliked sets are exactly what the online path would build), fits :class:`~recsys.models.wals.WALS`
on the positive events of that history, and installs the fit into the online BPR model: item
vectors (biases zeroed, so right after the fit MF scores are the WALS scores; items with no
positive event get the zero vector, as WALS gives them) and each fitted user's vector, both
rescaled so items have the mean length ``max_norm`` (:func:`rescaled`: the online steps that follow
then keep the batch structure). ``recsys train`` runs it and saves the engine's snapshot for the worker.

Confidence: an event's signed weight is :meth:`Engine.weight` (the ``event_weights`` setting;
ratings scaled by ``value - rating_neutral``). Only positive weights enter the fit, summed per
(user, item), ``c = 1 + wals_alpha * sum``. A negative event (dislike, skip, a low rating) is
not evidence of a zero in this model (every unobserved pair already is one, with confidence 1);
it is left to the online path, which pushes the item down and excludes it.

How online updates and batch fits are reconciled
------------------------------------------------
Every batch fit bumps a *factor epoch*; users are folded in lazily at their next event (see
:mod:`recsys.models.wals_link`). Online steps keep running between fits and the next fit starts
from them (warm start), so neither side discards the other: the batch fit gives a global
optimum over a long window, online steps track what happened since.

What a worker does after ``recsys train``
-----------------------------------------
Stop the worker first: it writes its own snapshot every ``snapshot_seconds`` and at shutdown,
which would replace the trained one. The snapshot carries the item side, the epoch, and the
trained users' states as *seeds* (:attr:`~recsys.models.wals_link.WalsLink.seed_users`); a user the worker's table does
not know yet starts from their seed (history, seen set, WALS vector, dedupe window), a user
the table knows keeps the table's state and is folded in at their next event. The snapshot also
records the source offsets the training read up to (``--from-topic``), but the worker does not
seek to them: it resumes from its consumer group's committed offsets. A group that already
consumed the topics goes on from where it was (nothing is applied twice); a brand-new group
starts at the earliest offsets and applies the whole history again on top of the trained state
(co-visitation and popularity then count it twice, and the per-user dedupe window only catches
a user's last ``dedupe_window`` events). So train from topics for a group that has consumed them,
or move a new group to the snapshot's offsets before its first start
(``kafka-consumer-groups --reset-offsets``).

Examples
--------
Two taste groups; after the bootstrap, a user's MF scores put their own group first:

>>> from schemas import Interaction, Item
>>> from recsys.engine import Engine
>>> from recsys.settings import Settings
>>> engine = Engine(Settings(factors=2, ann_backend="brute", wals_alpha=5.0))
>>> events = [Item(f"i{n}") for n in range(8)] + [
...     Interaction(f"e{u}-{i}", f"u{u}", f"i{i}", "like", timestamp=1.0)
...     for u in range(8) for i in range(8) if u // 4 == i // 4 and i != u]
>>> summary = bootstrap(engine, events)
>>> summary.users, summary.items, summary.triples, summary.epoch
(8, 8, 24, 1)
>>> vector = engine.user_state("u0").vector
>>> score = lambda item: float(engine.items.model.item_vector(item)[:-1] @ vector)
>>> score("i0") > score("i4")
True
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from recsys.datasets.base import Event
from recsys.engine import Engine
from recsys.models.wals import WalsFactors
from recsys.models.wals_link import TrainSummary, bpr_of, item_norm, rescaled
from recsys.users.store import UserStore
from schemas import Interaction

__all__ = ["bootstrap", "seed_users"]


def bootstrap(engine: Engine, events: Iterable[Event], replay: bool = True) -> TrainSummary:
    """Learn from a history, then fit WALS on its positive events and install the fit (see the module).

    With ``replay`` (the default) every interaction first goes through :meth:`Engine.apply`, so
    all non-MF state is built as online; without it only catalogue, profile and follow records are
    applied and users get just their fitted vector. Users and items the engine already holds keep
    their other state; every fitted user's vector is replaced and marked with the new epoch.
    """
    started = time.perf_counter()
    s, items = engine.settings, engine.items
    model = bpr_of(items.model, s)
    triples: list[tuple[str, str, float]] = []
    n = 0
    for event in events:
        n += 1
        if not isinstance(event, Interaction):
            engine.apply_event(event)
        elif not replay or engine.apply(event):  # a duplicate event_id counts once
            weight = engine.weight(event)
            if weight > 0:
                triples.append((event.user_id, event.item_id, weight))
    if not triples:
        raise ValueError(
            "bootstrap: the history has no positive interaction to fit; check the input (and "
            "RECSYS_EVENT_WEIGHTS: only event types with a positive weight count)"
        )
    wals = items.wals.wals(s)
    fit_started = time.perf_counter()
    factors = rescaled(wals.fit(triples), item_norm(s))
    fit_seconds = time.perf_counter() - fit_started
    items.wals.install_items(model, factors, zero_others=True)
    engine.rebuild_index()
    _install_users(engine, factors)
    if s.wals_refresh_events:
        items.wals.buffer.extend(triples)
    items.wals.since_fit = 0
    pairs = len({(u, i) for u, i, _ in triples})
    return TrainSummary(n, len(factors.user_ids), len(factors.item_ids), pairs, time.perf_counter() - started,
                        fit_seconds, wals.history[-1], items.wals.epoch)  # fmt: skip


def _install_users(engine: Engine, factors: WalsFactors) -> None:
    for row, user_id in enumerate(factors.user_ids):
        state = engine.user_state(user_id)
        state.vector = [float(x) for x in factors.users[row]]
        state.bias = 0.0
        state.epoch = engine.items.wals.epoch
        engine.users.save(state)


def seed_users(users: UserStore) -> dict[str, dict[str, Any]]:
    """Copies of the stored user states to ship in a snapshot as ``WalsLink.seed_users``."""
    return {user_id: users.load(user_id).to_dict() for user_id in users}
