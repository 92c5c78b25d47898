"""How many threads numpy's BLAS may use: one by default, measured better on the worker's cores.

numpy's OpenBLAS starts a thread per core for a matrix product. On the 2-core machines of
BENCHMARKS.md that made every large product slower and its tails far longer (an exact top-100 at
100k items: p99 12 ms with the default threads, 0.6 ms with one; a WALS fit: 10.5 s against
3.7 s), because the event loop, hnswlib and the BLAS threads fight for the same cores. The
worker and the ``recsys`` commands call :func:`limit_blas_threads` with ``RECSYS_BLAS_THREADS``
before any work; it acts on the loaded library (threadpoolctl), so it works after numpy was
imported, where ``OPENBLAS_NUM_THREADS`` would not.

Examples
--------
>>> limit_blas_threads(1)
1
>>> blas_threads()
1
"""

from __future__ import annotations

from threadpoolctl import threadpool_info, threadpool_limits

__all__ = ["blas_threads", "limit_blas_threads"]


def limit_blas_threads(threads: int) -> int | None:
    """Let the BLAS libraries numpy loaded use ``threads`` threads (0: leave them as they are);
    returns the threads they use afterwards (None when no BLAS is loaded)."""
    if threads > 0:
        threadpool_limits(limits=threads, user_api="blas")
    return blas_threads()


def blas_threads() -> int | None:
    """The most threads any loaded BLAS library uses (None when none is loaded)."""
    counts = [pool["num_threads"] for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return max(counts) if counts else None
