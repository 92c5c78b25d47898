"""A closed-loop user simulator: synthetic users with planted tastes answer the lists they are shown.

Replaying a log asks "would we have predicted the next item"; in a log, users' actions did not
come from our lists. Here they do. Each user of a :class:`~recsys.datasets.synthetic.SyntheticWorld`
has a favourite cluster (the truth: an item is relevant to a user when it is of their cluster).
At each step one user is shown their current list and answers it:

* they look down the list, examining position ``p`` with probability ``examine ** (p - 1)``
  (position bias); an examined relevant item is clicked with probability ``relevant`` times
  the item's quality, an examined other one with ``irrelevant``; the first click is the answer
  (a ``click``, carrying the list's ``list_id`` and the position). Every item's quality is 1
  unless ``quality`` spreads it: then it is ``1 - quality * u``, ``u`` uniform in [0, 1) and
  fixed per item, so that which relevant items a list holds, and in which order, matters;
* with no click, with probability ``browse`` they find something themselves (the world's own
  next interaction of theirs, outside the list); else they skip the first item they examined;
* the world's taste drift (``drift_every``; ``--drift-every``, 1,000 by default in ``recsys
  simulate``) moves users to another cluster over time: the truth moves with it.

Because the truth is known, :class:`Simulation` reports the **true precision** of what was
shown (the share of listed items relevant to the user when shown) and its **expected clicks**
(the chance of a click on the list under the users' true model: position bias, relevance and
quality, all known here), per experiment variant,
beside the hits that :mod:`recsys.experiments` counts. It runs in-process against an
:class:`~recsys.engine.Engine` (fast: for tests and tuning), or against a running worker
through the broker (:mod:`streams.simulate_live`, ``recsys simulate --live``).

Examples
--------
>>> from recsys.datasets.synthetic import SyntheticWorld
>>> from recsys.engine import Engine
>>> from recsys.settings import Settings
>>> world = SyntheticWorld(users=30, items=60, clusters=3, seed=1)
>>> sim = Simulation(world, Engine(Settings(ann_backend="brute", k=5)), seed=1)
>>> sim.warm_up(200)
>>> result = sim.run(300)
>>> sorted(result), result[""]["answers"]
([''], 300)
>>> 0.0 <= result[""]["precision"] <= 1.0
True
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from recsys.datasets.synthetic import SyntheticWorld
from recsys.engine import Engine
from schemas import Interaction, Recommendation


@dataclass
class Truth:
    """What the simulator knows and the engine does not, per variant."""

    lists: int = 0
    listed: int = 0  # items shown
    relevant: int = 0  # of them, of the user's cluster when shown
    answers: int = 0
    clicks: int = 0  # answers that took an item of the list
    clicked_relevant: int = 0
    positions: dict[int, int] = field(default_factory=dict)
    expected: float = 0.0  # the sum over lists of the chance of a click under the true model

    def to_dict(self) -> dict[str, Any]:
        return {"lists": self.lists, "answers": self.answers, "clicks": self.clicks,
                "precision": round(self.relevant / self.listed, 6) if self.listed else 0.0,
                "click_rate": round(self.clicks / self.answers, 6) if self.answers else 0.0,
                "clicked_relevant": self.clicked_relevant,
                "expected_clicks": round(self.expected / self.lists, 6) if self.lists else 0.0,
                "positions": dict(sorted(self.positions.items()))}  # fmt: skip


class Simulation:
    """Users of ``world`` answering the lists ``engine`` shows them (see the module)."""

    def __init__(
        self,
        world: SyntheticWorld,
        engine: Engine | None,
        *,
        examine: float = 0.7,
        relevant: float = 0.6,
        irrelevant: float = 0.05,
        browse: float = 0.3,
        quality: float = 0.0,
        seed: int = 0,
    ) -> None:
        for name, p in (("examine", examine), ("relevant", relevant), ("irrelevant", irrelevant), ("browse", browse)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
        self.world, self.engine = world, engine
        if not 0.0 <= quality <= 1.0:
            raise ValueError(f"quality must be a spread in [0, 1], got {quality}")
        self.examine, self.relevant, self.irrelevant, self.browse = examine, relevant, irrelevant, browse
        self.quality = quality
        self._quality: dict[str, float] = {}
        self.rng = random.Random(seed)
        self.lists: dict[str, Recommendation] = {}  # each user's current list, as published
        self.truth: dict[str, Truth] = {}
        self._steps = 0
        if engine is not None:  # (None: the lists come from elsewhere, streams.simulate_live)
            for item in world.catalogue():
                engine.apply_item(item)

    def warm_up(self, n: int) -> None:
        """``n`` of the world's own interactions (no lists answered): the history before the test."""
        for event in self.world.interactions(n):
            self._send(event, count=False)

    def experiment(self, spec: str | dict[str, Any]) -> None:
        """Start an A/B experiment now (after the warm-up, so its counts start with the test)."""
        from recsys.experiments import Experiment

        assert self.engine is not None
        self.engine.set_experiment(Experiment.parse(spec))

    def run(self, steps: int) -> dict[str, dict[str, Any]]:
        """``steps`` answers; what was true of the lists shown, per variant ("" outside an experiment)."""
        for _ in range(steps):
            self._send(self.next_event(self.pick_user()))
        return self.result()

    def pick_user(self, busy: Collection[str] = ()) -> str:
        """A user to act next, drawn uniformly (not one of ``busy``, while any other is left)."""
        while True:
            user = f"u{self.rng.randrange(self.world.n_users)}"
            if user not in busy or len(busy) >= self.world.n_users:
                return user

    def next_event(self, user: str) -> Interaction:
        """What ``user`` does next: an answer to their current list, else something of their own."""
        shown = self.lists.get(user)
        answer = self._answer(user, shown) if shown is not None and shown.items else None
        return answer or self.world.interaction(user)

    def result(self) -> dict[str, dict[str, Any]]:
        """What was true of the lists shown so far, per variant ("" outside an experiment)."""
        return {variant: truth.to_dict() for variant, truth in sorted(self.truth.items())}

    def _answer(self, user: str, shown: Recommendation) -> Interaction | None:
        """The user's answer to ``shown``: a click on a listed item, a skip, or None (they browse)."""
        truth = self.truth.setdefault(shown.variant, Truth())
        truth.answers += 1
        own = self.world.cluster_of_user(user)
        first_examined = None
        for entry in shown.items:
            if self.rng.random() >= self.examine ** (entry.position - 1):
                continue
            first_examined = first_examined or entry
            fits = self.world.cluster_of_item(entry.item_id) == own
            if self.rng.random() < self.click_chance(entry.item_id, fits):
                truth.clicks += 1
                truth.clicked_relevant += fits
                truth.positions[entry.position] = truth.positions.get(entry.position, 0) + 1
                return self._event(user, entry.item_id, "click", shown.list_id, entry.position)
        if first_examined is None or self.rng.random() < self.browse:
            return None
        return self._event(user, first_examined.item_id, "skip", shown.list_id, first_examined.position)

    def quality_of(self, item_id: str) -> float:
        """The item's quality: 1, or ``1 - quality * u`` with ``u`` fixed per item (module docstring)."""
        if not self.quality:
            return 1.0
        q = self._quality.get(item_id)
        if q is None:
            u = int.from_bytes(hashlib.blake2b(item_id.encode(), digest_size=8).digest(), "big") / 2.0**64
            q = self._quality[item_id] = 1.0 - self.quality * u
        return q

    def click_chance(self, item_id: str, fits: bool) -> float:
        """The chance that an examined item is clicked."""
        return self.relevant * self.quality_of(item_id) if fits else self.irrelevant

    def expected_clicks(self, rec: Recommendation, own: int) -> float:
        """The chance of a click on ``rec`` under the true model: examination, relevance, quality."""
        missed = 1.0
        for entry in rec.items:
            fits = self.world.cluster_of_item(entry.item_id) == own
            missed *= 1.0 - self.examine ** (entry.position - 1) * self.click_chance(entry.item_id, fits)
        return 1.0 - missed

    def _event(self, user: str, item: str, kind: str, list_id: str, position: int) -> Interaction:
        self._steps += 1
        self.world.clock += self.rng.expovariate(1.0)
        return Interaction(f"sim-{self._steps}", user, item, kind, timestamp=round(self.world.clock, 3),
                           list_id=list_id, position=position)  # fmt: skip

    def _send(self, event: Interaction, count: bool = True) -> None:
        assert self.engine is not None
        rec = self.engine.process(event).recommendation
        if rec is not None:
            self.shown(rec, count)

    def shown(self, rec: Recommendation, count: bool = True) -> None:
        """``rec`` was published: the user's current list (``count``: in the test, so its truth counts)."""
        self.lists[rec.user_id] = rec
        if count:
            own = self.world.cluster_of_user(rec.user_id)
            truth = self.truth.setdefault(rec.variant, Truth())
            truth.lists += 1
            truth.listed += len(rec.items)
            truth.relevant += sum(self.world.cluster_of_item(i.item_id) == own for i in rec.items)
            truth.expected += self.expected_clicks(rec, own)


