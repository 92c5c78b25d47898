"""A closed-loop user simulator: synthetic users with planted tastes answer the lists they are shown.

Replaying a log asks "would we have predicted the next item"; in a log, users' actions did not
come from our lists. Here they do. Each user of a :class:`~recsys.datasets.synthetic.SyntheticWorld`
has a favourite cluster (the truth: an item is relevant to a user when it is of their cluster).
At each step one user is shown their current list and answers it:

* they look down the list, examining position ``p`` with probability ``examine ** (p - 1)``
  (position bias); an examined relevant item is clicked with probability ``relevant``, an
  examined other one with ``irrelevant``; the first click is the answer (a ``click``, carrying
  the list's ``list_id`` and the position);
* with no click, with probability ``browse`` they find something themselves (the world's own
  next interaction of theirs, outside the list); else they skip the first item they examined;
* the world's taste drift (``drift_every``) moves users to another cluster over time.

Because the truth is known, :class:`Simulation` reports the **true precision** of what was
shown (the share of listed items relevant to the user when shown), per experiment variant,
beside the hits that :mod:`recsys.experiments` counts. It runs in-process against an
:class:`~recsys.engine.Engine` (fast: for tests and tuning).

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

import random
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

    def to_dict(self) -> dict[str, Any]:
        return {"lists": self.lists, "answers": self.answers, "clicks": self.clicks,
                "precision": round(self.relevant / self.listed, 6) if self.listed else 0.0,
                "click_rate": round(self.clicks / self.answers, 6) if self.answers else 0.0,
                "clicked_relevant": self.clicked_relevant,
                "positions": dict(sorted(self.positions.items()))}  # fmt: skip


class Simulation:
    """Users of ``world`` answering the lists ``engine`` shows them (see the module)."""

    def __init__(
        self,
        world: SyntheticWorld,
        engine: Engine,
        *,
        examine: float = 0.7,
        relevant: float = 0.6,
        irrelevant: float = 0.05,
        browse: float = 0.3,
        seed: int = 0,
    ) -> None:
        for name, p in (("examine", examine), ("relevant", relevant), ("irrelevant", irrelevant), ("browse", browse)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
        self.world, self.engine = world, engine
        self.examine, self.relevant, self.irrelevant, self.browse = examine, relevant, irrelevant, browse
        self.rng = random.Random(seed)
        self.lists: dict[str, Recommendation] = {}  # each user's current list, as published
        self.truth: dict[str, Truth] = {}
        self._steps = 0
        for item in world.catalogue():
            engine.apply_item(item)

    def warm_up(self, n: int) -> None:
        """``n`` of the world's own interactions (no lists answered): the history before the test."""
        for event in self.world.interactions(n):
            self._send(event, count=False)

    def experiment(self, spec: str | dict[str, Any]) -> None:
        """Start an A/B experiment now (after the warm-up, so its counts start with the test)."""
        from recsys.experiments import Experiment

        self.engine.set_experiment(Experiment.parse(spec))

    def run(self, steps: int) -> dict[str, dict[str, Any]]:
        """``steps`` answers; what was true of the lists shown, per variant ("" outside an experiment)."""
        for _ in range(steps):
            user = f"u{self.rng.randrange(self.world.n_users)}"
            shown = self.lists.get(user)
            answer = self._answer(user, shown) if shown is not None and shown.items else None
            self._send(answer or self.world.interaction(user))
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
            if self.rng.random() < (self.relevant if fits else self.irrelevant):
                truth.clicks += 1
                truth.clicked_relevant += fits
                truth.positions[entry.position] = truth.positions.get(entry.position, 0) + 1
                return self._event(user, entry.item_id, "click", shown.list_id, entry.position)
        if first_examined is None or self.rng.random() < self.browse:
            return None
        return self._event(user, first_examined.item_id, "skip", shown.list_id, first_examined.position)

    def _event(self, user: str, item: str, kind: str, list_id: str, position: int) -> Interaction:
        self._steps += 1
        self.world.clock += self.rng.expovariate(1.0)
        return Interaction(f"sim-{self._steps}", user, item, kind, timestamp=round(self.world.clock, 3),
                           list_id=list_id, position=position)  # fmt: skip

    def _send(self, event: Interaction, count: bool = True) -> None:
        rec = self.engine.process(event).recommendation
        if rec is None:
            return
        self.lists[rec.user_id] = rec
        if count:
            own = self.world.cluster_of_user(rec.user_id)
            truth = self.truth.setdefault(rec.variant, Truth())
            truth.lists += 1
            truth.listed += len(rec.items)
            truth.relevant += sum(self.world.cluster_of_item(i.item_id) == own for i in rec.items)


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
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    world = SyntheticWorld(users=args.users, items=args.items, clusters=args.clusters, seed=args.seed)
    engine = Engine(Settings.from_env())  # the auto index is exact below 20,000 items
    sim = Simulation(world, engine, examine=args.examine, seed=args.seed)
    sim.warm_up(args.warmup)
    if args.experiment:
        sim.experiment(args.experiment)
    truth = sim.run(args.steps)
    name, counts = engine.variant_counts()
    rows = report(counts, engine.experiment.control) if engine.experiment is not None else []
    if args.json:
        print(json.dumps({"truth": truth, "experiment": name, "report": rows}, indent=2))
        return 0
    print(f"{'variant':<12} {'lists':>6} {'answers':>7} {'true precision':>14} {'click rate':>10}")
    for variant, t in truth.items():
        shown = variant or "(none)"
        print(f"{shown:<12} {t['lists']:>6} {t['answers']:>7} {t['precision']:>14.4f} {t['click_rate']:>10.4f}")
    if rows and engine.experiment is not None:
        print(f"\nexperiment {name}, as the worker reports it:")
        print(format_report(rows, engine.experiment.control))
    return 0
