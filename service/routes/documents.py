"""/v1/documents: add, replace, inspect and delete articles through the running service.

Ingest goes through the indexer's own pipeline (the same cleaning, chunking, hashing and idempotence as
``python -m indexer ingest``), with origin ``api``; each record gets its own result, in request order.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, delete, get, post
from litestar.exceptions import NotFoundException

from service.context import Services
from service.errors import FieldError
from service.schemas import DeleteResponse, DocumentOut, IngestResponse


class DocumentsController(Controller):
    path = "/documents"
    tags = ("documents",)

    @post(sync_to_thread=True, status_code=200, summary="Ingest one article record or a list of them")
    def ingest(self, data: dict[str, Any] | list[Any], services: Services) -> IngestResponse:
        records = data if isinstance(data, list) else [data]
        if not records:
            raise FieldError("body", "expected an article record or a non-empty list of them")
        return IngestResponse.from_report(services.ingest(records))

    @get("/{doc_id:str}", sync_to_thread=True, summary="Metadata of one indexed article")
    def read(self, doc_id: str, services: Services) -> DocumentOut:
        summary = services.document(doc_id)
        if summary is None:
            raise NotFoundException(f"document {doc_id!r} is not indexed")
        return DocumentOut.from_summary(summary)

    @delete("/{doc_id:str}", sync_to_thread=True, status_code=200, summary="Remove an article and its chunks")
    def remove(self, doc_id: str, services: Services) -> DeleteResponse:
        removed = services.delete(doc_id)
        if not removed:
            raise NotFoundException(f"document {doc_id!r} is not indexed")
        return DeleteResponse(doc_id=doc_id, status="deleted", chunks=removed)
