"""Variety steps: MMR trades a little relevance for a more varied top k, caps bound genres and
creators in the top k; neither drops nor duplicates an item."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from itertools import combinations

import numpy as np
import pytest

from recsys.request import Request
from recsys.rerank.base import Reranker
from recsys.rerank.caps import AttributeCaps
from recsys.rerank.diversity import MaximalMarginalRelevance, cosine_similarities, genre_vectors
from recsys.scoring import Scored
from recsys.state import UserState
from tests.conftest import rerank


def request(k: int) -> Request:
    return Request(UserState("u"), None, k=k)


def ranked_list(ids: list[str]) -> list[Scored]:
    """Best first, relevance from 1 down to 0."""
    n = max(len(ids) - 1, 1)
    return [Scored(i, 1.0 - r / n, ("mf",)) for r, i in enumerate(ids)]


def ids_of(ranked: list[Scored]) -> list[str]:
    return [s.item_id for s in ranked]


def table(rows: dict[str, list[float]]) -> Callable[[list[str]], np.ndarray]:
    return lambda ids: np.array([rows[i] for i in ids], dtype=float)


def check_permutation(step: Reranker, ranked: list[Scored], k: int) -> list[Scored]:
    out = rerank(step, request(k), ranked)
    assert sorted(ids_of(out)) == sorted(ids_of(ranked))  # nothing dropped, nothing twice
    assert {s.item_id: s.score for s in out} == {s.item_id: s.score for s in ranked}  # scores kept
    return out


# --- MMR ------------------------------------------------------------------------------------------


def test_lam_one_keeps_the_relevance_order() -> None:
    ranked = ranked_list(["a", "a2", "a3", "b"])
    vectors = table({"a": [1, 0], "a2": [1, 0], "a3": [1, 0], "b": [0, 1]})
    out = rerank(MaximalMarginalRelevance(vectors, lam=1.0), request(3), ranked)
    assert out == ranked


def test_a_near_duplicate_of_the_top_item_falls_behind_a_dissimilar_one() -> None:
    ranked = [Scored("a", 1.0, ("mf",)), Scored("dup", 0.95, ("mf",)), Scored("other", 0.6, ("mf",))]
    ranked += [Scored("tail", 0.0, ("popular",))]
    vectors = table({"a": [1, 0, 0], "dup": [0.99, 0.01, 0], "other": [0, 0, 1], "tail": [0, 1, 0]})
    out = check_permutation(MaximalMarginalRelevance(vectors, lam=0.3), ranked, k=2)
    assert ids_of(out) == ["a", "other", "dup", "tail"]
    assert out[1].reasons == ("for variety",) and out[0].reasons == () and out[2].reasons == ()
    # with relevance weighing more, the duplicate keeps its place
    out = rerank(MaximalMarginalRelevance(vectors, lam=0.9), request(2), ranked)
    assert ids_of(out) == ["a", "dup", "other", "tail"]


def planted(seed: int = 0) -> tuple[list[Scored], dict[str, np.ndarray]]:
    """Three well-separated clusters; the most relevant items all come from cluster 0."""
    rng = np.random.default_rng(seed)
    centres = np.eye(3, 16) * 3.0
    rows: dict[str, np.ndarray] = {}
    ids: list[str] = []
    for cluster, count in [(0, 20), (1, 15), (2, 15)]:
        for j in range(count):
            item_id = f"c{cluster}-{j}"
            rows[item_id] = centres[cluster] + rng.normal(0, 0.15, 16)
            ids.append(item_id)
    relevance = {i: (0.6 + 0.4 * rng.random() if i.startswith("c0") else 0.55 * rng.random()) for i in ids}
    order = sorted(ids, key=lambda i: -relevance[i])
    return [Scored(i, relevance[i], ("mf",)) for i in order], rows


def intra_list_diversity(ids: list[str], rows: dict[str, np.ndarray]) -> float:
    """Mean pairwise cosine distance."""
    sim = cosine_similarities(np.array([rows[i] for i in ids]))
    return float(np.mean([1.0 - sim[a, b] for a, b in combinations(range(len(ids)), 2)]))


def test_mmr_raises_the_diversity_of_the_top_k_and_keeps_the_best_item_first() -> None:
    k = 10
    ranked, rows = planted()
    mmr = MaximalMarginalRelevance(lambda ids: np.array([rows[i] for i in ids]), lam=0.5)
    out = check_permutation(mmr, ranked, k)
    before = intra_list_diversity(ids_of(ranked[:k]), rows)
    after = intra_list_diversity(ids_of(out[:k]), rows)
    assert before < 0.1  # the relevance top 10 is all cluster 0
    assert after > before + 0.3
    assert {i.split("-")[0] for i in ids_of(out[:k])} == {"c0", "c1", "c2"}
    assert out[0] == ranked[0]
    # items MMR moved up say why; the others carry no reason
    position = {i: r for r, i in enumerate(ids_of(ranked))}
    for r, s in enumerate(out):
        assert (s.reasons == ("for variety",)) == (r < position[s.item_id])


@pytest.mark.parametrize("k, lam, pool", [(1, 0.2, 5), (3, 0.0, 1), (10, 0.5, 2), (10, 0.7, 5), (80, 0.4, 5)])
def test_nothing_dropped_or_duplicated_and_the_tail_beyond_the_pool_keeps_its_place(
    k: int, lam: float, pool: int
) -> None:
    ranked, rows = planted(seed=k)
    mmr = MaximalMarginalRelevance(lambda ids: np.array([rows[i] for i in ids]), lam, pool)
    out = check_permutation(mmr, ranked, k)
    assert out[pool * k :] == ranked[pool * k :]
    picked = set(ids_of(out[:k]))
    rest = [i for i in ids_of(ranked) if i not in picked]
    assert ids_of(out[k:]) == rest  # the unpicked follow in their original order


def test_unknown_vectors_leave_the_list_unchanged_and_zero_rows_are_similar_to_nothing() -> None:
    ranked = ranked_list(["a", "b", "c"])
    assert rerank(MaximalMarginalRelevance(lambda ids: None, lam=0.2), request(2), ranked) == ranked
    zeros = table({"a": [0, 0], "b": [0, 0], "c": [0, 0]})
    assert rerank(MaximalMarginalRelevance(zeros, lam=0.2), request(2), ranked) == ranked
    # "b" is unknown (zeros): not a duplicate of "a", so it keeps its place ahead of "c"
    some = table({"a": [1, 0], "b": [0, 0], "c": [0, 1]})
    assert ids_of(rerank(MaximalMarginalRelevance(some, lam=0.3), request(2), ranked)) == ["a", "b", "c"]


def test_mmr_errors_say_what_to_fix() -> None:
    with pytest.raises(ValueError, match=r"lam must be in \[0, 1\]"):
        MaximalMarginalRelevance(lambda ids: None, lam=1.5)
    with pytest.raises(ValueError, match="pool must be a positive"):
        MaximalMarginalRelevance(lambda ids: None, lam=0.5, pool=0)
    wrong = MaximalMarginalRelevance(lambda ids: np.zeros((len(ids) - 1, 2)), lam=0.5)
    with pytest.raises(ValueError, match="one row per id"):
        rerank(wrong, request(2), ranked_list(["a", "b", "c"]))


def test_genre_vectors_are_multi_hot_over_the_genres_of_the_ids_given() -> None:
    genres = {"a": ("Drama", "War"), "b": ("War",), "c": (), "d": ("Comedy", "Drama")}
    vectors = genre_vectors(lambda i: genres[i])
    assert vectors(["a", "b", "c", "d"]).tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 0], [1, 0, 1]]
    assert vectors(["b", "c"]).tolist() == [[1], [0]]  # columns: only genres seen among these ids
    assert vectors(["c"]).shape == (1, 0)
    sim = cosine_similarities(vectors(["a", "b", "c", "d"]))
    assert sim[0, 1] == pytest.approx(1 / np.sqrt(2)) and sim[2].tolist() == [0, 0, 0, 0]


# --- caps -----------------------------------------------------------------------------------------

GENRES = {
    "d1": ("Drama",),
    "d2": ("Drama",),
    "d3": ("Drama", "War"),
    "d4": ("Drama",),
    "c1": ("Comedy",),
    "c2": ("Comedy",),
    "w1": ("War",),
    "x": (),
}
CREATORS = {"d1": "ann", "d2": "bob", "d3": "ann", "d4": "ann", "c1": "ann", "c2": "cy", "w1": None, "x": "bob"}


def caps(per_genre: int, per_creator: int) -> AttributeCaps:
    return AttributeCaps(lambda i: GENRES[i], lambda i: CREATORS[i], per_genre, per_creator)


def test_at_most_n_per_genre_and_creator_in_the_top_k_when_the_list_allows_it() -> None:
    ranked = ranked_list(["d1", "d2", "d3", "d4", "c1", "c2", "w1", "x"])
    out = check_permutation(caps(2, 0), ranked, k=5)
    top = ids_of(out[:5])
    assert top == ["d1", "d2", "c1", "c2", "w1"]
    assert max(Counter(g for i in top for g in GENRES[i]).values()) <= 2
    assert ids_of(out[5:]) == ["d3", "d4", "x"]  # deferred in their order, then the rest
    out = check_permutation(caps(0, 1), ranked, k=4)
    assert ids_of(out[:4]) == ["d1", "d2", "c2", "w1"]  # one item each of ann, bob, cy (w1 has no creator)
    out = check_permutation(caps(1, 1), ranked, k=4)
    assert ids_of(out[:4]) == ["d1", "c2", "w1", "x"]


def test_items_that_entered_the_top_k_say_why() -> None:
    ranked = ranked_list(["d1", "d2", "d3", "d4", "c1", "c2", "w1", "x"])
    out = rerank(caps(2, 0), request(5), ranked)
    reasons = {s.item_id: s.reasons for s in out}
    assert reasons["c2"] == reasons["w1"] == ("for variety",)  # came in from beyond the top 5
    assert reasons["d1"] == reasons["c1"] == reasons["d3"] == ()  # kept its slot, or was pushed out


def test_caps_relax_to_fill_k_when_the_list_is_short() -> None:
    ranked = ranked_list(["d1", "d2", "d3", "c1", "d4"])
    out = check_permutation(caps(1, 0), ranked, k=4)
    # under the caps only d1 and c1 fit; the best deferred (d2, d3) fill the top 4
    assert ids_of(out) == ["d1", "c1", "d2", "d3", "d4"]
    assert all(s.reasons == () for s in out)
    out = check_permutation(caps(1, 0), ranked, k=10)  # k beyond the list: the whole list, capped items last
    assert ids_of(out) == ["d1", "c1", "d2", "d3", "d4"]


def test_items_beyond_k_keep_their_order() -> None:
    ids = ["d1", "d2", "c1", "d3", "c2", "w1", "d4", "x"]
    out = check_permutation(caps(1, 0), ranked_list(ids), k=3)
    assert ids_of(out[:3]) == ["d1", "c1", "w1"]
    assert ids_of(out[3:]) == ["d2", "d3", "c2", "d4", "x"]  # the deferred then the unwalked, each in order


def test_both_caps_zero_or_nothing_to_defer_leaves_the_list_unchanged() -> None:
    ranked = ranked_list(["d1", "d2", "d3", "d4", "c1"])
    assert rerank(caps(0, 0), request(3), ranked) == ranked
    assert rerank(caps(3, 3), request(3), ranked) == ranked
    with pytest.raises(ValueError, match="max_per_creator must be 0 \\(no cap\\)"):
        caps(1, -1)
