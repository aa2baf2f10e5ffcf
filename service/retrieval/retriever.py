"""Passage retrieval over the indexer's collection: dense, sparse (BM25) and hybrid.

Plain Python, used by the question pipeline, ``POST /v1/search`` and ``eval/``. Hybrid fusion methods (the
arithmetic is in :mod:`service.retrieval.fusion`):

* ``rrf`` / ``dbsf``: dense and sparse prefetches fused inside the engine (one query);
* ``weighted`` / ``adaptive``: the engine's two candidate lists (one batch query), fused here.

The same code runs on both store backends (Qdrant Edge embedded, a Qdrant server): it speaks the store's own
types (``indexer.collection``), and each backend does the search inside its engine.

Nothing indexed yet is not an error: every search then returns no hits.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from indexer.collection import Candidate, RecencyRequest, SearchFilters
from indexer.payload import DENSE, PUBLISHED_AT, SPARSE, Hit, doc_id_of, hit_from_payload, point_id_of_chunk
from indexer.sparse import SparseEncoder, SparseVec
from service.ports import Encoder, PassageStore
from service.retrieval.fusion import ADAPTIVE_DEPTH, Fused, adaptive_dense_weight, fuse_weighted
from service.retrieval.recency import (
    AUTO_WEIGHT,
    DEFAULT_WEIGHT,
    anchored_as_of,
    apply_recency,
    resolve_half_life,
)
from service.settings import FusionMethod, ServiceSettings
from service.timing import ms_since

Mode = Literal["hybrid", "dense", "sparse"]


@dataclass(slots=True)
class SearchResult:
    hits: list[Hit]
    timings_ms: dict[str, float] = field(default_factory=dict)
    query_vector: list[float] | None = None
    recency: timedelta | None = None
    """The half-life applied to this search (None: ranked by relevance alone)."""


RECENCY_DEPTH = 3
"""With recency on, this many times ``limit`` candidates are re-ranked (age can lift one from below the cut)."""


class Retriever:
    """Holds the encoder, the store and the query settings; one instance is shared by all requests."""

    def __init__(self, settings: ServiceSettings, store: PassageStore, encoder: Encoder) -> None:
        self.settings = settings
        self.store = store
        self.encoder = encoder
        self.sparse = SparseEncoder(settings.bm25_k1, settings.bm25_b, settings.sparse_avg_doc_tokens)

    @classmethod
    def for_store(cls, settings: ServiceSettings, store: PassageStore, encoder: Encoder) -> Retriever:
        """The retriever the service uses on this store (either backend)."""
        return cls(settings, store, encoder)

    def search(
        self,
        query: str,
        limit: int = 10,
        mode: Mode = "hybrid",
        filters: SearchFilters | None = None,
        collapse: bool = False,
        fusion: FusionMethod | None = None,
        dense_weight: float | None = None,
        recency: str | None = None,
        as_of: datetime | None = None,
    ) -> SearchResult:
        """Top ``limit`` chunks for ``query``; with ``collapse`` at most one (the best) chunk per article.

        ``recency``: ``"off"``, a half-life such as ``"30d"``, or None/``"auto"`` (on with the default half-life
        when the question asks for the latest state, off when it states a date; see
        :mod:`service.retrieval.recency`); ages are measured from the newest relevant candidate, at most
        ``as_of`` (default: now). Filters still apply.
        """
        half_life = resolve_half_life(recency, query)
        try:
            result = self._search(query, limit * RECENCY_DEPTH if half_life else limit, mode, filters, collapse,
                                  fusion, dense_weight)
        except Exception:
            if not self._collection_exists():
                return SearchResult([], {"embed": 0.0, "retrieve": 0.0})
            raise
        if half_life:
            explicit = recency is not None and recency.strip().lower() != "auto"
            weight = DEFAULT_WEIGHT if explicit else AUTO_WEIGHT
            method = fusion or self.settings.fusion
            if mode == "hybrid" and method in ("rrf", "dbsf") and result.hits:
                result.hits = self._rescored_in_engine(query, result, limit * RECENCY_DEPTH, filters, collapse,
                                                       method, half_life, as_of or datetime.now(UTC), weight)
            else:
                result.hits = by_recency(result.hits, half_life, as_of or datetime.now(UTC), weight)
            result.recency = half_life
        result.hits = result.hits[:limit]
        return result

    def _rescored_in_engine(
        self, query: str, result: SearchResult, limit: int, filters: SearchFilters | None, collapse: bool,
        method: FusionMethod, half_life: timedelta, as_of: datetime, weight: float,
    ) -> list[Hit]:
        """Recency inside the engine's query: the fused candidates re-ranked by the recency formula (a
        :class:`RecencyRequest`), anchored (as :func:`by_recency` is) on the newest relevant candidate of the
        first, relevance-only pass."""
        anchor = anchored_as_of([h.score for h in result.hits], [h.published_at for h in result.hits], as_of)
        sparse = self.sparse.encode_query(query)
        fetch = limit * 4 if collapse else limit
        t0 = time.perf_counter()
        points = self.store.query_fused(
            result.query_vector or [], SparseVec(list(sparse.indices), list(sparse.values)),
            max(self.settings.prefetch_limit, fetch), fetch, filters,
            "rrf" if method == "rrf" else "dbsf",
            recency=RecencyRequest(anchor, half_life, weight, PUBLISHED_AT),
        )
        result.timings_ms["retrieve"] = result.timings_ms.get("retrieve", 0.0) + ms_since(t0)
        hits = [hit_from_payload(p.payload, p.score) for p in points]
        return collapse_by_document(hits) if collapse else hits

    def attach_sentences(self, hits: list[Hit]) -> int:
        """Set each hit's stored sentence vectors (``Hit.sentences``), read in one store call; returns how many
        hits have none (chunks indexed before they were stored: the composer embeds those sentences itself)."""
        wanted = {h.chunk_id: point_id_of_chunk(h.chunk_id) for h in hits if h.sentences is None}
        found = self.store.sentence_vectors(list(dict.fromkeys(wanted.values())))
        missing = 0
        for h in hits:
            if h.sentences is None:
                h.sentences = found.get(wanted[h.chunk_id])
                missing += h.sentences is None
        return missing

    def _collection_exists(self) -> bool:
        try:
            return self.store.exists()
        except Exception:
            return True  # unknown: let the original error surface

    def _search(
        self, query: str, limit: int, mode: Mode, filters: SearchFilters | None, collapse: bool,
        fusion: FusionMethod | None, dense_weight: float | None,
    ) -> SearchResult:
        timings: dict[str, float] = {}
        flt = filters if filters is not None and not filters.empty else None
        fetch = limit * 4 if collapse else limit
        dense_vec: list[float] | None = None
        if mode != "sparse":
            t0 = time.perf_counter()
            dense_vec = self.encoder.encode_query(query).tolist()
            timings["embed"] = ms_since(t0)
        sparse = self.sparse.encode_query(query)
        sparse_vec = SparseVec(list(sparse.indices), list(sparse.values))

        t0 = time.perf_counter()
        if mode == "dense":
            hits = self._single(dense_vec or [], DENSE, fetch, flt)
        elif mode == "sparse":
            hits = self._single(sparse_vec, SPARSE, fetch, flt) if sparse.indices else []
        else:
            method = fusion or self.settings.fusion
            if method in ("weighted", "adaptive"):
                weight = self.settings.dense_weight if dense_weight is None else dense_weight
                adaptive = method == "adaptive" and dense_weight is None
                hits = self._weighted(dense_vec or [], sparse_vec, fetch, flt, weight, adaptive)
            else:
                prefetch_n = max(self.settings.prefetch_limit, fetch)
                points = self.store.query_fused(dense_vec or [], sparse_vec, prefetch_n, fetch, flt,
                                                "rrf" if method == "rrf" else "dbsf")
                hits = [hit_from_payload(p.payload, p.score) for p in points]
        timings["retrieve"] = ms_since(t0)
        if collapse:
            hits = collapse_by_document(hits)
        return SearchResult(hits[:limit], timings, dense_vec)

    # --- candidate lists ----------------------------------------------------------------------------------------
    def _with_payloads(self, points: Sequence[Candidate]) -> list[Candidate]:
        """The points with their payloads (read for those that lack one); points gone meanwhile are dropped."""
        missing = [p.id for p in points if p.payload is None]
        found = self.store.payloads(missing)
        out = []
        for p in points:
            payload = p.payload if p.payload is not None else found.get(p.id)
            if payload is not None:
                out.append(p if p.payload is not None else replace(p, payload=payload))
        return out

    def _single(self, vector: list[float] | SparseVec, using: str, limit: int,
                flt: SearchFilters | None) -> list[Hit]:
        hits = []
        for p in self._with_payloads(self.store.query(vector, using, limit, flt)):
            hit = hit_from_payload(p.payload, p.score)
            if using == DENSE:
                hit.dense_score = p.score
            hits.append(hit)
        return hits

    def _weighted(
        self, dense: list[float], sparse: SparseVec, limit: int, flt: SearchFilters | None, weight: float,
        adaptive: bool,
    ) -> list[Hit]:
        prefetch_n = max(self.settings.prefetch_limit, limit)
        if sparse.indices:  # both lists in one engine call
            dense_pts, sparse_pts = self.store.query_both(dense, sparse, prefetch_n, flt)
        else:
            dense_pts, sparse_pts = self.store.query(dense, DENSE, prefetch_n, flt), []
        if adaptive and sparse_pts:
            head = self._with_payloads(dense_pts[:ADAPTIVE_DEPTH])  # point ids -> document ids
            dense_pts = head + list(dense_pts[ADAPTIVE_DEPTH:])
            weight = adaptive_dense_weight([doc_id_of(p.payload) for p in head], weight,
                                           self.settings.dense_weight_same_article)
        return self._hits(fuse_weighted(dense_pts, sparse_pts, weight, limit))

    def _hits(self, fused: list[Fused]) -> list[Hit]:
        with_payload = {p.id: p for p in self._with_payloads([f.point for f in fused])}
        hits = []
        for f in fused:
            point = with_payload.get(f.point.id)
            if point is not None:
                hit = hit_from_payload(point.payload, f.score)
                hit.dense_score = f.dense_score
                hits.append(hit)
        return hits


def by_recency(hits: list[Hit], half_life: timedelta, as_of: datetime, weight: float = DEFAULT_WEIGHT) -> list[Hit]:
    """The hits re-scored by age (``score * (1 - w + w * decay)``) and re-sorted, best first."""
    scores = [h.score for h in hits]
    dates = [h.published_at for h in hits]
    anchor = anchored_as_of(scores, dates, as_of)
    for h, score in zip(hits, apply_recency(scores, dates, anchor, half_life, weight), strict=True):
        h.score = score
    return sorted(hits, key=lambda h: h.score, reverse=True)


def collapse_by_document(hits: list[Hit]) -> list[Hit]:
    seen: set[str] = set()
    out: list[Hit] = []
    for h in hits:
        if h.doc_id not in seen:
            seen.add(h.doc_id)
            out.append(h)
    return out
