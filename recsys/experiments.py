"""A/B experiments on live traffic: named variants of the ranking, each with a share of the users.

An experiment is declared as JSON (``RECSYS_EXPERIMENT``, or at run time with
:meth:`recsys.engine.Engine.set_experiment`, no restart)::

    {"name": "mf-alone",
     "variants": [{"name": "control", "share": 50},
                  {"name": "mf", "share": 50, "settings": {"generators": "mf", "scorer": "mf"}}]}

The first variant is the control. A variant is a configuration of the same engine: settings
overrides of how a list is ranked (:data:`RANKING_SETTINGS`: generators, scorer, blend weights,
candidates, re-ranking steps and their parameters), not a second deployment. What is learnt
from interactions alone (MF, two-tower, co-visitation, trends) is shared by every variant.
What learns from what users did with their lists learns per variant, or the comparison is
biased (a variant's lists would train the other's model): the control ranks with the shared
learned scorer, and every other variant that ranks with the learned scorer has a model of its
own, forked from the shared one when the variant starts and labelled only by its own users
(it may also change how that model learns: :data:`LEARNING_SETTINGS`).

A user's variant is a stable hash of the experiment's name and the user id, uniform over
[0, 1) and cut by the cumulative shares: the same user gets the same variant on every worker
and after every restart, and two experiments with different names split users independently.

Examples
--------
>>> exp = Experiment.parse('{"name": "e", "variants": [{"name": "a", "share": 1}, '
...                        '{"name": "b", "share": 3, "settings": {"candidates": 50}}]}')
>>> exp.control, [v.name for v in exp.variants], exp.variants[1].settings
('a', ['a', 'b'], {'candidates': 50})
>>> exp.assign("alice") == exp.assign("alice"), exp.assign("alice") in ("a", "b")
(True, True)
>>> shares = [exp.assign(f"user{n}") for n in range(4000)]
>>> round(shares.count("b") / len(shares), 1)
0.8
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from recsys.errors import ConfigError
from recsys.settings import ENV_PREFIX, Settings

RANKING_SETTINGS = frozenset({
    "k", "candidates", "generators", "scorer", "blend_weights", "blend_offset", "rerank_steps",
    "exclude_types", "max_item_age", "freshness_weight", "freshness_half_life", "clickbait_weight",
    "clickbait_min_clicks", "clickbait_flag_weight", "mmr_lambda", "mmr_space", "max_per_genre",
    "max_per_creator", "fairness_max_share", "fairness_reserved_slots", "fairness_min_share",
    "new_item_slot", "new_item_max_age",
})  # fmt: skip
"""The settings a variant may change: how a list is ranked from the shared state."""
LEARNING_SETTINGS = frozenset({"learned_debias", "learned_propensity_power", "learned_negatives"})
"""What a variant other than the control may change of how its own learned scorer learns."""

VARIABLE = f"{ENV_PREFIX}EXPERIMENT"

TOPIC_KEY = b"experiment"
"""The one key of the experiments topic (compacted: it keeps the latest experiment)."""


@dataclass(frozen=True)
class Variant:
    """One arm: a name, a share of the users (any positive weight) and its setting overrides."""

    name: str
    share: float
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Experiment:
    """Named variants with their shares; the first is the control."""

    name: str
    variants: tuple[Variant, ...]

    @property
    def control(self) -> str:
        return self.variants[0].name

    @classmethod
    def parse(cls, text: str | dict[str, Any]) -> Experiment:
        """An experiment from its JSON (text or parsed); a :class:`ConfigError` that says what to fix."""
        try:
            data = json.loads(text) if isinstance(text, str) else text
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{VARIABLE}: not valid JSON ({exc}); see recsys/experiments.py for the shape") from None
        if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"].strip():
            raise ConfigError(f'{VARIABLE}: needs an object with a "name" (a non-empty string) and "variants"')
        unknown = sorted(set(data) - {"name", "variants", "control"})
        if unknown:
            raise ConfigError(f"{VARIABLE}: unknown field(s) {unknown}; an experiment has name and variants")
        raw = data.get("variants")
        if not isinstance(raw, list) or len(raw) < 2:
            raise ConfigError(f'{VARIABLE}: "variants" must list at least two variants (the first is the control)')
        variants = tuple(_variant(v, n) for n, v in enumerate(raw))
        names = [v.name for v in variants]
        if len(set(names)) != len(names):
            raise ConfigError(f"{VARIABLE}: variant names must differ, got {names}")
        if data.get("control", names[0]) != names[0]:
            raise ConfigError(f"{VARIABLE}: the control is the first variant ({names[0]!r}), not {data['control']!r}; "
                              "list it first")  # fmt: skip
        return cls(data["name"].strip(), variants)

    def assign(self, user_id: str) -> str:
        """The user's variant: a stable hash of the experiment's name and ``user_id`` against the shares."""
        digest = hashlib.blake2b(f"{self.name}\0{user_id}".encode(), digest_size=8).digest()
        point = int.from_bytes(digest, "big") / 2.0**64 * sum(v.share for v in self.variants)
        for variant in self.variants:
            point -= variant.share
            if point < 0:
                return variant.name
        return self.variants[-1].name

    def settings_of(self, base: Settings) -> dict[str, Settings]:
        """Each variant's settings: ``base`` with its overrides (validated; a :class:`ConfigError`
        names the variant and the setting)."""
        out: dict[str, Settings] = {}
        for variant in self.variants:
            try:
                out[variant.name] = base.replace(**variant.settings) if variant.settings else base
            except (ConfigError, TypeError, ValueError) as exc:
                raise ConfigError(f"{VARIABLE}: variant {variant.name!r}: {exc}") from None
            if out[variant.name].scorer == "learned" and base.scorer != "learned":
                raise ConfigError(
                    f"{VARIABLE}: variant {variant.name!r} ranks with the learned scorer, whose model is "
                    f"kept only when {ENV_PREFIX}SCORER=learned; set it there (the control may set another)"
                )
            learning = sorted(set(variant.settings) & LEARNING_SETTINGS)
            if learning and variant is self.variants[0]:
                raise ConfigError(
                    f"{VARIABLE}: the control {variant.name!r} ranks with the shared learned scorer and may not "
                    f"change how it learns ({', '.join(learning)}); set these on another variant"
                )
            if "two_tower" in out[variant.name].generator_names and "two_tower" not in base.generator_names:
                raise ConfigError(
                    f"{VARIABLE}: variant {variant.name!r} uses the two_tower generator, which the "
                    f"towers learn for only when {ENV_PREFIX}GENERATORS names it; add it there"
                )
        return out

    def to_dict(self) -> dict[str, Any]:
        variants = [{"name": v.name, "share": v.share, "settings": dict(v.settings)} for v in self.variants]
        return {"name": self.name, "control": self.control, "variants": variants}


def _variant(data: Any, n: int) -> Variant:
    where = f"{VARIABLE}: variant {n + 1}"
    if not isinstance(data, dict):
        raise ConfigError(f'{where} must be an object with "name", "share" and optional "settings"')
    unknown = sorted(set(data) - {"name", "share", "settings"})
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {unknown}; a variant has name, share and settings")
    name, share, settings = data.get("name"), data.get("share", 1), data.get("settings") or {}
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f'{where}: "name" must be a non-empty string')
    if isinstance(share, bool) or not isinstance(share, int | float) or not share > 0:
        raise ConfigError(f'{where} ({name}): "share" must be a positive number (a weight), got {share!r}')
    if not isinstance(settings, dict):
        raise ConfigError(f'{where} ({name}): "settings" must be an object of setting names and values')
    stray = sorted(set(settings) - RANKING_SETTINGS - LEARNING_SETTINGS)
    if stray:
        raise ConfigError(
            f"{where} ({name}): {stray} cannot differ between variants (they change the shared state, "
            f"not the ranking); a variant may set: {', '.join(sorted(RANKING_SETTINGS | LEARNING_SETTINGS))}"
        )
    return Variant(name.strip(), float(share), dict(settings))


@dataclass
class VariantStats:
    """What one variant's lists did: lists shown, and the interactions of their users on them.

    ``positives`` counts positive interactions (weight above 0) of the variant's users right
    after a list of theirs, ``hits`` those on an item of that list, ``positions`` the hits by
    1-based position, ``negatives`` skips and dislikes (weight below 0) of a listed item,
    ``items`` the distinct items shown (coverage), ``latency_ms`` the sum over lists.
    """

    lists: int = 0
    positives: int = 0
    hits: int = 0
    negatives: int = 0
    positions: dict[int, int] = field(default_factory=dict)
    items: set[str] = field(default_factory=set)
    latency_ms: float = 0.0

    def shown(self, ids: tuple[str, ...], latency_ms: float) -> None:
        self.lists += 1
        self.items.update(ids)
        self.latency_ms += latency_ms

    def answered(self, weight: float, position: int) -> None:
        """An interaction after a list of this variant: its weight, and the item's 1-based position
        in the list (0: not in it)."""
        if weight > 0:
            self.positives += 1
            if position:
                self.hits += 1
                self.positions[position] = self.positions.get(position, 0) + 1
        elif weight < 0 and position:
            self.negatives += 1

    def to_dict(self) -> dict[str, Any]:
        return {"lists": self.lists, "positives": self.positives, "hits": self.hits, "negatives": self.negatives,
                "positions": dict(sorted(self.positions.items())), "coverage": len(self.items),
                "latency_ms": round(self.latency_ms / self.lists, 3) if self.lists else None}  # fmt: skip


Z95 = 1.959963984540054


def report(stats: dict[str, dict[str, Any]], control: str) -> list[dict[str, Any]]:
    """Each variant's hit rate (hits per list shown) with a 95% confidence interval, and its
    difference from the control's with one (normal approximation of two proportions).

    Lists are the unit: a user's lists are not independent, so with few users the interval is
    too narrow; a test over users (the A/A rate) checks it.

    >>> rows = report({"a": {"lists": 1000, "hits": 100}, "b": {"lists": 1000, "hits": 150}}, "a")
    >>> [(r["variant"], r["rate"], r["significant"]) for r in rows]
    [('a', 0.1, False), ('b', 0.15, True)]
    >>> report({"a": {"lists": 0, "hits": 0}}, "a")[0]["ci"] is None  # no lists yet: no interval (JSON null)
    True
    """
    base = stats.get(control, {})
    n0, h0 = int(base.get("lists", 0)), int(base.get("hits", 0))
    p0 = h0 / n0 if n0 else 0.0
    rows = []
    for name, s in stats.items():
        n, h = int(s.get("lists", 0)), int(s.get("hits", 0))
        p = h / n if n else 0.0
        half = Z95 * (p * (1 - p) / n) ** 0.5 if n else 0.0
        row: dict[str, Any] = {"variant": name, "lists": n, "hits": h, "rate": round(p, 6),
                               "ci": (round(p - half, 6), round(p + half, 6)) if n else None, "diff": None,
                               "diff_ci": None, "significant": False}  # fmt: skip
        if name != control and n and n0:
            diff = p - p0
            se = (p * (1 - p) / n + p0 * (1 - p0) / n0) ** 0.5
            low, high = diff - Z95 * se, diff + Z95 * se
            row.update(diff=round(diff, 6), diff_ci=(round(low, 6), round(high, 6)), significant=low > 0 or high < 0)
        rows.append(row)
    return rows


def merge_counts(parts: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Each variant's counts summed over several workers' ``/experiments/`` (coverage: the largest,
    since the same item may be shown by several).

    >>> merge_counts([{"a": {"lists": 2, "hits": 1, "positions": {"1": 1}, "coverage": 5}},
    ...               {"a": {"lists": 3, "hits": 2, "positions": {"1": 1, "2": 1}, "coverage": 4}}])["a"]
    {'lists': 5, 'hits': 3, 'positions': {'1': 2, '2': 1}, 'coverage': 5}
    """
    out: dict[str, dict[str, Any]] = {}
    for part in parts:
        for variant, counts in part.items():
            into = out.setdefault(variant, {})
            for key, value in counts.items():
                if key == "positions":
                    positions = into.setdefault("positions", {})
                    for position, count in value.items():
                        positions[position] = positions.get(position, 0) + count
                elif key == "coverage":
                    into[key] = max(into.get(key, 0), value)
                elif isinstance(value, int | float) and key != "latency_ms":
                    into[key] = into.get(key, 0) + value
    return out