def ab_test(
    second: dict[str, Any], *, seed: int = 1, users: int = 200, items: int = 300, clusters: int = 6,
    warmup: int = 2000, steps: int = 2500, name: str = "",
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """One closed-loop experiment: the engine's own settings (control) against ``second``'s overrides
    (``{}``: an A/A test), started after ``warmup`` events; what was true of each variant's lists,
    and the report's row of each variant (:func:`recsys.experiments.report`)."""
    from recsys.experiments import report
    from recsys.settings import Settings

    world = SyntheticWorld(users=users, items=items, clusters=clusters, seed=seed)
    # refresh the index at every changed vector, not once a wall-clock second: the same seed gives
    # the same run however busy the machine is
    engine = Engine(Settings(ann_backend="brute", index_refresh_seconds=0.0))
    sim = Simulation(world, engine, seed=seed)
    sim.warm_up(warmup)
    sim.experiment({"name": name or f"loop-{seed}",
                    "variants": [{"name": "control"}, {"name": "b", "settings": second}]})  # fmt: skip
    truth = sim.run(steps)
    _, counts = engine.variant_counts()
    return truth, {row["variant"]: row for row in report(counts, "control")}


def main(argv: list[str] | None = None) -> int:
    """``recsys simulate``: an in-process closed loop, printed (what was true of the shown lists per
    variant, and the experiment's report when one runs)."""
    import argparse
    import json

    from recsys.experiments import format_report, report
    from recsys.settings import Settings

    parser = argparse.ArgumentParser(prog="recsys simulate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--clusters", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=3000, help="the world's own interactions first")
    parser.add_argument("--steps", type=int, default=4000, help="answers to lists")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--experiment", default="", help="an experiment's JSON, started after the warm-up")
    parser.add_argument("--examine", type=float, default=0.7, help="examination decay per position")
    parser.add_argument("--quality", type=float, default=0.0, help="spread of the items' quality, 0 to 1")
    parser.add_argument("--drift-every", type=int, default=1000, metavar="N",
                        help="taste drift: every N of the world's own interactions, 10%% of the users change "
                        "their favourite cluster (0: none)")  # fmt: skip
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--live", action="store_true",
                        help="against a running worker through the broker (recsys simulate --live --help)")
    args = parser.parse_args(argv)
    world = SyntheticWorld(users=args.users, items=args.items, clusters=args.clusters, seed=args.seed,
                           drift_every=args.drift_every)  # fmt: skip
    engine = Engine(Settings.from_env())  # the auto index is exact below 20,000 items
    sim = Simulation(world, engine, examine=args.examine, quality=args.quality, seed=args.seed)
    sim.warm_up(args.warmup)
    if args.experiment:
        sim.experiment(args.experiment)
    truth = sim.run(args.steps)
    name, counts = engine.variant_counts()
    rows = report(counts, engine.experiment.control) if engine.experiment is not None else []
    if args.json:
        print(json.dumps({"truth": truth, "experiment": name, "report": rows}, indent=2))
        return 0
    print_truth(truth)
    if rows and engine.experiment is not None:
        print(f"\nexperiment {name}, as the worker reports it:")
        print(format_report(rows, engine.experiment.control))
    return 0


def print_truth(truth: dict[str, dict[str, Any]]) -> None:
    """What was true of each variant's lists, as a table."""
    print(f"{'variant':<12} {'lists':>6} {'answers':>7} {'true precision':>14} {'expected clicks':>15} "
          f"{'click rate':>10}")  # fmt: skip
    for variant, t in truth.items():
        print(f"{variant or '(none)':<12} {t['lists']:>6} {t['answers']:>7} {t['precision']:>14.4f} "
              f"{t['expected_clicks']:>15.4f} {t['click_rate']:>10.4f}")  # fmt: skip
