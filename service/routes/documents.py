"""/v1/documents: add, replace, inspect and delete articles through the running service.

Ingest goes through the Indexer's own pipeline (the same cleaning, chunking, hashing and idempotence as
``python -m indexer ingest``), with origin ``api``. Records that cannot be read are reported per record and
do not stop the others.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.exceptions import NotFoundException
from qdrant_client import models

from indexer import collection as coll
from indexer.articles import Article, InputError, article_from_record
from indexer.pipeline import DocResult
from indexer.readers import Skipped
from service.errors import FieldError
from service.routes import get_state
from service.schemas import DeleteResponse, DocumentOut, DocumentResult, IngestResponse

ORIGIN = "api"


class DocumentsController(Controller):
    path = "/documents"
    tags = ("documents",)

    @post(sync_to_thread=True, status_code=200, summary="Ingest one article record or a list of them")
    def ingest(self, request: Request[Any, Any, Any], data: dict[str, Any] | list[Any]) -> IngestResponse:
        state = get_state(request)
        records = data if isinstance(data, list) else [data]
        if not records:
            raise FieldError("body", "expected an article record or a non-empty list of them")
        t0 = time.perf_counter()
        items: list[Article | Skipped] = []
        results: list[DocumentResult | None] = []
        for i, record in enumerate(records):
            try:
                items.append(article_from_record(record, ORIGIN))
                results.append(None)
            except InputError as exc:
                results.append(DocumentResult(index=i, doc_id=_raw_id(record), status="skipped", error=str(exc)))
        with state.write_lock:
            report = state.indexer.ingest([a for a in items if isinstance(a, Article)]) if items else None
        by_id: dict[str | None, deque[DocResult]] = defaultdict(deque)
        # the first occurrence of an id gets the real outcome, later ones the pipeline's duplicate notice
        for r in sorted(report.results if report else [], key=lambda r: r.error is not None):
            by_id[r.doc_id].append(r)
        article_ids = iter(a.doc_id for a in items if isinstance(a, Article))
        out: list[DocumentResult] = []
        for i, res in enumerate(results):
            if res is None:
                doc_id = next(article_ids)
                r = by_id[doc_id].popleft()
                res = DocumentResult(index=i, doc_id=doc_id, status=r.status, chunks=r.chunks,  # type: ignore[arg-type]
                                     error=r.error)
            out.append(res)
        summary = {s: sum(1 for r in out if r.status == s) for s in ("indexed", "replaced", "unchanged", "skipped")}
        summary["chunks_written"] = sum(r.chunks for r in out if r.status in ("indexed", "replaced"))
        timings = {"total": round((time.perf_counter() - t0) * 1000, 2)}
        if report:
            timings["embed"] = round(report.embed_seconds * 1000, 2)
            timings["upsert"] = round(report.upsert_seconds * 1000, 2)
        return IngestResponse(results=out, summary=summary, timings_ms=timings)

    @get("/{doc_id:str}", sync_to_thread=True, summary="Metadata of one indexed article")
    def read(self, request: Request[Any, Any, Any], doc_id: str) -> DocumentOut:
        state = get_state(request)
        name = state.settings.collection
        if not state.client.collection_exists(name):
            raise NotFoundException(f"document {doc_id!r} is not indexed")
        flt = coll.doc_filter([doc_id])
        points, _ = state.client.scroll(
            name, scroll_filter=flt, limit=1, with_vectors=False,
            with_payload=models.PayloadSelectorExclude(exclude=["text"]),
        )
        if not points:
            raise NotFoundException(f"document {doc_id!r} is not indexed")
        p: dict[str, Any] = points[0].payload or {}
        return DocumentOut(
            doc_id=doc_id, title=str(p.get("title") or ""), url=p.get("url"), source=p.get("source"),
            author=p.get("author"), published_at=p.get("published_at"), metadata=p.get("metadata") or {},
            chunk_count=int(p.get("chunk_count", 0)), chunks_stored=coll.count_points(state.client, name, flt),
            doc_hash=p.get("doc_hash"), origin=p.get("origin"), indexed_at=p.get("indexed_at"),
        )

    @delete("/{doc_id:str}", sync_to_thread=True, status_code=200, summary="Remove an article and its chunks")
    def remove(self, request: Request[Any, Any, Any], doc_id: str) -> DeleteResponse:
        state = get_state(request)
        with state.write_lock:
            removed = state.indexer.delete([doc_id]).get(doc_id, 0)
        if not removed:
            raise NotFoundException(f"document {doc_id!r} is not indexed")
        return DeleteResponse(doc_id=doc_id, status="deleted", chunks=removed)


def _raw_id(record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    raw = record.get("_id", record.get("id", record.get("doc_id")))
    return None if raw is None else str(raw)
