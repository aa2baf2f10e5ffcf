"""/v1/documents: add, replace, inspect and delete articles through the running service.

Ingest goes through the indexer's own pipeline (the same cleaning, chunking, hashing and idempotence as
``python -m indexer ingest``), with origin ``api``; each record gets its own result, in request order.

Before the indexer sees a batch: at most ``NEWSDESK_MAX_RECORDS`` records (413), and an id that occurs more
than once is ambiguous (which version is meant?), so every occurrence is skipped with the positions named and
none is written. A batch none of whose records could be indexed is a 400 carrying every record's result.
Writes need ``NEWSDESK_WRITE_API_KEY`` when it is set. Document ids may contain ``/`` (file ids from
sub-folders): ``/v1/documents/news/2026/a.md`` and ``/v1/documents/news%2F2026%2Fa.md`` name the same one.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from litestar import Controller, delete, get, post
from litestar.exceptions import NotFoundException

from indexer.pipeline import DocResult, IngestReport
from service.context import Services
from service.errors import FieldError, RejectedBatch
from service.guards import check_batch_size, duplicate_ids, require_write_key
from service.metrics import observe_ingest
from service.schemas import DeleteResponse, DocumentOut, IngestResponse
from service.settings import ServiceSettings

log = logging.getLogger("newsdesk.service")


def ingest_batch(services: Services, records: list[Any]) -> IngestReport:
    """Ingest a batch whose duplicated ids are refused (all their occurrences); one result per record, in order."""
    duplicates = duplicate_ids(records)
    refused: dict[int, DocResult] = {}
    for doc_id, at in duplicates.items():
        where = ", ".join(str(i) for i in at)
        for i in at:
            refused[i] = DocResult(doc_id, "skipped", error=f"duplicate id {doc_id!r} at positions {where} of "
                                   "this request; none of them was written")
    kept = [r for i, r in enumerate(records) if i not in refused]
    report = services.ingest(kept) if kept else IngestReport()
    if not refused:
        return report
    written = iter(report.results)
    results = [refused[i] if i in refused else next(written) for i in range(len(records))]
    return dataclasses.replace(report, results=results)


def _doc_id(path_value: str) -> str:
    # a {doc_id:path} parameter arrives with its leading slash
    return path_value[1:] if path_value.startswith("/") else path_value


class DocumentsController(Controller):
    path = "/documents"
    tags = ("documents",)

    @post(sync_to_thread=True, status_code=200, summary="Ingest one article record or a list of them",
          guards=[require_write_key])
    def ingest(self, data: dict[str, Any] | list[Any], services: Services, settings: ServiceSettings) -> IngestResponse:
        records = data if isinstance(data, list) else [data]
        if not records:
            raise FieldError("body", "expected an article record or a non-empty list of them")
        check_batch_size(len(records), settings)
        report = ingest_batch(services, records)
        observe_ingest(report)
        counts = {s: report.count(s) for s in ("indexed", "replaced", "unchanged", "skipped")}
        log.info("ingest: %d record(s): %s", len(records), ", ".join(f"{n} {s}" for s, n in counts.items()),
                 extra={"records": len(records), **counts, "chunks_written": report.chunks_written})
        response = IngestResponse.from_report(report)
        if report.results and all(r.status == "skipped" for r in report.results):
            label = (lambda i: f"body[{i}]") if isinstance(data, list) else (lambda i: "body")
            detail = [{"field": label(r.index), "message": r.error or "skipped"} for r in response.results]
            raise RejectedBatch(detail, [r.model_dump(mode="json") for r in response.results])
        return response

    @get("/{doc_id:path}", sync_to_thread=True, summary="Metadata of one indexed article (and its text)")
    def read(self, doc_id: str, services: Services, text: bool = False) -> DocumentOut:
        summary = services.document(_doc_id(doc_id))
        if summary is None:
            raise NotFoundException(f"document {_doc_id(doc_id)!r} is not indexed")
        return DocumentOut.from_summary(summary, services.article_text(summary.doc_id) if text else None)

    @delete("/{doc_id:path}", sync_to_thread=True, status_code=200, summary="Remove an article and its chunks",
            guards=[require_write_key])
    def remove(self, doc_id: str, services: Services) -> DeleteResponse:
        doc_id = _doc_id(doc_id)
        removed = services.delete(doc_id)
        if not removed:
            raise NotFoundException(f"document {doc_id!r} is not indexed")
        return DeleteResponse(doc_id=doc_id, status="deleted", chunks=removed)
