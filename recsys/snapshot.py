"""Snapshots of the item-side state: the whole :class:`~recsys.items.state.ItemState` and the MF index.

User state is not here: it lives in the partitioned user table and its changelog (who a
user follows included). Everything item-side is one object, pickled whole, so a part added to
it is in the snapshot without a line here. A snapshot is written into a fresh folder and
swapped in by rename, so a crash mid-write leaves the previous snapshot whole.

Pickling a catalogue of a million items takes seconds, and the worker's event loop must not
stop for that: :func:`fork_snapshot` writes it from a forked child, a copy-on-write image of the
state at that instant, while the parent goes on (where ``fork`` is missing it writes in place). The indexes are
derived state: the MF index is saved beside the state (loaded when it was written for the same
settings, else rebuilt from the item vectors); the content and two-tower indexes are rebuilt
on every load.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import time
from pathlib import Path
from typing import Any

from recsys.ann import VectorIndex, load_index
from recsys.errors import SnapshotError
from recsys.items.state import ItemState
from recsys.settings import Settings

log = logging.getLogger(__name__)

FORMAT = 4  # 3: one pickled ItemState around a shared row space; 4: indexes labelled by item row
_STATE = "state.pickle"
_META = "meta.json"
_INDEX = "index"


def _fingerprint(settings: Settings, dim: int) -> dict[str, Any]:
    s = settings
    return {"format": FORMAT, "factors": s.factors, "mf_loss": s.mf_loss, "ann_backend": s.ann_backend, "dim": dim}


def save_snapshot(
    items: ItemState, mf: VectorIndex, settings: Settings, model_version: str, directory: Path
) -> Path:
    """Write ``directory/snapshot`` atomically; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / "snapshot"
    tmp = directory / f".snapshot-{time.time_ns()}"
    tmp.mkdir()
    with open(tmp / _STATE, "wb") as fh:
        pickle.dump(items, fh, protocol=pickle.HIGHEST_PROTOCOL)
    mf.save(tmp / _INDEX)
    meta = {**_fingerprint(settings, items.model.dim), "offsets": items.offsets, "saved_at": time.time(),
            "items": len(items.catalog), "model_version": model_version}  # fmt: skip
    (tmp / _META).write_text(json.dumps(meta, indent=2))
    old = directory / f".old-{time.time_ns()}"
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def fork_snapshot(
    items: ItemState, mf: VectorIndex, settings: Settings, model_version: str, directory: Path
) -> int | None:
    """Write the snapshot from a forked child and return its pid at once (reap it with
    :func:`reaped`); without ``fork`` (not POSIX) write it here and return None.

    The child only pickles and writes files, then leaves with ``os._exit``: it touches none of
    the parent's sockets, tables or threads, and runs no exit handlers.
    """
    if not hasattr(os, "fork"):
        save_snapshot(items, mf, settings, model_version, directory)
        return None
    pid = os.fork()
    if pid == 0:  # the child
        status = 1
        try:
            save_snapshot(items, mf, settings, model_version, directory)
            status = 0
        finally:
            os._exit(status)
    return pid


def reaped(pid: int) -> int | None:
    """The exit status of the snapshot child ``pid`` once it ended (0: written), None while it runs."""
    done, status = os.waitpid(pid, os.WNOHANG)
    return None if done == 0 else os.waitstatus_to_exitcode(status)


def load_snapshot(settings: Settings, directory: Path) -> tuple[ItemState, VectorIndex | None] | None:
    """The item state and MF index of ``directory/snapshot`` (the index None when it must be
    rebuilt); None when there is no snapshot, or one written for other settings."""
    path = directory / "snapshot"
    if not (path / _META).exists():
        return None
    try:
        meta = json.loads((path / _META).read_text())
        if (meta.get("format"), meta.get("factors"), meta.get("mf_loss")) != (
            FORMAT,
            settings.factors,
            settings.mf_loss,
        ):
            log.warning("snapshot %s was written for other settings (%s); starting fresh", path, meta)
            return None
        with open(path / _STATE, "rb") as fh:
            items = pickle.load(fh)  # noqa: S301 - our own file, in our own data dir
    except (OSError, ValueError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise SnapshotError(f"cannot read the snapshot in {path}: {exc}; delete that folder to rebuild") from exc
    if not isinstance(items, ItemState):
        raise SnapshotError(f"{path}/{_STATE} holds no item state; delete that folder to rebuild")
    mf: VectorIndex | None = None
    if meta.get("ann_backend") == settings.ann_backend and (path / _INDEX).exists():
        mf = load_index(path / _INDEX)
    return items, mf
