"""Hybrid fusion of dense and sparse candidate lists (pure functions over scored points).

* ``weighted``: a convex combination of min-max normalised scores, ``w * dense + (1 - w) * sparse``. Qdrant 1.16
  servers have no weighted fusion, and plain RRF throws away how far apart the scores are, which is what makes
  it lose to either side alone.
* ``adaptive`` (the default): ``weighted`` with a per-query dense weight chosen from the dense candidates
  themselves (:func:`adaptive_dense_weight`). When the dense side's ten best chunks are ten different
  documents it is telling passages apart, and leads (``dense_weight``, 0.8). When they crowd into a few long
  articles it has found the topic but not the passage: chunks of one article embed alike, and the chunk that
  holds the asked-for name or number is found by term matching, so BM25 leads (``dense_weight_same_article``,
  0.2). Measured on the shared eval sets (README, "Retrieval quality"): no fixed weight wins on both short
  evidence passages (dense-heavy) and long news articles (BM25-heavy); this rule keeps each set's better mix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from indexer.collection import Candidate

ADAPTIVE_DEPTH = 10
"""How many of the best dense chunks :func:`adaptive_dense_weight` looks at."""
ADAPTIVE_SPREAD = (0.8, 1.0)
"""Share of distinct documents among them at which the weight is lowest, and highest (linear in between)."""


def adaptive_dense_weight(doc_ids: Sequence[str], high: float, low: float) -> float:
    """Dense weight for one query from the document ids of its best dense chunks, best first.

    ``high`` when they are all different documents (the dense side separates passages), ``low`` when at most
    80 % are (8 or fewer articles among 10 chunks: the dense side is circling one topic's articles), linear in
    between. Fewer than two candidates: ``high``.
    """
    if len(doc_ids) < 2:
        return high
    spread = len(set(doc_ids)) / len(doc_ids)
    lo, hi = ADAPTIVE_SPREAD
    t = min(max((spread - lo) / (hi - lo), 0.0), 1.0)
    return low + (high - low) * t


def _minmax(values: list[float]) -> list[float]:
    if not values:
        return []
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        return [1.0 for _ in values]
    return [(v - lo) / (hi - lo) for v in values]


@dataclass(frozen=True, slots=True)
class Fused:
    """One fused candidate: its point (payload may be missing), fused score and dense cosine if seen."""

    point: Candidate
    score: float
    dense_score: float | None


def fuse_weighted(
    dense: Sequence[Candidate], sparse: Sequence[Candidate], weight: float, limit: int
) -> list[Fused]:
    """Convex combination of min-max normalised scores, best ``limit`` first; a chunk missing from one list
    scores 0 there."""
    fused: dict[str, float] = {}
    dense_scores: dict[str, float] = {}
    first: dict[str, Candidate] = {}
    for points, w, is_dense in ((dense, weight, True), (sparse, 1 - weight, False)):
        for p, norm in zip(points, _minmax([p.score for p in points]), strict=True):
            key = str(p.id)
            fused[key] = fused.get(key, 0.0) + w * norm
            if is_dense:
                dense_scores[key] = p.score
            if key not in first or (first[key].payload is None and p.payload is not None):
                first[key] = p
    ranked = sorted(fused, key=lambda k: fused[k], reverse=True)[:limit]
    return [Fused(first[k], fused[k], dense_scores.get(k)) for k in ranked]
