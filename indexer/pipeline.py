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
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from indexer import payload as pl
from indexer.articles import Article, InputError, article_from_record, record_id
from indexer.chunking import Chunk, Chunker, build_chunker
from indexer.collection import Store, open_store
from indexer.embedding import Embedder
from indexer.readers import Skipped, discover, read_sources
from indexer.sentences import sentence_text, split_sentences
from indexer.settings import IndexerSettings
from indexer.sparse import SparseEncoder

log = logging.getLogger(__name__)

Status = Literal["indexed", "replaced", "unchanged", "skipped", "deleted", "kept"]
"""``kept``: ``--prune`` would have deleted it, but its file has input whose id could not be read."""


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
    """One per input item, in input order (then the documents deleted by ``--prune``)."""
    seconds: float = 0.0
    embed_seconds: float = 0.0
    """Chunk and sentence embedding together."""
    sentence_seconds: float = 0.0
    """Of ``embed_seconds``, the sentence vectors (stored for the answer composer)."""
    sentences_embedded: int = 0
    upsert_seconds: float = 0.0
    optimize_seconds: float = 0.0
    """The store's ``optimize()`` after the run (Edge builds its HNSW graph and merges segments then)."""

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
            "kept": self.count("kept"),
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
    previous: pl.DocState | None
    result: DocResult
    """The report's entry for this document, filled in when its batch is written."""


ProgressHook = Callable[[int, int], None]
"""Called with (documents done, chunks written) after every flushed batch."""


