"""Newsdesk's store types <-> qdrant-client models (the server backend's one converter module)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qdrant_client import models

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


def to_point(p: PointData) -> models.PointStruct:
    return models.PointStruct(
        id=p.id,
        vector={pl.DENSE: list(p.dense),
                pl.SPARSE: models.SparseVector(indices=list(p.sparse.indices), values=list(p.sparse.values))},
        payload=p.payload,
    )


def to_query_vector(vector: list[float] | SparseVec) -> Any:
    if isinstance(vector, SparseVec):
        return models.SparseVector(indices=list(vector.indices), values=list(vector.values))
    return list(vector)


def doc_filter(doc_ids: Sequence[str]) -> models.Filter:
    return models.Filter(must=[models.FieldCondition(key=pl.DOC_ID, match=models.MatchAny(any=list(doc_ids)))])


def to_filter(filters: SearchFilters | None) -> models.Filter | None:
    """The query-side filter over the payload indexes (None when nothing is filtered)."""
    if filters is None or filters.empty:
        return None
    must: list[models.Condition] = []
    if filters.source:
        must.append(models.FieldCondition(key=pl.SOURCE, match=models.MatchAny(any=list(filters.source))))
    if filters.doc_id:
        must.append(models.FieldCondition(key=pl.DOC_ID, match=models.MatchAny(any=list(filters.doc_id))))
    if filters.published_after or filters.published_before:
        after, before = filters.published_after, filters.published_before
        must.append(models.FieldCondition(key=pl.PUBLISHED_AT, range=models.DatetimeRange(
            gte=as_datetime_str(after, end_of_day=False) if after else None,
            lte=as_datetime_str(before, end_of_day=True) if before else None,
        )))
    return models.Filter(must=must)


def to_fusion(fusion: EngineFusion) -> models.Fusion:
    if fusion == "rrf":
        return models.Fusion.RRF
    if fusion == "dbsf":
        return models.Fusion.DBSF
    raise ValueError(f"unknown engine fusion {fusion!r} (rrf or dbsf)")


def to_recency_formula(r: RecencyRequest) -> models.FormulaQuery:
    """The recency re-rank as a Qdrant formula over the prefetch's ``$score`` (see :class:`RecencyRequest`).

    ``$score * (1 - w + w * d)`` with ``d = e + [published > anchor] * (1 - e)`` and
    ``e = exp_decay(published, target=anchor, scale=half_life, midpoint=0.5) = 0.5 ** (|age| / half_life)``:
    the condition gives an article dated after the anchor the full 1.0 (exp_decay alone decays both ways), and an
    undated article reads the default date one half-life before the anchor, so ``e`` is 0.5 while its
    condition is false.
    """
    target = r.anchor.isoformat().replace("+00:00", "Z")
    e = models.ExpDecayExpression(exp_decay=models.DecayParamsExpression(
        x=models.DatetimeKeyExpression(datetime_key=r.date_key),
        target=models.DatetimeExpression(datetime=target),
        scale=r.half_life.total_seconds(), midpoint=0.5,
    ))
    newer = models.FieldCondition(key=r.date_key, range=models.DatetimeRange(gt=r.anchor))
    d = models.SumExpression(sum=[e, models.MultExpression(mult=[newer, models.SumExpression(
        sum=[1.0, models.NegExpression(neg=e)])])])
    factor = models.SumExpression(sum=[1.0 - r.weight, models.MultExpression(mult=[r.weight, d])])
    undated = (r.anchor - r.half_life).isoformat().replace("+00:00", "Z")
    return models.FormulaQuery(formula=models.MultExpression(mult=["$score", factor]),
                               defaults={r.date_key: undated})


def to_candidate(p: models.ScoredPoint) -> Candidate:
    return Candidate(str(p.id), float(p.score), dict(p.payload) if p.payload is not None else None)


def to_stored(r: models.Record) -> StoredPoint:
    vectors = r.vector if isinstance(r.vector, dict) else {}
    dense, sparse = vectors.get(pl.DENSE), vectors.get(pl.SPARSE)
    return StoredPoint(
        str(r.id), dict(r.payload or {}),
        [float(x) for x in dense] if isinstance(dense, list) else None,
        SparseVec(list(sparse.indices), [float(v) for v in sparse.values])
        if isinstance(sparse, models.SparseVector) else None,
    )
