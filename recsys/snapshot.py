"""Snapshots of the engine's item-side state: the model, the catalogue and the ANN index.

User state is not here: it lives in the partitioned user table and its changelog (who a
user follows included; the recent likes their followers see are engine-level and are here). A
snapshot is written into a fresh folder and swapped in by rename, so a crash mid-write
leaves the previous snapshot whole. Business rules, creator exposure and click feedback are
here too. The index is derived state: when its files are missing or were written for other
settings, it is rebuilt from the item vectors. The content and two-tower indexes are rebuilt
from the catalogue and the towers on every load.
"""

from __future__ import annotations

import json
import logging
import pickle
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recsys.errors import SnapshotError

if TYPE_CHECKING:
    from recsys.engine import Engine

log = logging.getLogger(__name__)

FORMAT = 2  # 2: catalogue keeps engaged items; the model may be OnlineBPR; trending, fresh
_STATE = "state.pickle"
_META = "meta.json"
_INDEX = "index"


def _fingerprint(engine: Engine) -> dict[str, Any]:
    s = engine.settings
    return {
        "format": FORMAT,
        "factors": s.factors,
        "mf_loss": s.mf_loss,
        "ann_backend": s.ann_backend,
        "dim": engine.model.dim,
    }


def save_snapshot(engine: Engine, directory: Path) -> Path:
    """Write ``directory/snapshot`` atomically; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / "snapshot"
    tmp = directory / f".snapshot-{time.time_ns()}"
    tmp.mkdir()
    engine.refresh_index(tolerance=0.0)
    with open(tmp / _STATE, "wb") as fh:
        pickle.dump(
            {"model": engine.model, "catalog": engine.catalog, "covisitation": engine.covisitation,
             "trending": engine.trending, "fresh": engine.fresh, "clock": engine.clock, "towers": engine.towers,
             "recent_likes": engine.recent_likes,
             "rng": engine.rng.getstate(), "counters": engine.counters, "learned": engine.learned,
             "wals": engine.wals, "feedback": engine.feedback, "exposure": engine.exposure,
             "rules": engine.rules},
            fh,
            protocol=pickle.HIGHEST_PROTOCOL,
        )  # fmt: skip
    engine.index.save(tmp / _INDEX)
    meta = {**_fingerprint(engine), "offsets": engine.offsets, "saved_at": time.time(),
            "items": len(engine.catalog), "model_version": engine.model_version}  # fmt: skip
    (tmp / _META).write_text(json.dumps(meta, indent=2))
    old = directory / f".old-{time.time_ns()}"
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def load_snapshot(engine: Engine, directory: Path) -> bool:
    """Restore ``directory/snapshot`` into ``engine``; False when there is none."""
    path = directory / "snapshot"
    if not (path / _META).exists():
        return False
    try:
        meta = json.loads((path / _META).read_text())
        with open(path / _STATE, "rb") as fh:
            state = pickle.load(fh)  # noqa: S301 - our own file, in our own data dir
    except (OSError, ValueError, pickle.UnpicklingError, EOFError) as exc:
        raise SnapshotError(f"cannot read the snapshot in {path}: {exc}; delete that folder to rebuild") from exc
    if (meta.get("format"), meta.get("factors"), meta.get("mf_loss")) != (
        FORMAT,
        engine.settings.factors,
        engine.settings.mf_loss,
    ):
        log.warning("snapshot %s was written for other settings (%s); starting fresh", path, meta)
        return False
    engine.model = state["model"]
    engine.catalog = state["catalog"]
    engine.covisitation = state["covisitation"]
    engine.trending, engine.fresh, engine.clock = state["trending"], state["fresh"], state["clock"]
    if "recent_likes" in state:  # older snapshots have none: the followees' likes start afresh
        engine.recent_likes = state["recent_likes"]
    engine.towers = state["towers"]
    engine.rng.setstate(state["rng"])
    engine.counters.update(state["counters"])
    if "wals" in state:  # factor epoch, re-fit buffer and trained users (older snapshots: none)
        engine.wals = state["wals"]
    for part in ("feedback", "exposure", "rules"):  # click-bait counts, creator exposure, rules in force
        if part in state:
            setattr(engine, part, state[part])
    engine.offsets = dict(meta.get("offsets", {}))
    if engine.learned is not None and state.get("learned") is not None:
        engine.learned = state["learned"]  # its signals are wired again below
    engine.rebuild_derived()
    index_cls = type(engine.index)
    if meta.get("ann_backend") == engine.settings.ann_backend and (path / _INDEX).exists():
        engine.index = index_cls.load(path / _INDEX)
        engine._wire()
    else:
        engine.rebuild_index()
    return True
