"""The ingest pipeline: articles -> chunks -> dense + sparse vectors -> Qdrant, idempotently.

Used by the CLI, by the service's ``POST /v1/documents`` and by ``eval/``. For each article:

* unchanged (every stored chunk carries the same content hash, and all of them are there): nothing is written;
* new or changed: all chunks are upserted under deterministic ids, then the document's stale points (old hash,
  or positions past the new chunk count) are deleted by id.

Upsert-then-delete means an interrupted run leaves, at worst, a document with points of two hashes; the next
run sees it as incomplete and redoes it, so a restarted run ends in the same state as an uninterrupted one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from qdrant_client import QdrantClient, models

from indexer import collection as coll
from indexer.articles import Article
from indexer.chunking import Chunk, Chunker
from indexer.embedding import Embedder
from indexer.readers import Skipped, discover, read_sources
from indexer.settings import Settings
from indexer.sparse import SparseEncoder

log = logging.getLogger(__name__)

Status = Literal["indexed", "replaced", "unchanged", "skipped", "deleted"]


@dataclass(slots=True)
class DocResult:
    doc_id: str | None
    status: Status
    chunks: int = 0
    error: str | None = None
    location: str | None = None


@dataclass
class IngestReport:
    results: list[DocResult] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0
    upsert_seconds: float = 0.0

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def chunks_written(self) -> int:
        return sum(r.chunks for r in self.results if r.status in ("indexed", "replaced"))

    @property
    def skipped(self) -> list[DocResult]:
        return [r for r in self.results if r.status == "skipped"]

    def summary(self) -> dict[str, Any]:
        docs = sum(1 for r in self.results if r.status in ("indexed", "replaced", "unchanged"))
        return {
            "indexed": self.count("indexed"),
            "replaced": self.count("replaced"),
            "unchanged": self.count("unchanged"),
            "skipped": self.count("skipped"),
            "deleted": self.count("deleted"),
            "chunks_written": self.chunks_written,
            "seconds": round(self.seconds, 2),
            "docs_per_s": round(docs / self.seconds, 1) if self.seconds else None,
            "chunks_per_s": round(self.chunks_written / self.seconds, 1) if self.seconds else None,
        }


@dataclass(slots=True)
class _Pending:
    article: Article
    doc_hash: str
    chunks: list[Chunk]
    previous: coll.DocState | None


ProgressHook = Callable[[int, int], None]
"""Called with (documents done, chunks written) after every flushed batch."""


class Indexer:
    """Owns the write side of the collection. One instance per process; not thread-safe."""

    def __init__(
        self, settings: Settings, client: QdrantClient | None = None, embedder: Embedder | None = None
    ) -> None:
        self.settings = settings
        self.client = client if client is not None else coll.open_client(settings)
        self._embedder = embedder
        self._checked = False
        self.chunker = Chunker(settings.chunk_tokens, settings.chunk_overlap, settings.tokenizer_encoding)
        self.sparse = SparseEncoder(settings.bm25_k1, settings.bm25_b, settings.sparse_avg_doc_tokens)
        self.pipeline_key = (
            f"{settings.embed_model}|{settings.chunk_tokens}|{settings.chunk_overlap}|{settings.embed_title}"
            f"|{settings.tokenizer_encoding}|{settings.bm25_k1}|{settings.bm25_b}|{settings.sparse_avg_doc_tokens}"
        )

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = Embedder(self.settings)
        return self._embedder

    @property
    def collection(self) -> str:
        return self.settings.collection

    def ensure_collection(self) -> None:
        coll.ensure_collection(self.client, self.settings, self.embedder.dim)
        self._checked = True

    # --- ingest -------------------------------------------------------------------------------------------
    def ingest_paths(
        self, paths: list[Path], prune: bool = False, progress: ProgressHook | None = None
    ) -> IngestReport:
        files, missing = discover(paths)
        items: list[Article | Skipped] = list(missing)
        origins = {str(p.resolve()) for p in paths if p.exists()}
        return self.ingest(
            _chain(items, read_sources(files)), prune_origins=origins if prune else None, progress=progress
        )

    def ingest(
        self,
        items: Iterable[Article | Skipped],
        prune_origins: set[str] | None = None,
        progress: ProgressHook | None = None,
    ) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        # the model (seconds to load) is needed only when something has to be embedded
        self._checked = False
        if not self.client.collection_exists(self.collection):
            self.ensure_collection()
        # a known, small batch (the HTTP API) only needs its own documents' state, not the whole collection's
        scope = None
        if isinstance(items, list) and prune_origins is None:
            scope = [i.doc_id for i in items if isinstance(i, Article)]
        state = coll.scan_documents(self.client, self.collection, scope)
        seen: set[str] = set()
        pending: list[_Pending] = []
        pending_chunks = 0
        flush_at = max(self.settings.embed_batch_size * 4, 64)

        for item in items:
            if isinstance(item, Skipped):
                report.results.append(DocResult(item.doc_id, "skipped", error=item.reason, location=item.location))
                if item.doc_id:
                    seen.add(item.doc_id)
                continue
            if item.doc_id in seen:
                report.results.append(DocResult(item.doc_id, "skipped", error="duplicate document id in this run"))
                continue
            seen.add(item.doc_id)
            doc_hash = item.content_hash(self.pipeline_key)
            previous = state.get(item.doc_id)
            if previous is not None and previous.is_complete(doc_hash):
                report.results.append(DocResult(item.doc_id, "unchanged", previous.chunk_count))
                continue
            chunks = self.chunker.chunk(item.text)
            pending.append(_Pending(item, doc_hash, chunks, previous))
            pending_chunks += len(chunks)
            if pending_chunks >= flush_at:
                self._flush(pending, report)
                pending, pending_chunks = [], 0
                if progress:
                    progress(len(report.results), report.chunks_written)
        if pending:
            self._flush(pending, report)
        if prune_origins is not None:
            stale = [d for d, s in state.items() if s.origin in prune_origins and d not in seen]
            for doc_id in stale:
                coll.delete_points(self.client, self.collection, state[doc_id].point_ids)
                report.results.append(DocResult(doc_id, "deleted", len(state[doc_id].point_ids)))
        if progress:
            progress(len(report.results), report.chunks_written)
        report.seconds = time.perf_counter() - started
        return report

    def _flush(self, batch: list[_Pending], report: IngestReport) -> None:
        if not self._checked:
            self.ensure_collection()
        texts: list[str] = []
        for doc in batch:
            prefix = f"{doc.article.title}\n" if self.settings.embed_title and doc.article.title else ""
            texts.extend(prefix + c.text for c in doc.chunks)
        t0 = time.perf_counter()
        dense = self.embedder.encode(texts)
        report.embed_seconds += time.perf_counter() - t0
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        points: list[models.PointStruct] = []
        row = 0
        for doc in batch:
            for chunk in doc.chunks:
                sparse = self.sparse.encode_document(texts[row])
                points.append(
                    models.PointStruct(
                        id=coll.point_id(doc.article.doc_id, chunk.index),
                        vector={
                            coll.DENSE: dense[row].tolist(),
                            coll.SPARSE: models.SparseVector(indices=sparse.indices, values=sparse.values),
                        },
                        payload=self._payload(doc, chunk, now),
                    )
                )
                row += 1
        t0 = time.perf_counter()
        size = self.settings.upsert_batch_size
        for i in range(0, len(points), size):
            self.client.upsert(self.collection, points=points[i : i + size], wait=True)
            coll.bump_generation(self.client, self.collection)
        for doc in batch:
            if doc.previous is not None:
                keep = {coll.point_id(doc.article.doc_id, c.index) for c in doc.chunks}
                coll.delete_points(self.client, self.collection, doc.previous.point_ids - keep)
            report.results.append(
                DocResult(doc.article.doc_id, "replaced" if doc.previous else "indexed", len(doc.chunks))
            )
        report.upsert_seconds += time.perf_counter() - t0

    @staticmethod
    def _payload(doc: _Pending, chunk: Chunk, now: str) -> dict[str, Any]:
        a = doc.article
        return {
            "doc_id": a.doc_id,
            "chunk_id": coll.chunk_id(a.doc_id, chunk.index),
            "chunk_index": chunk.index,
            "chunk_count": len(doc.chunks),
            "doc_hash": doc.doc_hash,
            "text": chunk.text,
            "char_start": chunk.char_start,
            "char_end": chunk.char_end,
            "tokens": chunk.tokens,
            "title": a.title,
            "url": a.url,
            "source": a.source,
            "author": a.author,
            "published_at": a.published_at,
            "metadata": a.metadata,
            "origin": a.origin,
            "indexed_at": now,
        }

    # --- other operations ---------------------------------------------------------------------------------
    def delete(self, doc_ids: list[str]) -> dict[str, int]:
        """Remove documents; returns the number of chunks removed per id (0 where the id was unknown)."""
        removed: dict[str, int] = {}
        if not self.client.collection_exists(self.collection):
            return dict.fromkeys(doc_ids, 0)
        for doc_id in doc_ids:
            flt = coll.doc_filter([doc_id])
            removed[doc_id] = coll.count_points(self.client, self.collection, flt)
            if removed[doc_id]:
                self.client.delete(self.collection, points_selector=models.FilterSelector(filter=flt), wait=True)
                coll.bump_generation(self.client, self.collection)
        return removed

    def stats(self) -> dict[str, Any]:
        if not self.client.collection_exists(self.collection):
            return {"collection": self.collection, "exists": False, "documents": 0, "chunks": 0,
                    "location": self.settings.location()}
        state = coll.scan_documents(self.client, self.collection)
        return {
            "collection": self.collection,
            "exists": True,
            "location": self.settings.location(),
            "documents": len(state),
            "chunks": sum(len(s.point_ids) for s in state.values()),
            "incomplete_documents": sorted(d for d, s in state.items() if len(s.hashes) != 1
                                           or len(s.point_ids) != s.chunk_count),
            "config": coll.collection_config(self.client, self.collection),
            "settings": {
                "embed_model": self.settings.embed_model,
                "embed_backend": self.settings.embed_backend,
                "chunk_tokens": self.settings.chunk_tokens,
                "chunk_overlap": self.settings.chunk_overlap,
            },
        }

    def reset(self) -> bool:
        """Drop the collection; returns whether there was one."""
        if self.client.collection_exists(self.collection):
            self.client.delete_collection(self.collection)
            coll.bump_generation(self.client, self.collection)
            return True
        return False

    def close(self) -> None:
        self.client.close()


def _chain(first: list[Article | Skipped], rest: Iterable[Article | Skipped]) -> Iterable[Article | Skipped]:
    yield from first
    yield from rest