class Indexer:
    """Owns the write side of the collection. Not thread-safe: callers serialise writes (the service holds a
    write lock), because the replace/unchanged decision reads state that a concurrent write could change."""

    def __init__(
        self, settings: IndexerSettings, store: Store | None = None, embedder: Embedder | None = None
    ) -> None:
        self.settings = settings
        self.store = store if store is not None else open_store(settings)
        self._embedder = embedder
        self._checked = False
        self._chunker: Chunker | None = None
        self.sparse = SparseEncoder(settings.bm25_k1, settings.bm25_b, settings.sparse_avg_doc_tokens)
        self.pipeline_key = settings.pipeline_key()

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = Embedder(self.settings)
        return self._embedder

    @property
    def chunker(self) -> Chunker:
        """Built on first use: bounded by the embedding model's window, which a hub-named model only reveals
        once loaded."""
        if self._chunker is None:
            self._chunker = build_chunker(self.settings, lambda: self.embedder.model)
        return self._chunker

    def embed_prefix(self, article: Article) -> str:
        """What each chunk of ``article`` is prefixed with for embedding (the chunker budgets for it)."""
        return f"{article.title}\n" if self.settings.embed_title and article.title else ""

    @property
    def collection(self) -> str:
        return self.store.collection

    def ensure_collection(self) -> None:
        self.store.ensure(self.settings, self.embedder.dim)
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

    def ingest_records(self, records: list[Any], origin: str) -> IngestReport:
        """Records in the JSONL/API shape; the report has one result per record, in the records' order."""
        items: list[Article | Skipped] = []
        for i, record in enumerate(records):
            try:
                items.append(article_from_record(record, origin))
            except InputError as exc:
                items.append(Skipped(f"record {i}", str(exc), record_id(record)))
        return self.ingest(items)

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
        if not self.store.exists():
            self.ensure_collection()
        # a known, small batch (the HTTP API) only needs its own documents' state, not the whole collection's
        scope = None
        if isinstance(items, list) and prune_origins is None:
            scope = [i.doc_id for i in items if isinstance(i, Article)]
        state = self.store.scan_documents(scope)
        seen: set[str] = set()
        skipped_ids: set[str] = set()  # safe from --prune, but not a reason to refuse a later good record
        unreadable: set[str] = set()  # files with input whose id is unknown: all their documents are kept
        backfill: dict[str, list[str]] = {}  # source_file -> points of unchanged documents that lack it
        pending: list[_Pending] = []
        pending_chunks = 0
        flush_at = max(self.settings.embed_batch_size * 4, 64)

        for item in items:
            if isinstance(item, Skipped):
                report.results.append(DocResult(item.doc_id, "skipped", error=item.reason, location=item.location))
                if item.doc_id:
                    skipped_ids.add(item.doc_id)
                elif item.source_file:
                    unreadable.add(item.source_file)
                continue
            if item.doc_id in seen:
                report.results.append(DocResult(item.doc_id, "skipped", error="duplicate document id in this run"))
                continue
            seen.add(item.doc_id)
            doc_hash = item.content_hash(self.pipeline_key)
            previous = state.get(item.doc_id)
            if previous is not None and previous.is_complete(doc_hash):
                report.results.append(DocResult(item.doc_id, "unchanged", previous.chunk_count))
                if previous.source_file != item.source_file:  # stored before payloads had it, or moved
                    backfill.setdefault(item.source_file, []).extend(previous.point_ids)
                continue
            chunks = self.chunker.chunk(item.text, self.embed_prefix(item))
            result = DocResult(item.doc_id, "replaced" if previous else "indexed", len(chunks))
            report.results.append(result)
            pending.append(_Pending(item, doc_hash, chunks, previous, result))
            pending_chunks += len(chunks)
            if pending_chunks >= flush_at:
                self._flush(pending, report)
                pending, pending_chunks = [], 0
                if progress:
                    progress(len(report.results), report.chunks_written)
        if pending:
            self._flush(pending, report)
        for source_file, ids in backfill.items():
            self.store.set_source_file(ids, source_file)
        if prune_origins is not None:
            stale = [d for d, s in state.items()
                     if s.origin in prune_origins and d not in seen and d not in skipped_ids]
            for doc_id in stale:
                doc = state[doc_id]
                holder = _unreadable_holder(doc, unreadable)
                if holder is not None:
                    report.results.append(DocResult(
                        doc_id, "kept", len(doc.point_ids),
                        error=f"not pruned: {holder} has input that could not be read; fix it and run again",
                    ))
                    continue
                self.store.delete_ids(doc.point_ids)
                report.results.append(DocResult(doc_id, "deleted", len(doc.point_ids)))
        if report.chunks_written or any(r.status == "deleted" for r in report.results):
            report.optimize_seconds = self.store.optimize().seconds
        if progress:
            progress(len(report.results), report.chunks_written)
        report.seconds = time.perf_counter() - started
        return report

    def _flush(self, batch: list[_Pending], report: IngestReport) -> None:
        if not self._checked:
            self.ensure_collection()
        texts: list[str] = []
        for doc in batch:
            prefix = self.embed_prefix(doc.article)
            texts.extend(prefix + c.text for c in doc.chunks)
        t0 = time.perf_counter()
        dense = self.embedder.encode(texts)
        report.embed_seconds += time.perf_counter() - t0
        t0 = time.perf_counter()
        sentences = self._sentence_payloads([c for doc in batch for c in doc.chunks], report)
        report.sentence_seconds += time.perf_counter() - t0
        report.embed_seconds += time.perf_counter() - t0
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        points = []
        row = 0
        for doc in batch:
            for chunk in doc.chunks:
                sparse = self.sparse.encode_document(texts[row])
                points.append(pl.chunk_point(doc.article, chunk, len(doc.chunks), doc.doc_hash, now,
                                             dense[row].tolist(), sparse.indices, sparse.values, sentences[row]))
                row += 1
        t0 = time.perf_counter()
        self.store.upsert(points, self.settings.upsert_batch_size)
        for doc in batch:
            if doc.previous is not None:
                keep = {pl.point_id(doc.article.doc_id, c.index) for c in doc.chunks}
                self.store.delete_ids(doc.previous.point_ids - keep)
        report.upsert_seconds += time.perf_counter() - t0

    def _sentence_payloads(self, chunks: list[Chunk], report: IngestReport) -> list[dict[str, Any]]:
        """Each chunk's sentence spans and vectors (payload fields), so that the answer composer scores sentences
        without embedding them per request. A sentence is embedded as ``sentence_text`` (exactly what the
        composer would embed), once per distinct text in the batch (chunks overlap)."""
        spans = [split_sentences(c.text) for c in chunks]
        texts = [[sentence_text(c.text, s) for s in chunk_spans] for c, chunk_spans in zip(chunks, spans, strict=True)]
        distinct = list(dict.fromkeys(t for chunk_texts in texts for t in chunk_texts))
        vectors = self.embedder.encode(distinct)
        report.sentences_embedded += len(distinct)
        row = {t: i for i, t in enumerate(distinct)}
        return [pl.sentence_payload([(s.start, s.end) for s in chunk_spans], vectors[[row[t] for t in chunk_texts]])
                for chunk_spans, chunk_texts in zip(spans, texts, strict=True)]

    # --- other operations ---------------------------------------------------------------------------------
    def delete(self, doc_ids: list[str]) -> dict[str, int]:
        """Remove documents; returns the number of chunks removed per id (0 where the id was unknown)."""
        if not self.store.exists():
            return dict.fromkeys(doc_ids, 0)
        return {doc_id: self.store.delete_document(doc_id) for doc_id in doc_ids}

    def stats(self) -> dict[str, Any]:
        if not self.store.exists():
            return {"collection": self.collection, "exists": False, "documents": 0, "chunks": 0,
                    "location": self.settings.location()}
        state = self.store.scan_documents()
        without = self.store.count_without_sentence_vectors()
        hint = ({"hint": f"{without} chunks were indexed before sentence vectors were stored: /v1/ask embeds "
                         "their sentences per request; re-index them (python -m indexer rebuild PATH...) to "
                         "make asks faster"} if without else {})
        return {
            "collection": self.collection,
            "exists": True,
            "location": self.settings.location(),
            "documents": len(state),
            "chunks": sum(len(s.point_ids) for s in state.values()),
            "chunks_without_sentence_vectors": without,
            **hint,
            "documents_without_date": sum(1 for s in state.values() if not s.published_at),
            "incomplete_documents": sorted(d for d, s in state.items() if not s.consistent),
            "config": self.store.config(),
            "settings": {
                "embed_model": self.settings.embed_model,
                "embed_backend": self.settings.embed_backend,
                "embed_precision": self.settings.effective_precision(),
                "chunk_tokens": self.settings.chunk_tokens,
                "chunk_overlap": self.settings.chunk_overlap,
            },
        }

    def reset(self) -> bool:
        """Drop the collection; returns whether there was one."""
        return self.store.drop()

    def close(self) -> None:
        self.store.close()


def _unreadable_holder(doc: pl.DocState, unreadable: set[str]) -> str | None:
    """The unreadable file that may hold ``doc``: its own file, or, for a document stored before payloads named
    their file, any unreadable file under its origin."""
    if doc.source_file:
        return doc.source_file if doc.source_file in unreadable else None
    prefix = doc.origin.rstrip(os.sep) + os.sep
    return next((f for f in sorted(unreadable) if f == doc.origin or f.startswith(prefix)), None)


def _chain(first: list[Article | Skipped], rest: Iterable[Article | Skipped]) -> Iterable[Article | Skipped]:
    yield from first
    yield from rest

