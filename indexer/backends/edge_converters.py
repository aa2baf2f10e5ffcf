"""Newsdesk's store types <-> Qdrant Edge models (the Edge backend's one converter module)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import qdrant_edge as qe

from indexer import payload as pl
from indexer.collection import (
    Candidate,
    EngineFusion,
    PointData,
    RecencyRequest,
    SearchFilters,
    StoredPoint,
    as_datetime_str,
)
from indexer.sparse import SparseVec

RRF_K = 60
"""RRF's rank constant, as on a Qdrant server (``1 / (k + rank)``)."""


def to_point(p: PointData) -> qe.Point:
    return qe.Point(p.id, {pl.DENSE: list(p.dense),
                           pl.SPARSE: qe.SparseVector(list(p.sparse.indices), list(p.sparse.values))}, p.payload)


def to_query(vector: list[float] | SparseVec, using: str) -> qe.Query:
    if isinstance(vector, SparseVec):
        return qe.Query.Nearest(qe.SparseVector(list(vector.indices), list(vector.values)), using=using)
    return qe.Query.Nearest(list(vector), using=using)


def doc_filter(doc_ids: Sequence[str]) -> qe.Filter:
    return qe.Filter(must=[qe.FieldCondition(key=pl.DOC_ID, match=qe.MatchAny(list(doc_ids)))])


def to_filter(filters: SearchFilters | None) -> qe.Filter | None:
    """The query-side filter over the payload indexes (None when nothing is filtered)."""
    if filters is None or filters.empty:
        return None
    must: list[Any] = []
    if filters.source:
        must.append(qe.FieldCondition(key=pl.SOURCE, match=qe.MatchAny(list(filters.source))))
    if filters.doc_id:
        must.append(qe.FieldCondition(key=pl.DOC_ID, match=qe.MatchAny(list(filters.doc_id))))
    if filters.published_after or filters.published_before:
        after, before = filters.published_after, filters.published_before
        must.append(qe.FieldCondition(key=pl.PUBLISHED_AT, range=qe.RangeDateTime(
            gte=as_datetime_str(after, end_of_day=False) if after else None,
            lte=as_datetime_str(before, end_of_day=True) if before else None,
        )))
    return qe.Filter(must=must)


def to_fusion(fusion: EngineFusion) -> Any:
    if fusion == "rrf":
        return qe.Fusion.Rrf(k=RRF_K)
    if fusion == "dbsf":
        return qe.Fusion.Dbsf()
    raise ValueError(f"unknown engine fusion {fusion!r} (rrf or dbsf)")


def _rfc3339(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z")


def to_recency_formula(r: RecencyRequest) -> qe.Formula:
    """The recency re-rank as an Edge formula over the prefetch's ``$score``: the same expression as the server
    backend's (``$score * (1 - w + w * d)``, ``d = e + [published > anchor] * (1 - e)``, ``e`` an exponential
    ``Decay`` with midpoint 0.5 at one half-life; undated articles read the default date one half-life back)."""
    target = _rfc3339(r.anchor)
    e = qe.Expression.Decay(qe.DecayKind.Exp, qe.Expression.DatetimeKey(r.date_key), qe.Expression.Datetime(target),
                            0.5, r.half_life.total_seconds())
    newer = qe.Expression.Condition(qe.FieldCondition(key=r.date_key, range=qe.RangeDateTime(gt=target)))
    one = qe.Expression.Constant(1.0)
    d = qe.Expression.Sum([e, qe.Expression.Mult([newer, qe.Expression.Sum([one, qe.Expression.Neg(e)])])])
    factor = qe.Expression.Sum([qe.Expression.Constant(1.0 - r.weight),
                                qe.Expression.Mult([qe.Expression.Constant(r.weight), d])])
    return qe.Formula(qe.Expression.Mult([qe.Expression.Variable("$score"), factor]),
                      defaults={r.date_key: _rfc3339(r.anchor - r.half_life)})


def to_candidate(p: Any) -> Candidate:
    return Candidate(str(p.id), float(p.score), dict(p.payload) if p.payload is not None else None)


def sparse_of(vec: Any) -> SparseVec | None:
    if isinstance(vec, qe.SparseVector):
        return SparseVec([int(i) for i in vec.indices], [float(v) for v in vec.values])
    return None


def to_stored(r: Any) -> StoredPoint:
    vectors = r.vector if isinstance(r.vector, dict) else {}
    dense = vectors.get(pl.DENSE)
    return StoredPoint(str(r.id), dict(r.payload or {}),
                       [float(x) for x in dense] if isinstance(dense, list) else None,
                       sparse_of(vectors.get(pl.SPARSE)))
