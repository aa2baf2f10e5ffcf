"""Passage retrieval over the indexer's collection: dense, sparse (BM25) and hybrid.

Plain Python, used by the HTTP layer, by the answer composer and by ``eval/``. Hybrid fusion methods:

* ``rrf`` / ``dbsf``: dense and sparse prefetches fused inside Qdrant's Query API (one round trip);
* ``weighted``: both candidate lists fetched in one batch request and fused here as a convex combination of
  min-max normalised scores, ``w * dense + (1 - w) * sparse``. Qdrant 1.16 servers have no weighted fusion,
  and plain RRF throws away how far apart the scores are, which is what makes it lose to either side alone.
* ``adaptive`` (the default): ``weighted`` with a per-query dense weight chosen from the dense candidates
  themselves (:func:`adaptive_dense_weight`). When the dense side's ten best chunks are ten different
  documents it is telling passages apart, and leads (``dense_weight``, 0.8). When they crowd into a few long
  articles it has found the topic but not the passage: chunks of one article embed alike, and the chunk that
  holds the asked-for name or number is found by term matching, so BM25 leads (``dense_weight_same_article``,
  0.2). Measured on the shared eval sets (README, "Retrieval quality"): no fixed weight wins on both short
  evidence passages (dense-heavy) and long news articles (BM25-heavy); this rule keeps each set's better mix.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from qdrant_client import QdrantClient, models

from indexer import collection as coll
from indexer.embedding import Embedder
from indexer.settings import FusionMethod, Settings
from indexer.sparse import SparseEncoder
from service.local_index import LocalVectorIndex

Mode = Literal["hybrid", "dense", "sparse"]


@dataclass(frozen=True, slots=True)
class SearchFilters:
    source: Sequence[str] | None = None
    doc_id: Sequence[str] | None = None
    published_after: date | None = None
    published_before: date | None = None

    def to_qdrant(self) -> models.Filter | None:
        return coll.build_filter(
            list(self.source) if self.source else None,
            list(self.doc_id) if self.doc_id else None,
            self.published_after,
            self.published_before,
        )


@dataclass(slots=True)
class Hit:
    doc_id: str
    chunk_id: str
    score: float
    title: str
    url: str | None
    source: str | None
    published_at: str | None
    text: str
    char_start: int
    char_end: int
    chunk_index: int = 0
    dense_score: float | None = None
    sparse_score: float | None = None

    @classmethod
    def from_point(cls, point: models.ScoredPoint | models.Record, score: float) -> Hit:
        p: dict[str, Any] = point.payload or {}
        return cls(
            doc_id=str(p.get("doc_id")),
            chunk_id=str(p.get("chunk_id")),
            score=float(score),
            title=str(p.get("title") or ""),
            url=p.get("url"),
            source=p.get("source"),
            published_at=p.get("published_at"),
            text=str(p.get("text") or ""),
            char_start=int(p.get("char_start", 0)),
            char_end=int(p.get("char_end", 0)),
            chunk_index=int(p.get("chunk_index", 0)),
        )


@dataclass(slots=True)
class SearchResult:
    hits: list[Hit]
    timings_ms: dict[str, float] = field(default_factory=dict)
    query_vector: list[float] | None = None


class Retriever:
    """Holds the model, the client and the query settings; one instance is shared by all requests."""

    def __init__(self, settings: Settings, client: QdrantClient, embedder: Embedder) -> None:
        self.settings = settings
        self.client = client
        self.embedder = embedder
        self.sparse = SparseEncoder(settings.bm25_k1, settings.bm25_b, settings.sparse_avg_doc_tokens)
        # local mode's own vector search is slow (a Python loop for sparse); see service/local_index.py
        self._local = LocalVectorIndex(client, settings.collection) if coll.is_local(client) else None

    def search(
        self,
        query: str,
        limit: int = 10,
        mode: Mode = "hybrid",
        filters: SearchFilters | None = None,
        collapse: bool = False,
        fusion: FusionMethod | None = None,
        dense_weight: float | None = None,
    ) -> SearchResult:
        """Top ``limit`` chunks for ``query``; with ``collapse`` at most one (the best) chunk per article."""
        timings: dict[str, float] = {}
        flt = filters.to_qdrant() if filters else None
        fetch = limit * 4 if collapse else limit
        dense_vec: list[float] | None = None
        if mode != "sparse":
            t0 = time.perf_counter()
            dense_vec = self.embedder.encode_query(query).tolist()
            timings["embed"] = _ms(t0)
        sparse = self.sparse.encode_query(query)
        sparse_vec = models.SparseVector(indices=sparse.indices, values=sparse.values)

        t0 = time.perf_counter()
        if mode == "dense":
            hits = self._single(dense_vec, coll.DENSE, fetch, flt)
        elif mode == "sparse":
            hits = self._single(sparse_vec, coll.SPARSE, fetch, flt) if sparse.indices else []
        else:
            method = fusion or self.settings.fusion
            if method in ("weighted", "adaptive"):
                weight = self.settings.dense_weight if dense_weight is None else dense_weight
                adaptive = method == "adaptive" and dense_weight is None
                hits = self._weighted(dense_vec, sparse_vec, fetch, flt, weight, adaptive)
            else:
                hits = self._fused_in_qdrant(dense_vec, sparse_vec, fetch, flt, method)
        timings["retrieve"] = _ms(t0)
        if collapse:
            hits = collapse_by_document(hits)
        return SearchResult(hits[:limit], timings, dense_vec)

    # --- strategies ---------------------------------------------------------------------------------------
    def _points(
        self, vector: Any, using: str, limit: int, flt: models.Filter | None, payload: bool = True
    ) -> list[models.ScoredPoint]:
        """Best points for one named vector: in-memory for the unfiltered embedded store, else Qdrant.

        With ``payload=False`` the in-memory path skips reading payloads (the fusion reads them only for the
        points it keeps); Qdrant's path always returns them.
        """
        if self._local is None or flt is not None:
            return self.client.query_points(
                self.settings.collection, query=vector, using=using, limit=limit, query_filter=flt,
                with_payload=True,
            ).points
        if using == coll.SPARSE:
            scored = self._local.search_sparse(vector, limit)
        else:
            scored = self._local.search_dense(vector, limit)
        points = [models.ScoredPoint(id=pid, version=0, score=score) for pid, score in scored]
        return self._with_payloads(points) if payload else points

    def _with_payloads(self, points: list[models.ScoredPoint]) -> list[models.ScoredPoint]:
        missing = [str(p.id) for p in points if p.payload is None]
        if missing:
            records = {str(r.id): r.payload for r in self.client.retrieve(
                self.settings.collection, ids=missing, with_payload=True, with_vectors=False
            )}
            for p in points:
                if p.payload is None:
                    p.payload = records.get(str(p.id))
        return [p for p in points if p.payload is not None]

    def _single(self, vector: Any, using: str, limit: int, flt: models.Filter | None) -> list[Hit]:
        points = self._points(vector, using, limit, flt)
        hits = [Hit.from_point(p, p.score) for p in points]
        for h, p in zip(hits, points, strict=True):
            if using == coll.DENSE:
                h.dense_score = p.score
            else:
                h.sparse_score = p.score
        return hits

    def _fused_in_qdrant(
        self, dense: Any, sparse: models.SparseVector, limit: int, flt: models.Filter | None, method: str
    ) -> list[Hit]:
        prefetch_n = max(self.settings.prefetch_limit, limit)
        prefetch = [models.Prefetch(query=dense, using=coll.DENSE, limit=prefetch_n, filter=flt)]
        if sparse.indices:
            prefetch.append(models.Prefetch(query=sparse, using=coll.SPARSE, limit=prefetch_n, filter=flt))
        fusion = models.Fusion.RRF if method == "rrf" else models.Fusion.DBSF
        res = self.client.query_points(
            self.settings.collection, prefetch=prefetch, query=models.FusionQuery(fusion=fusion),
            limit=limit, with_payload=True,
        )
        return [Hit.from_point(p, p.score) for p in res.points]

    def _weighted(
        self, dense: Any, sparse: models.SparseVector, limit: int, flt: models.Filter | None, weight: float,
        adaptive: bool = False,
    ) -> list[Hit]:
        prefetch_n = max(self.settings.prefetch_limit, limit)
        if self._local is not None or not sparse.indices:
            dense_pts = self._points(dense, coll.DENSE, prefetch_n, flt, payload=False)
            sparse_pts = self._points(sparse, coll.SPARSE, prefetch_n, flt, payload=False) if sparse.indices else []
        else:  # server: both lists in one round trip
            dense_req = models.QueryRequest(query=dense, using=coll.DENSE, limit=prefetch_n, filter=flt,
                                            with_payload=True)
            sparse_req = models.QueryRequest(query=sparse, using=coll.SPARSE, limit=prefetch_n, filter=flt,
                                             with_payload=True)
            responses = self.client.query_batch_points(self.settings.collection, requests=[dense_req, sparse_req])
            dense_pts, sparse_pts = responses[0].points, responses[1].points
        if adaptive and sparse_pts:
            head = self._with_payloads(list(dense_pts[:ADAPTIVE_DEPTH]))  # ids -> doc ids (payloads are kept)
            docs = [str((p.payload or {}).get("doc_id")) for p in head]
            weight = adaptive_dense_weight(docs, weight, self.settings.dense_weight_same_article)
        return fuse_weighted(dense_pts, sparse_pts, weight, limit, self._with_payloads)


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


def fuse_weighted(
    dense: Sequence[models.ScoredPoint],
    sparse: Sequence[models.ScoredPoint],
    weight: float,
    limit: int | None = None,
    load_payloads: Callable[[list[models.ScoredPoint]], list[models.ScoredPoint]] | None = None,
) -> list[Hit]:
    """Convex combination of min-max normalised scores; a chunk missing from one list scores 0 there.

    Only the best ``limit`` points become hits; ``load_payloads`` fills in payloads for those that lack one.
    """
    fused: dict[str, float] = {}
    side_scores: dict[str, dict[str, float]] = {}
    first: dict[str, models.ScoredPoint] = {}
    for points, w, side in ((dense, weight, "dense"), (sparse, 1 - weight, "sparse")):
        for p, norm in zip(points, _minmax([p.score for p in points]), strict=True):
            key = str(p.id)
            fused[key] = fused.get(key, 0.0) + w * norm
            side_scores.setdefault(key, {})[side] = p.score
            if key not in first or (first[key].payload is None and p.payload is not None):
                first[key] = p
    ranked = sorted(fused, key=lambda k: fused[k], reverse=True)[:limit]
    points = [first[k] for k in ranked]
    if load_payloads is not None:
        points = load_payloads(points)
    hits = []
    for p in points:
        key = str(p.id)
        hit = Hit.from_point(p, fused[key])
        hit.dense_score = side_scores[key].get("dense")
        hit.sparse_score = side_scores[key].get("sparse")
        hits.append(hit)
    return hits


def collapse_by_document(hits: list[Hit]) -> list[Hit]:
    seen: set[str] = set()
    out: list[Hit] = []
    for h in hits:
        if h.doc_id not in seen:
            seen.add(h.doc_id)
            out.append(h)
    return out


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)
