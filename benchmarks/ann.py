"""ANN index at scale: hnswlib (HnswIndex) against exact numpy (BruteForceIndex), side by side.

    .venv/bin/python benchmarks/ann.py [--sizes 10000,100000,1000000] [--dim 33] [--queries 200]

For each catalogue size, seeded random vectors shaped like the online MF's item vectors
(``dim - 1`` factors drawn from normal(0, 0.3), then a bias column from normal(0, 1)) and
queries shaped like its user query vectors (factors from normal(0, 0.3), then the constant
1.0 that picks up the item bias, as ``OnlineMF.query`` builds them). Measured, in one run:

* build time of an ``HnswIndex`` with the project defaults (M=16, ef_construction=200,
  ef=100), bulk-loaded with ``num_threads=2`` (the class's constructor option; the engine
  itself uses 1) in chunks of 100,000, and the RSS it added;
* recall@10 against ``BruteForceIndex`` for top-10 queries, and for the engine's query
  shape (it asks for ``RECSYS_CANDIDATES`` = 200, so ef becomes 200, and keeps the best 10),
  and for top-10 queries at ef=400 (what a wider search buys);
* query time p50/p99 of both indexes (top-10 and top-200);
* incremental writes with one thread (the engine's setting): 1,000 new items inserted one
  by one, 1,000 existing items' vectors replaced one by one (each moved by 30% of its
  length, above the engine's 20% re-index tolerance), and each as one batch of 1,000;
* recall@10 again after all those writes (the exact index received the same writes).

The exact index's matrix-vector product runs in numpy's OpenBLAS, which by default starts
one thread per core; on a 2-core machine its spinning workers make both indexes' tail
latencies noisy. ``OPENBLAS_NUM_THREADS=1`` before the command removes that (the header
line says which was in effect).

Not a test: nothing here asserts a time. The machine is shared, so compare figures from
the same run.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from recsys.ann import BruteForceIndex, HnswIndex

M, EF_CONSTRUCTION, EF = 16, 200, 100  # the project defaults (RECSYS_HNSW_*)
BUILD_THREADS = 2
CHUNK = 100_000
WRITES = 1_000
CANDIDATES = 200  # RECSYS_CANDIDATES: what the engine asks the index for
K = 10


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def item_vectors(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    out = np.empty((n, dim), dtype=np.float32)
    out[:, :-1] = rng.normal(0.0, 0.3, size=(n, dim - 1))
    out[:, -1] = rng.normal(0.0, 1.0, size=n)
    return out


def query_vectors(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    out = np.ones((n, dim), dtype=np.float32)
    out[:, :-1] = rng.normal(0.0, 0.3, size=(n, dim - 1))
    return out


def moved(rng: np.random.Generator, vectors: np.ndarray, fraction: float) -> np.ndarray:
    """Each vector plus a random step of ``fraction`` of its length."""
    step = rng.normal(size=vectors.shape).astype(np.float32)
    step *= (fraction * np.linalg.norm(vectors, axis=1) / np.linalg.norm(step, axis=1))[:, None]
    return vectors + step


def ms_percentiles(seconds: list[float]) -> tuple[float, float]:
    ms = np.asarray(seconds) * 1000.0
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def timed_each(calls: list[Callable[[], Any]]) -> list[float]:
    out = []
    for call in calls:
        t0 = time.perf_counter()
        call()
        out.append(time.perf_counter() - t0)
    return out


def recall(hnsw: HnswIndex, brute: BruteForceIndex, queries: np.ndarray, n: int) -> float:
    """Mean share of the exact top-10 found in the index's best 10 of a query for ``n``."""
    hits = 0
    for q in queries:
        truth = {item for item, _ in brute.query(q, K)}
        found = {item for item, _ in hnsw.query(q, n)[:K]}
        hits += len(truth & found)
    return hits / (K * len(queries))


def set_threads(index: HnswIndex, threads: int) -> None:
    # HnswIndex takes num_threads only in its constructor; switch the bulk-built index to the
    # engine's single thread for the incremental writes (benchmark-only reach into privates).
    index._num_threads = threads
    index._index.set_num_threads(threads)