def format_report(rows: list[dict[str, Any]], control: str) -> str:
    """The report as a table: each variant's hit rate with its 95% interval, and its difference from control.

    >>> print(format_report(report({"a": {"lists": 100, "hits": 10}, "b": {"lists": 100, "hits": 30}}, "a"), "a"))
    variant  lists   hits  hit rate [95% CI]         vs control [95% CI]
    a          100     10  0.1000 [0.0412, 0.1588]   (control)
    b          100     30  0.3000 [0.2102, 0.3898]   +0.2000 [+0.0926, +0.3074] significant
    """
    width = max([len("variant"), *(len(r["variant"]) for r in rows)])
    lines = [f"{'variant':<{width}}  {'lists':>5}  {'hits':>5}  {'hit rate [95% CI]':<24}  vs control [95% CI]"]
    for r in rows:
        rate = f"{r['rate']:.4f} [{r['ci'][0]:.4f}, {r['ci'][1]:.4f}]" if r["ci"] else "-"
        if r["variant"] == control:
            versus = "(control)"
        elif r["diff"] is None:
            versus = "(no lists yet)"
        else:
            dlow, dhigh = r["diff_ci"]
            versus = f"{r['diff']:+.4f} [{dlow:+.4f}, {dhigh:+.4f}]" + (" significant" if r["significant"] else "")
        lines.append(f"{r['variant']:<{width}}  {r['lists']:>5}  {r['hits']:>5}  {rate:<24}  {versus}")
    return "\n".join(lines)
