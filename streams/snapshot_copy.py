"""A new worker's fast start: copy a running worker's model snapshot over HTTP.

The item-side state is a snapshot plus the log of item updates after it (``recsys-item-updates``,
:mod:`streams.global_reader`). A worker with a data folder of its own restarts from its snapshot.
A brand-new worker (a new machine, a lost disk) has none: it replays the update log from its
start, and the log keeps only what its retention allows (the broker's default is 7 days), so
after that a new worker would miss the oldest learning. With ``RECSYS_BOOTSTRAP_URL`` naming a
running worker, a worker that has no snapshot first copies that worker's latest one (``GET
/snapshot/``, a tar of the folder) and then replays the log from the offsets it records; the
updates the copy holds already are skipped by the interactions they came from
(:mod:`recsys.items.learnt`), so none is applied twice.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     src, dst = Path(tmp, "a"), Path(tmp, "b")
...     (src / "snapshot").mkdir(parents=True); _ = (src / "snapshot" / "meta.json").write_text("{}")
...     _ = unpack(pack(src), dst); sorted(p.name for p in (dst / "snapshot").iterdir())
['meta.json']
"""

from __future__ import annotations

import io
import logging
import shutil
import tarfile
import time
import urllib.request
from pathlib import Path

from recsys.errors import SnapshotError

log = logging.getLogger("streams")
ATTEMPTS = 3  # a snapshot swapped in while it was read: try again


def pack(model_dir: Path) -> bytes:
    """The snapshot folder of ``model_dir`` as an uncompressed tar; :class:`FileNotFoundError` when
    there is none yet."""
    for attempt in range(ATTEMPTS):
        path = model_dir / "snapshot"
        if not path.exists():
            raise FileNotFoundError(f"no snapshot in {model_dir} yet")
        out = io.BytesIO()
        try:
            with tarfile.open(fileobj=out, mode="w") as tar:
                tar.add(path, arcname="snapshot")
            return out.getvalue()
        except FileNotFoundError:  # a newer snapshot replaced it meanwhile
            if attempt == ATTEMPTS - 1:
                raise
            time.sleep(0.2)
    raise AssertionError("unreachable")


def unpack(raw: bytes, model_dir: Path) -> Path:
    """Write the tar of :func:`pack` as ``model_dir/snapshot`` (by rename, so it is whole or absent)."""
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = model_dir / f".copy-{time.time_ns()}"
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r") as tar:
        tar.extractall(tmp, filter="data")
    if not (tmp / "snapshot").is_dir():
        shutil.rmtree(tmp, ignore_errors=True)
        raise SnapshotError("the copied snapshot holds no snapshot folder")
    (tmp / "snapshot").rename(model_dir / "snapshot")
    shutil.rmtree(tmp, ignore_errors=True)
    return model_dir / "snapshot"


def copy_snapshot(url: str, model_dir: Path, timeout: float = 300.0, token: str = "") -> bool:
    """Copy the snapshot of the worker at ``url`` into ``model_dir`` when it has none; True when copied.
    A worker that cannot be reached or has no snapshot yet leaves ``model_dir`` as it was (logged).
    ``token``: the API's bearer token, when the workers have one."""
    if (model_dir / "snapshot").exists():
        return False
    source = f"{url.rstrip('/')}/snapshot/"
    request = urllib.request.Request(source, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            raw = reply.read()
    except OSError as exc:
        log.warning("could not copy the model snapshot from %s (%s); replaying the item update log alone",
                    source, exc)  # fmt: skip
        return False
    unpack(raw, model_dir)
    log.info("copied the model snapshot of %s (%d bytes)", url, len(raw))
    return True