def run(size: int, dim: int, n_queries: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed + size)
    vectors = item_vectors(rng, size, dim)
    ids = [f"i{j}" for j in range(size)]
    queries = query_vectors(rng, n_queries, dim)
    r: dict[str, float] = {}

    brute = BruteForceIndex(dim, initial_capacity=size + 3 * WRITES)
    brute.upsert(ids, vectors)

    # Room for the 2,000 inserts up front, so no resize_index lands inside a timed write.
    gc.collect()
    rss0 = rss_mib()
    hnsw = HnswIndex(
        dim, m=M, ef_construction=EF_CONSTRUCTION, ef=EF, initial_capacity=size + 3 * WRITES, num_threads=BUILD_THREADS
    )
    t0 = time.perf_counter()
    for start in range(0, size, CHUNK):
        hnsw.upsert(ids[start : start + CHUNK], vectors[start : start + CHUNK])
        if size > CHUNK:
            log(f"  {size:,}: built {min(start + CHUNK, size):,} in {time.perf_counter() - t0:.0f} s")
    r["build s"] = time.perf_counter() - t0
    r["build items/s"] = size / r["build s"]
    r["hnsw RSS MiB"] = rss_mib() - rss0
    log(f"  {size:,}: build {r['build s']:.1f} s")

    for q in queries[:10]:  # warm caches
        hnsw.query(q, K)
        brute.query(q, K)
    r["recall@10 (n=10)"] = recall(hnsw, brute, queries, K)
    r[f"recall@10 (n={CANDIDATES})"] = recall(hnsw, brute, queries, CANDIDATES)
    for name, index in (("hnsw", hnsw), ("brute", brute)):
        for n in (K, CANDIDATES):
            p50, p99 = ms_percentiles(timed_each([lambda q=q, n=n, index=index: index.query(q, n) for q in queries]))
            r[f"{name} query n={n} p50 ms"], r[f"{name} query n={n} p99 ms"] = p50, p99
    r["query speed-up n=10 (p50 brute/hnsw)"] = r["brute query n=10 p50 ms"] / r["hnsw query n=10 p50 ms"]
    # What a wider search buys: ef=400 for a top-10 query (the engine's n=200 query runs at ef=200).
    hnsw.ef = 4 * EF
    r[f"recall@10 (n=10, ef={4 * EF})"] = recall(hnsw, brute, queries, K)
    p50, _ = ms_percentiles(timed_each([lambda q=q: hnsw.query(q, K) for q in queries]))
    r[f"hnsw query n=10 ef={4 * EF} p50 ms"] = p50
    hnsw.ef = EF
    log(f"  {size:,}: recall and queries done")

    # Incremental writes, one thread as in the engine.
    set_threads(hnsw, 1)
    new = item_vectors(rng, 2 * WRITES, dim)
    new_ids = [f"new{j}" for j in range(2 * WRITES)]
    picked = rng.choice(size, size=2 * WRITES, replace=False)
    changed = moved(rng, vectors[picked], 0.3)
    changed_ids = [ids[j] for j in picked]

    def one_by_one(index: Any, some_ids: list[str], some: np.ndarray) -> list[float]:
        return timed_each([lambda i=i, v=v: index.upsert([i], v[None, :]) for i, v in zip(some_ids, some, strict=True)])

    def batch(index: Any, some_ids: list[str], some: np.ndarray) -> float:
        t0 = time.perf_counter()
        index.upsert(some_ids, some)
        return (time.perf_counter() - t0) / len(some_ids) * 1000.0

    half = slice(0, WRITES), slice(WRITES, 2 * WRITES)
    for name, index in (("hnsw", hnsw), ("brute", brute)):
        p50, p99 = ms_percentiles(one_by_one(index, new_ids[half[0]], new[half[0]]))
        r[f"{name} insert 1-by-1 p50 ms"], r[f"{name} insert 1-by-1 p99 ms"] = p50, p99
        r[f"{name} insert batch ms/item"] = batch(index, new_ids[half[1]], new[half[1]])
        p50, p99 = ms_percentiles(one_by_one(index, changed_ids[half[0]], changed[half[0]]))
        r[f"{name} update 1-by-1 p50 ms"], r[f"{name} update 1-by-1 p99 ms"] = p50, p99
        r[f"{name} update batch ms/item"] = batch(index, changed_ids[half[1]], changed[half[1]])
    log(f"  {size:,}: writes done")

    r["recall@10 after writes (n=10)"] = recall(hnsw, brute, queries, K)
    r[f"recall@10 after writes (n={CANDIDATES})"] = recall(hnsw, brute, queries, CANDIDATES)
    r["hnsw exact fallbacks"] = hnsw.exact_fallbacks
    return r


def fmt(key: str, value: float) -> str:
    if "recall" in key:
        return f"{value:.3f}"
    if "fallbacks" in key or "items/s" in key:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.2f}"
    if value >= 0.01:
        return f"{value:.3f}"
    return f"{value:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated catalogue sizes")
    parser.add_argument("--dim", type=int, default=33, help="vector dimension (factors + 1 bias column)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    print(
        f"dim={args.dim} queries={args.queries} hnsw M={M} ef_construction={EF_CONSTRUCTION} ef={EF}; "
        f"bulk build with num_threads={BUILD_THREADS}, incremental writes with 1 thread; times in ms unless noted; "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}",
        flush=True,
    )
    results: dict[int, dict[str, float]] = {}
    started = time.perf_counter()
    for size in sizes:
        log(f"size {size:,}")
        results[size] = run(size, args.dim, args.queries, args.seed)
        print(f"size {size:,} done after {time.perf_counter() - started:.0f} s total", flush=True)
        gc.collect()

    keys = list(next(iter(results.values())))
    width = max(len(k) for k in keys)
    print()
    print(f"{'items':<{width}} " + " ".join(f"{size:>12,}" for size in sizes))
    for key in keys:
        print(f"{key:<{width}} " + " ".join(f"{fmt(key, results[size][key]):>12}" for size in sizes))
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
