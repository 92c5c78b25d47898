"""The index file: one uncompressed zip, written to a temporary sibling and renamed over the target.

A reader sees the old file or the new one, never half of one. Members:

* ``meta.json``: ``format``, ``version``, ``kind`` and the backend's parameters;
* ``<name>.npy``: numpy arrays (read with ``allow_pickle=False``);
* ``<name>.bin``: opaque files (hnswlib's graph), streamed in and out so a large graph is
  never held in memory twice.

Any file that is not a readable index of the expected version raises
:class:`recsys.errors.SnapshotError` whose message says to delete it (the index is derived
state: the engine rebuilds it from the item vectors).

Examples
--------
>>> import tempfile, numpy as np
>>> from pathlib import Path
>>> path = Path(tempfile.mkdtemp()) / "index.ann"
>>> with index_writer(path, "toy", {"dim": 2}) as out:
...     out.array("live", np.array([True, False]))
>>> with index_reader(path, "toy") as file:
...     file.meta["dim"], file.array("live", np.bool_).tolist()
(2, [True, False])
>>> with index_reader(path, "brute") as file:  # doctest: +ELLIPSIS
...     pass
Traceback (most recent call last):
...
recsys.errors.SnapshotError: ...: holds a 'toy' index, not 'brute'; load it with recsys.ann.load_index ...
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from recsys.errors import SnapshotError

FORMAT_NAME = "recsys.ann"
FORMAT_VERSION = 2  # 1: string ids in one .npz (before integer labels)


class IndexWriter:
    """Adds arrays and files to an index file being written (see :func:`index_writer`)."""

    def __init__(self, archive: zipfile.ZipFile, meta: dict[str, Any], scratch: Path) -> None:
        self._archive = archive
        self.meta = meta
        self.scratch = scratch
        """A directory for temporary files on the target's file system."""

    def array(self, name: str, array: npt.NDArray[Any]) -> None:
        with self._archive.open(f"{name}.npy", "w", force_zip64=True) as fh:
            np.lib.format.write_array(fh, np.ascontiguousarray(array), allow_pickle=False)

    def file(self, name: str, source: Path) -> None:
        self._archive.write(source, f"{name}.bin")


class IndexReader:
    """Reads the arrays and files of an index file (see :func:`index_reader`)."""

    def __init__(self, archive: zipfile.ZipFile, path: Path, meta: dict[str, Any]) -> None:
        self._archive = archive
        self.path = path
        self.meta = meta

    def with_meta(self, meta: dict[str, Any]) -> IndexReader:
        """The same file read with other metadata (an index stored inside another's file)."""
        return IndexReader(self._archive, self.path, meta)

    def corrupt(self, what: str) -> SnapshotError:
        return SnapshotError(f"{self.path}: {what}; delete it to rebuild")

    def array(self, name: str, dtype: npt.DTypeLike, ndim: int = 1) -> npt.NDArray[Any]:
        """The array ``name``, checked to have ``dtype`` and ``ndim`` dimensions."""
        try:
            with self._archive.open(f"{name}.npy") as fh:
                array = np.lib.format.read_array(fh, allow_pickle=False)
        except KeyError as exc:
            raise self.corrupt(f"index file lacks {name!r}") from exc
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise self.corrupt(f"index file has an unreadable {name!r} ({exc})") from exc
        if array.dtype != np.dtype(dtype) or array.ndim != ndim:
            raise self.corrupt(f"index file's {name!r} is {array.dtype} with {array.ndim} dimensions")
        return array

    def extract(self, name: str, target: Path) -> None:
        """Stream the file ``name`` to ``target``."""
        try:
            with self._archive.open(f"{name}.bin") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        except KeyError as exc:
            raise self.corrupt(f"index file lacks {name!r}") from exc
        except (OSError, zipfile.BadZipFile) as exc:
            raise self.corrupt(f"index file has an unreadable {name!r} ({exc})") from exc


@contextmanager
def index_writer(path: Path | str, kind: str, meta: dict[str, Any]) -> Iterator[IndexWriter]:
    """Write an index file atomically: the body of the ``with`` adds arrays and files."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw:
            with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
                full = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "kind": kind, **meta}
                archive.writestr("meta.json", json.dumps(full, sort_keys=True))
                yield IndexWriter(archive, full, path.parent)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def index_reader(path: Path | str, kind: str | None) -> Iterator[IndexReader]:
    """Open an index file of ``kind`` (any kind when None); ``FileNotFoundError`` if it is missing."""
    path = Path(path)
    fh: IO[bytes] = open(path, "rb")  # FileNotFoundError passes through: nothing to delete
    with fh:
        try:
            archive = zipfile.ZipFile(fh)
            meta = json.loads(archive.read("meta.json"))
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise SnapshotError(
                f"{path}: not a readable {FORMAT_NAME} index file ({exc}); delete it to rebuild"
            ) from exc
        with archive:
            if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
                raise SnapshotError(f"{path}: not a {FORMAT_NAME} index file; delete it to rebuild")
            if meta.get("version") != FORMAT_VERSION:
                raise SnapshotError(
                    f"{path}: index file version {meta.get('version')!r}, this code reads version "
                    f"{FORMAT_VERSION}; delete it to rebuild"
                )
            if kind is not None and meta.get("kind") != kind:
                raise SnapshotError(
                    f"{path}: holds a {meta.get('kind')!r} index, not {kind!r}; load it with "
                    "recsys.ann.load_index (or delete it to rebuild)"
                )
            yield IndexReader(archive, path, meta)


def peek_kind(path: Path | str) -> str:
    """The backend kind recorded in an index file."""
    with index_reader(path, None) as file:
        kind = file.meta.get("kind")
    if not isinstance(kind, str):
        raise SnapshotError(f"{path}: index file names no backend; delete it to rebuild")
    return kind
