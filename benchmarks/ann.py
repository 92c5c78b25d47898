"""ANN index v2 at scale: HnswIndex (MIPS reduction) against the exact BruteForceIndex, side by side.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python -m benchmarks.ann [--sizes 10000,100000,1000000]
        [--kinds mf,bpr,unit] [--queries 200] [--m 12] [--ef-construction 200] [--ef 200] [--margin 1.2]
        [--crossover 2500,5000,10000,20000,40000]

Vector kinds (labels are item rows 0..N-1):

* ``mf``: seeded random vectors shaped like the MF item vectors (32 factors from normal(0, 0.3),
  then a bias from normal(0, 1)); queries shaped like the user query vectors (32 factors from
  normal(0, 0.3), then the constant 1.0 that picks up the item bias). Dimension 33.
* ``bpr``: *trained* vectors. The project's ``OnlineBPR`` (32 factors) learns over a
  ``SyntheticWorld(users=20000, items=N, clusters=20)`` stream of ``--events-per-item`` x N
  interactions (at most ``--max-events``), as the engine does: the event weights of the
  settings, 32 negatives per positive event drawn among the items someone took (all items
  while fewer than 32 were taken). The item vectors are ``item_vectors`` of every item (an
  item the stream never touched keeps its initial noise, as in the engine); the queries are
  the learned vectors of users with at least 5 events. When less than 95% of the catalogue
  was touched, a second index over the trained items only is measured too ("bpr-trained").
* ``unit``: seeded random unit vectors of dimension 32 with ``mips=False``, shaped like the
  two-tower embeddings (random directions are a hard case for recall: no structure to find).

Each kind and size runs in a freshly spawned process (the bpr training in one more), so the
RSS a build adds is not hidden by memory an earlier step freed. Measured for each, in one
run: the hnsw build (bulk ``upsert`` with ``num_threads=2``, capacity growing by doubling
from 1,024 as in the engine) and the bytes per item it added (RSS, and ``memory_bytes()``,
which counts the allocated capacity); recall@10 against the exact index for top-10 queries
and for the engine's query shape (it asks for n=100 and keeps the best 10), at the chosen ef
and at other ef; query p50/p99 of both indexes, also with an engine-like filter (1,000
random excluded items plus the query's own exact top 50), with only 5 items allowed, and with
the query's own top 1,000 excluded; then incremental writes with 1 thread (the engine's
setting): 1,000 new items one by one and 1,000 as one batch, 1,000 existing items' vectors
replaced one by one and 1,000 as one batch (each moved by 30% of its length, above the
engine's 20% re-index tolerance); recall again after those 4,000 writes; then 1% of the items
pushed to 1.25x the norm bound (they go on the side list, scored exactly in every query) and
a rebuild with a new bound (up to ``--rebuild-max`` items). ``--crossover`` measures, at
small sizes, exact against hnsw query time and the one-time graph build with 1 thread: where
the auto backend should switch.

Not a test: nothing here asserts a time. The machine is shared, so compare figures from the
same run. ``OPENBLAS_NUM_THREADS=1`` keeps numpy's BLAS threads from spinning on the cores
(the header line says which was in effect).
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from recsys.ann import Allowed, BruteForceIndex, HnswIndex, VectorIndex
from recsys.datasets import SyntheticWorld
from recsys.models.base import UserFactors
from recsys.models.bpr import OnlineBPR
from recsys.settings import DEFAULT_EVENT_WEIGHTS

T = TypeVar("T")
BUILD_THREADS = 2
WRITES = 1_000
CANDIDATES = 100  # RECSYS_CANDIDATES: what the engine asks the index for
K = 10
NEGATIVES = 32
EXCLUDED = 1_000


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ vectors


@dataclass
class Data:
    items: np.ndarray  # (N, dim) float32, row = label
    queries: np.ndarray  # (Q, dim) float32
    mips: bool = True
    trained: np.ndarray | None = None  # bool per item: touched by training (bpr only)
    note: str = ""


def mf_data(rng: np.random.Generator, n: int, n_queries: int, dim: int = 33) -> Data:
    items = np.empty((n, dim), dtype=np.float32)
    items[:, :-1] = rng.normal(0.0, 0.3, size=(n, dim - 1))
    items[:, -1] = rng.normal(0.0, 1.0, size=n)
    queries = np.ones((n_queries, dim), dtype=np.float32)
    queries[:, :-1] = rng.normal(0.0, 0.3, size=(n_queries, dim - 1))
    return Data(items, queries)


def unit_data(rng: np.random.Generator, n: int, n_queries: int, dim: int = 32) -> Data:
    items = rng.normal(size=(n, dim)).astype(np.float32)
    items /= np.linalg.norm(items, axis=1, keepdims=True)
    queries = rng.normal(size=(n_queries, dim)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return Data(items, queries, mips=False)


def bpr_data(seed: int, n: int, n_queries: int, events: int, users: int) -> Data:
    """Train OnlineBPR over a synthetic stream the way the engine does; return its vectors."""
    started = time.perf_counter()
    world = SyntheticWorld(users=users, items=n, clusters=20, seed=seed)
    bpr = OnlineBPR(factors=32, seed=seed)
    rng = random.Random(seed)
    draw = np.random.default_rng(seed)
    factors: dict[str, UserFactors] = {}
    counts: dict[str, int] = {}
    all_ids = [f"i{j}" for j in range(n)]
    bpr.rows.rows(all_ids)  # row j is item i{j}
    engaged: list[str] = []
    is_engaged = np.zeros(n, dtype=bool)
    touched = np.zeros(n, dtype=bool)
    for done, event in enumerate(world.interactions(events), 1):
        weight = DEFAULT_EVENT_WEIGHTS.get(event.type, 1.0)
        user = factors.get(event.user_id) or bpr.new_user(rng)
        row = int(event.item_id[1:])
        negatives: list[str] = []
        if weight > 0:  # NEGATIVES distinct items, uniform among the taken ones (Catalog.sample)
            pool = engaged if len(engaged) > NEGATIVES else all_ids
            picks = set(draw.integers(0, len(pool), NEGATIVES).tolist())
            while len(picks) < NEGATIVES:
                picks.add(int(draw.integers(0, len(pool))))
            negatives = sorted(pool[j] for j in picks if pool[j] != event.item_id)
        negative_rows = np.array([int(j[1:]) for j in negatives], dtype=np.int64)
        factors[event.user_id] = bpr.learn(user, row, weight, negative_rows)
        counts[event.user_id] = counts.get(event.user_id, 0) + 1
        touched[row] = True
        touched[negative_rows] = True
        if weight > 0 and not is_engaged[row]:
            is_engaged[row] = True
            engaged.append(event.item_id)
        if done % 500_000 == 0:
            log(f"  bpr {n:,}: {done:,} events, {int(touched.sum()):,} items touched")
    items = bpr.item_vectors(all_ids)  # untouched items get their initial noise, as in the engine
    trained = touched
    min_events = 5 if sum(c >= 5 for c in counts.values()) >= n_queries else 1  # 1: tiny smoke runs
    active = sorted(u for u, c in counts.items() if c >= min_events)
    picked = random.Random(seed + 1).sample(active, min(n_queries, len(active)))
    queries = np.stack([bpr.query(factors[u]) for u in picked]).astype(np.float32)
    norms = np.linalg.norm(items, axis=1)
    note = (
        f"{events:,} events over {users:,} users in {time.perf_counter() - started:.0f} s; "
        f"{trained.mean():.1%} of the items touched ({len(engaged):,} taken at least once); item norms "
        f"median {np.median(norms):.2f}, max {norms.max():.2f}; biases from {items[:, -1].min():.2f} "
        f"to {items[:, -1].max():.2f}; {len(queries)} queries from users with {min_events} events or more"
    )
    return Data(items, queries, trained=trained, note=note)


def train_bpr(seed: int, n: int, n_queries: int, events: int, users: int, folder: str) -> str:
    """``bpr_data``, written to ``folder`` (run in a child process: the world's memory goes with it)."""
    data = bpr_data(seed, n, n_queries, events, users)
    assert data.trained is not None
    np.save(os.path.join(folder, "items.npy"), data.items)
    np.save(os.path.join(folder, "queries.npy"), data.queries)
    np.save(os.path.join(folder, "trained.npy"), data.trained)
    return data.note


def load_data(kind: str, size: int, args: argparse.Namespace, folder: str) -> Data:
    if kind == "mf":
        return mf_data(np.random.default_rng(args.seed + size), size, args.queries)
    if kind == "unit":
        return unit_data(np.random.default_rng(args.seed + size), size, args.queries)
    items, queries = np.load(os.path.join(folder, "items.npy")), np.load(os.path.join(folder, "queries.npy"))
    return Data(items, queries, trained=np.load(os.path.join(folder, "trained.npy")))


def run_case(kind: str, size: int, args: argparse.Namespace, folder: str, trained_only: bool) -> dict[str, float]:
    """One kind at one size, in a fresh child process so that RSS counts only what the index adds."""
    data = load_data(kind, size, args, folder)
    if trained_only:
        assert data.trained is not None
        labels = np.flatnonzero(data.trained)
        return measure(data, labels, args, writes=False) | {"items": float(len(labels))}
    return measure(data, np.arange(size), args, writes=not args.no_writes)


def in_child(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a freshly spawned interpreter."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


# ------------------------------------------------------------------------------ measuring


def percentiles_ms(seconds: list[float]) -> tuple[float, float]:
    ms = np.asarray(seconds) * 1000.0
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def time_queries(index: VectorIndex, queries: np.ndarray, n: int, allowed: Allowed | None = None) -> list[float]:
    out = []
    for q in queries:
        t0 = time.perf_counter()
        index.query(q, n, allowed)
        out.append(time.perf_counter() - t0)
    return out


def time_upserts(index: VectorIndex, labels: np.ndarray, vectors: np.ndarray) -> list[float]:
    """One upsert per label, as the engine writes."""
    out = []
    for j in range(len(labels)):
        t0 = time.perf_counter()
        index.upsert(labels[j : j + 1], vectors[j : j + 1])
        out.append(time.perf_counter() - t0)
    return out


def recall(index: VectorIndex, oracle: VectorIndex, queries: np.ndarray, n: int) -> float:
    """Mean share of the exact top-10 found among the best 10 of the index's answer to a query for n."""
    hits = 0
    for q in queries:
        truth = set(oracle.query(q, K)[0].tolist())
        hits += len(truth & set(index.query(q, n)[0][:K].tolist()))
    return hits / (K * len(queries))


def moved(rng: np.random.Generator, vectors: np.ndarray, fraction: float) -> np.ndarray:
    """Each vector plus a random step of ``fraction`` of its length."""
    step = rng.normal(size=vectors.shape).astype(np.float32)
    step *= (fraction * np.linalg.norm(vectors, axis=1) / np.linalg.norm(step, axis=1))[:, None]
    return vectors + step


def build(data: Data, labels: np.ndarray, vectors: np.ndarray, args: argparse.Namespace) -> tuple[HnswIndex, float]:
    index = HnswIndex(
        vectors.shape[1], m=args.m, ef_construction=args.ef_construction, ef=args.ef, mips=data.mips,
        bound_margin=args.margin, num_threads=BUILD_THREADS,
    )  # fmt: skip
    t0 = time.perf_counter()
    index.upsert(labels, vectors)
    return index, time.perf_counter() - t0


def measure(data: Data, labels: np.ndarray, args: argparse.Namespace, writes: bool) -> dict[str, float]:
    rng = np.random.default_rng(args.seed)
    vectors = data.items[labels]
    size = len(labels)
    r: dict[str, float] = {}
    brute = BruteForceIndex(vectors.shape[1])
    brute.upsert(labels, vectors)

    gc.collect()
    rss0 = rss_bytes()
    hnsw, seconds = build(data, labels, vectors, args)
    gc.collect()
    r["build s (2 threads)"] = seconds
    r["RSS added, B/item"] = (rss_bytes() - rss0) / size
    r["memory_bytes(), B/item"] = hnsw.memory_bytes() / size
    r["capacity"] = hnsw.capacity
    log(f"  built {size:,} in {seconds:.1f} s")

    queries = data.queries
    for q in queries[:10]:  # warm caches
        hnsw.query(q, K)
        brute.query(q, K)
    r["recall@10 n=10"] = recall(hnsw, brute, queries, K)
    r[f"recall@10 n={CANDIDATES}"] = recall(hnsw, brute, queries, CANDIDATES)
    for name, index in (("hnsw", hnsw), ("brute", brute)):
        for n in (K, CANDIDATES):
            p50, p99 = percentiles_ms(time_queries(index, queries, n))
            r[f"{name} n={n} p50 ms"], r[f"{name} n={n} p99 ms"] = p50, p99

    # An engine-like filter: 1,000 random excluded items plus the query's own exact top 50.
    excluded = np.zeros(int(labels.max()) + 1, dtype=bool)
    excluded[rng.choice(labels, size=min(EXCLUDED, size // 4), replace=False)] = True
    filtered: list[tuple[np.ndarray, np.ndarray]] = []
    for q in queries:
        own = brute.query(q, 50)[0]
        filtered.append((q, own))
    widenings = hnsw.widenings
    for name, index in (("hnsw", hnsw), ("brute", brute)):
        seconds_each = []
        for q, own in filtered:
            excluded[own] = True
            t0 = time.perf_counter()
            got = index.query(q, CANDIDATES, lambda rows: ~excluded[rows])[0]
            seconds_each.append(time.perf_counter() - t0)
            assert not excluded[got].any() and len(got) == CANDIDATES
            excluded[own] = False
        r[f"{name} n={CANDIDATES} filtered p50 ms"] = percentiles_ms(seconds_each)[0]
    r["widenings per filtered query"] = (hnsw.widenings - widenings) / len(queries)
    # Few allowed labels (5 random ones): every widening, then the exact fallback (the filter over
    # every live label, then get_items of the allowed ones) unless the widest walk saw every label.
    few = rng.choice(labels, size=5, replace=False)
    allowed_few = np.zeros_like(excluded)
    allowed_few[few] = True
    fallbacks = hnsw.exact_fallbacks
    seconds_each = time_queries(hnsw, queries[:20], K, lambda rows: allowed_few[rows])
    r["hnsw n=10, 5 allowed p50 ms"] = percentiles_ms(seconds_each)[0]
    r["exact fallbacks of those 20 queries, count"] = hnsw.exact_fallbacks - fallbacks
    # A user who took the whole neighbourhood: the query's exact top 1,000 excluded.
    widenings = hnsw.widenings
    seconds_each = []
    for q in queries[:20]:
        own = brute.query(q, 1000)[0]
        excluded[own] = True
        t0 = time.perf_counter()
        hnsw.query(q, CANDIDATES, lambda rows: ~excluded[rows])
        seconds_each.append(time.perf_counter() - t0)
        excluded[own] = False
    r[f"hnsw n={CANDIDATES}, own top 1,000 excluded p50 ms"] = percentiles_ms(seconds_each)[0]
    r["widenings per such query"] = (hnsw.widenings - widenings) / 20
    for ef in sorted({100, 200, 400, 800} - {args.ef}):
        hnsw.ef = ef
        r[f"recall@10 n=10 at ef={ef}"] = recall(hnsw, brute, queries, K)
        r[f"hnsw n=10 at ef={ef} p50 ms"] = percentiles_ms(time_queries(hnsw, queries, K))[0]
    hnsw.ef = args.ef
    log(f"  queries done ({size:,})")
    if not writes:
        return r

    # Incremental writes, one thread as in the engine; new labels continue the row space.
    hnsw.num_threads = 1
    new_labels = np.arange(int(labels.max()) + 1, int(labels.max()) + 1 + 2 * WRITES)
    new = data.items[rng.choice(labels, size=2 * WRITES)]  # more vectors of the same kind
    new = moved(rng, new, 0.3)
    picked = rng.choice(labels, size=2 * WRITES, replace=False)
    changed = moved(rng, data.items[picked], 0.3)
    second = slice(WRITES, 2 * WRITES)
    for name, index in (("hnsw", hnsw), ("brute", brute)):
        p50, p99 = percentiles_ms(time_upserts(index, new_labels[:WRITES], new[:WRITES]))
        r[f"{name} insert 1-by-1 p50 ms"], r[f"{name} insert 1-by-1 p99 ms"] = p50, p99
        t0 = time.perf_counter()
        index.upsert(new_labels[second], new[second])
        r[f"{name} insert batch of 1,000, ms/item"] = (time.perf_counter() - t0) * 1000.0 / WRITES
        p50, p99 = percentiles_ms(time_upserts(index, picked[:WRITES], changed[:WRITES]))
        r[f"{name} update 1-by-1 p50 ms"], r[f"{name} update 1-by-1 p99 ms"] = p50, p99
        t0 = time.perf_counter()
        index.upsert(picked[second], changed[second])
        r[f"{name} update batch of 1,000, ms/item"] = (time.perf_counter() - t0) * 1000.0 / WRITES
    r["recall@10 n=10 after writes"] = recall(hnsw, brute, queries, K)
    r[f"recall@10 n={CANDIDATES} after writes"] = recall(hnsw, brute, queries, CANDIDATES)
    r["vectors over the norm bound after writes"] = hnsw.over_bound
    r["widenings, count"] = hnsw.widenings
    r["exact fallbacks, count"] = hnsw.exact_fallbacks
    log(f"  writes done ({size:,})")

    # Vectors that outgrow the norm bound: 1% of the items pushed to 1.25x the bound (they go on
    # the side list, scored exactly in every query), then a rebuild with a new bound.
    if hnsw.bound is None:
        return r
    grow = rng.choice(labels, size=max(1, size // 100), replace=False)
    longer = brute.indexed(grow)[0]
    longer *= (1.25 * hnsw.bound / np.linalg.norm(longer, axis=1))[:, None]
    t0 = time.perf_counter()
    hnsw.upsert(grow, longer)
    r["1% pushed past the bound: upsert ms/item"] = (time.perf_counter() - t0) * 1000.0 / len(grow)
    brute.upsert(grow, longer)
    r["1% past the bound: over_bound"] = hnsw.over_bound
    r["1% past the bound: recall@10 n=10"] = recall(hnsw, brute, queries, K)
    r[f"1% past the bound: recall@10 n={CANDIDATES}"] = recall(hnsw, brute, queries, CANDIDATES)
    r[f"1% past the bound: hnsw n={CANDIDATES} p50 ms"] = percentiles_ms(time_queries(hnsw, queries, CANDIDATES))[0]
    if size <= args.rebuild_max:
        hnsw.num_threads = BUILD_THREADS
        t0 = time.perf_counter()
        hnsw.rebuild()
        r["rebuild s (2 threads)"] = time.perf_counter() - t0
        r["after the rebuild: recall@10 n=10"] = recall(hnsw, brute, queries, K)
        r[f"after the rebuild: hnsw n={CANDIDATES} p50 ms"] = percentiles_ms(time_queries(hnsw, queries, CANDIDATES))[0]
    log(f"  over-bound done ({size:,})")
    return r


def crossover(sizes: list[int], args: argparse.Namespace) -> dict[int, dict[str, float]]:
    """Exact against hnsw at small sizes (MF vectors), and the one-time build with 1 thread."""
    out: dict[int, dict[str, float]] = {}
    for size in sizes:
        data = mf_data(np.random.default_rng(args.seed + size), size, args.queries)
        labels = np.arange(size)
        brute = BruteForceIndex(33)
        brute.upsert(labels, data.items)
        hnsw = HnswIndex(33, m=args.m, ef_construction=args.ef_construction, ef=args.ef, num_threads=1)
        t0 = time.perf_counter()
        hnsw.upsert(labels, data.items)
        r = {"hnsw build, 1 thread, ms": (time.perf_counter() - t0) * 1000.0}
        excluded = np.zeros(size, dtype=bool)
        excluded[np.random.default_rng(1).choice(size, size=min(EXCLUDED, size // 4), replace=False)] = True
        for n in (K, CANDIDATES):
            for name, index in (("brute", brute), ("hnsw", hnsw)):
                r[f"{name} n={n} p50 ms"] = percentiles_ms(time_queries(index, data.queries, n))[0]
        for name, index in (("brute", brute), ("hnsw", hnsw)):
            seconds_each = time_queries(index, data.queries, CANDIDATES, (~excluded).__getitem__)
            r[f"{name} n={CANDIDATES} filtered p50 ms"] = percentiles_ms(seconds_each)[0]
        r["recall@10 n=10"] = recall(hnsw, brute, data.queries, K)
        out[size] = r
        log(f"crossover {size:,} done")
    return out


# ------------------------------------------------------------------------------ output


def fmt(key: str, value: float) -> str:
    if "recall" in key:
        return f"{value:.3f}"
    if "per filtered query" in key or "per such query" in key:
        return f"{value:.2f}"
    if "capacity" in key or "over the norm" in key or "count" in key or key == "items":
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.2f}"
    if value >= 0.01:
        return f"{value:.3f}"
    return f"{value:.4f}"


def table(title: str, results: dict[int, dict[str, float]]) -> None:
    sizes = list(results)
    keys: list[str] = []
    for r in results.values():
        keys += [k for k in r if k not in keys]
    print(f"\n### {title}\n")
    print("| | " + " | ".join(f"{s:,}" for s in sizes) + " |")
    print("| --- " * (len(sizes) + 1) + "|")
    for key in keys:
        cells = [fmt(key, results[s][key]) if key in results[s] else "" for s in sizes]
        print(f"| {key} | " + " | ".join(cells) + " |")
    sys.stdout.flush()


def parse_sizes(text: str) -> list[int]:
    return [int(s.replace("_", "")) for s in text.split(",") if s.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated catalogue sizes")
    parser.add_argument("--kinds", default="mf,bpr,unit", help="vector kinds: mf, bpr, unit")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--m", type=int, default=12, help="hnsw graph degree")
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--ef", type=int, default=200)
    parser.add_argument("--margin", type=float, default=1.2, help="the MIPS norm bound over the largest norm")
    parser.add_argument("--events-per-item", type=int, default=20, help="bpr: stream length per item")
    parser.add_argument("--max-events", type=int, default=2_000_000, help="bpr: stream length at most")
    parser.add_argument("--users", type=int, default=20_000, help="bpr: users in the synthetic world")
    parser.add_argument("--crossover", default="", help="small sizes for the exact/hnsw crossover, e.g. 5000,20000")
    parser.add_argument("--no-writes", action="store_true", help="skip the incremental writes")
    parser.add_argument("--rebuild-max", type=int, default=100_000, help="largest size at which to time a rebuild")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    print(
        f"queries={args.queries} hnsw m={args.m} ef_construction={args.ef_construction} ef={args.ef} "
        f"bound margin={args.margin}; "
        f"bulk build with {BUILD_THREADS} threads, incremental writes with 1; times in ms unless noted; "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}",
        flush=True,
    )
    if args.crossover:
        table("exact against hnsw at small sizes (mf vectors)", crossover(parse_sizes(args.crossover), args))
    sizes = parse_sizes(args.sizes)
    for kind in [k.strip() for k in args.kinds.split(",") if k.strip() and sizes]:
        results: dict[int, dict[str, float]] = {}
        trained_only: dict[int, dict[str, float]] = {}
        notes = []
        for size in sizes:
            log(f"{kind} {size:,}")
            if kind not in ("mf", "bpr", "unit"):
                raise SystemExit(f"unknown kind {kind!r}: use mf, bpr or unit")
            with tempfile.TemporaryDirectory(prefix="ann-bench-") as folder:
                trained = 1.0
                if kind == "bpr":
                    events = min(args.events_per_item * size, args.max_events)
                    note = in_child(train_bpr, args.seed, size, args.queries, events, args.users, folder)
                    notes.append(f"{size:,}: {note}")
                    log(f"  {note}")
                    trained = float(np.load(os.path.join(folder, "trained.npy")).mean())
                results[size] = in_child(run_case, kind, size, args, folder, False)
                if trained < 0.95:
                    log(f"  {kind} {size:,}: trained items only")
                    trained_only[size] = in_child(run_case, kind, size, args, folder, True)
        table(f"{kind}", results)
        if trained_only:
            table(f"{kind}, an index of the trained items only", trained_only)
        for note in notes:
            print(f"* {kind} {note}")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
