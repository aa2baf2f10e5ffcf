"""The one mapper between Newsdesk's objects and Qdrant points: chunk -> point, point -> hit, points -> document.

Every payload key is named here and nowhere else (``indexer.collection`` builds its indexes and filters from
these constants). A stored point::

    id:       uuid5(POINT_NAMESPACE, "{doc_id}#{chunk_index}")  (deterministic: re-ingest overwrites in place)
    vectors:  "dense"  normalised sentence-transformers embedding of (title + chunk)
              "bm25"   project-computed BM25 term weights; Qdrant applies IDF
    payload:  doc_id, chunk_id, chunk_index, chunk_count, doc_hash, text (exactly article_text[char_start:char_end]),
              char_start, char_end, tokens, title, url, source, author, published_at (RFC 3339 UTC), metadata,
              origin, source_file (resolved path of the file read; "" for the API), indexed_at,
              sentence_spans ([start, end] of each sentence of ``text``, ``indexer.sentences.split_sentences``),
              sentence_vectors (base64 of the sentences' normalised embeddings, float16, row-major)

Sentence vectors live in the payload rather than as a Qdrant multivector: in embedded (local) mode a 384-wide
multivector of ~10 rows per chunk costs 4x the RAM (float64 after a reload) and 4x the load time of the same
vectors as float16 bytes (3,000 chunks: +626 MB and 15 s vs +142 MB and 3.4 s), and nothing searches them.
Points written before they existed simply lack both keys (:func:`sentences_from_payload` gives None).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from indexer.articles import Article
from indexer.chunking import Chunk
from indexer.sparse import SparseVec

DENSE = "dense"
SPARSE = "bm25"
POINT_NAMESPACE = uuid.UUID("5b0c8a0e-6f2e-4f8e-9a61-6e65777364b3")

DOC_ID = "doc_id"
CHUNK_ID = "chunk_id"
CHUNK_INDEX = "chunk_index"
CHUNK_COUNT = "chunk_count"
DOC_HASH = "doc_hash"
TEXT = "text"
CHAR_START = "char_start"
CHAR_END = "char_end"
TOKENS = "tokens"
TITLE = "title"
URL = "url"
SOURCE = "source"
AUTHOR = "author"
PUBLISHED_AT = "published_at"
METADATA = "metadata"
ORIGIN = "origin"
SOURCE_FILE = "source_file"
INDEXED_AT = "indexed_at"
SENTENCE_SPANS = "sentence_spans"
SENTENCE_VECTORS = "sentence_vectors"

KEYWORD_FIELDS = (DOC_ID, SOURCE, ORIGIN, DOC_HASH)
DATETIME_FIELDS = (PUBLISHED_AT,)
INTEGER_FIELDS = (CHUNK_INDEX,)
STATE_FIELDS = [DOC_ID, DOC_HASH, CHUNK_INDEX, CHUNK_COUNT, ORIGIN, SOURCE_FILE, PUBLISHED_AT]
"""Payload read when deciding whether a document is unchanged (no text, no vectors)."""
HIT_FIELDS = [DOC_ID, CHUNK_ID, CHUNK_INDEX, TEXT, CHAR_START, CHAR_END, TITLE, URL, SOURCE, PUBLISHED_AT]
SENTENCE_FIELDS = [SENTENCE_SPANS, SENTENCE_VECTORS]
"""Read at ask time for the retrieved chunks only (:func:`sentences_from_payload`)."""
DOCUMENT_EXCLUDE = [TEXT, SENTENCE_SPANS, SENTENCE_VECTORS]
"""A document summary reads every field of one chunk but its text and sentence vectors."""


def point_id(doc_id: str, chunk_index: int) -> str:
    return str(uuid.uuid5(POINT_NAMESPACE, f"{doc_id}#{chunk_index}"))


def chunk_id(doc_id: str, chunk_index: int) -> str:
    return f"{doc_id}#{chunk_index}"


def point_id_of_chunk(chunk_id_: str) -> str:
    """The point id of a chunk id (``chunk_id(d, i)`` -> ``point_id(d, i)``), e.g. for a :class:`Hit`."""
    return str(uuid.uuid5(POINT_NAMESPACE, chunk_id_))


# --- sentence vectors ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SentenceVectors:
    """The sentences of one chunk (spans in the chunk's text) and their normalised embeddings, row i = span i."""

    spans: list[tuple[int, int]]
    vectors: np.ndarray
    """float32, shape (len(spans), dim)."""

    def by_span(self) -> dict[tuple[int, int], np.ndarray]:
        return {span: self.vectors[i] for i, span in enumerate(self.spans)}


def sentence_payload(spans: Sequence[tuple[int, int]], vectors: np.ndarray) -> dict[str, Any]:
    """The payload fields holding a chunk's sentence spans and vectors (float16: cosines move < 1e-3)."""
    if len(spans) != len(vectors):
        raise ValueError(f"{len(spans)} sentence spans but {len(vectors)} vectors")
    data = np.ascontiguousarray(vectors, dtype=np.float16).tobytes()
    return {SENTENCE_SPANS: [[int(a), int(b)] for a, b in spans],
            SENTENCE_VECTORS: base64.b64encode(data).decode("ascii")}


def sentences_from_payload(payload: Mapping[str, Any] | None) -> SentenceVectors | None:
    """The stored sentence vectors of a point; None when it was written without them (or they are unreadable)."""
    p = payload or {}
    spans, encoded = p.get(SENTENCE_SPANS), p.get(SENTENCE_VECTORS)
    if not isinstance(spans, list) or not isinstance(encoded, str):
        return None
    flat = np.frombuffer(base64.b64decode(encoded), dtype=np.float16)
    if not spans or flat.size % len(spans):
        return None
    return SentenceVectors([(int(a), int(b)) for a, b in spans],
                           flat.reshape(len(spans), -1).astype(np.float32))


# --- chunk -> point -----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PointData:
    """One point to write: deterministic id, the two named vectors and the payload (each store backend
    converts it to its engine's point)."""

    id: str
    dense: list[float]
    sparse: SparseVec
    payload: dict[str, Any]


def chunk_point(
    article: Article, chunk: Chunk, chunk_count: int, doc_hash: str, indexed_at: str,
    dense: Sequence[float], sparse_indices: list[int], sparse_values: list[float],
    sentences: Mapping[str, Any] | None = None,
) -> PointData:
    """``sentences``: the :func:`sentence_payload` of the chunk (None: a point without sentence vectors)."""
    payload: dict[str, Any] = {
        DOC_ID: article.doc_id,
        CHUNK_ID: chunk_id(article.doc_id, chunk.index),
        CHUNK_INDEX: chunk.index,
        CHUNK_COUNT: chunk_count,
        DOC_HASH: doc_hash,
        TEXT: chunk.text,
        CHAR_START: chunk.char_start,
        CHAR_END: chunk.char_end,
        TOKENS: chunk.tokens,
        TITLE: article.title,
        URL: article.url,
        SOURCE: article.source,
        AUTHOR: article.author,
        PUBLISHED_AT: article.published_at,
        METADATA: article.metadata,
        ORIGIN: article.origin,
        SOURCE_FILE: article.source_file,
        INDEXED_AT: indexed_at,
        **(sentences or {}),
    }
    return PointData(point_id(article.doc_id, chunk.index), [float(x) for x in dense],
                     SparseVec(list(sparse_indices), list(sparse_values)), payload)


# --- point -> hit -------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Hit:
    """One retrieved chunk: where it sits in its article, the article's metadata, and its scores."""

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
    dense_score: float | None = None
    """The chunk's cosine with the query, when the dense side saw it (the composer pre-ranks by it)."""
    sentences: SentenceVectors | None = None
    """The chunk's stored sentence vectors, when attached (``Retriever.attach_sentences``) and stored."""


def article_text(chunks: Iterable[Hit]) -> str:
    """The cleaned article as far as its stored chunks cover it, each at its own offset.

    Chunks overlap and hold ``article[char_start:char_end]``, so laying them at their offsets rebuilds the
    article; a gap no chunk covers (only whitespace the chunker dropped between sentences) becomes spaces of the
    same length, which keeps every citation's ``char_start``/``char_end`` valid in the result.
    """
    out: list[str] = []
    end = 0
    for c in sorted(chunks, key=lambda h: h.char_start):
        if c.char_end <= end or not c.text:
            continue
        if c.char_start > end:
            out.append(" " * (c.char_start - end))
            out.append(c.text)
        else:
            out.append(c.text[end - c.char_start:])
        end = c.char_end
    return "".join(out)


def hit_from_payload(payload: Mapping[str, Any] | None, score: float) -> Hit:
    p = payload or {}
    return Hit(
        doc_id=str(p.get(DOC_ID)),
        chunk_id=str(p.get(CHUNK_ID)),
        score=float(score),
        title=str(p.get(TITLE) or ""),
        url=p.get(URL),
        source=p.get(SOURCE),
        published_at=p.get(PUBLISHED_AT),
        text=str(p.get(TEXT) or ""),
        char_start=int(p.get(CHAR_START, 0)),
        char_end=int(p.get(CHAR_END, 0)),
    )


def doc_id_of(payload: Mapping[str, Any] | None) -> str:
    return str((payload or {}).get(DOC_ID))


# --- points -> document state and summary -------------------------------------------------------------------------
@dataclass
class DocState:
    """What the collection holds for one document: enough to decide whether re-ingesting changes anything."""

    hashes: set[str] = field(default_factory=set)
    point_ids: set[str] = field(default_factory=set)
    chunk_count: int = -1
    origin: str = ""
    source_file: str = ""
    """Empty for documents stored before payloads carried it."""
    published_at: str | None = None

    def is_complete(self, doc_hash: str) -> bool:
        return self.hashes == {doc_hash} and len(self.point_ids) == self.chunk_count

    @property
    def consistent(self) -> bool:
        return len(self.hashes) == 1 and len(self.point_ids) == self.chunk_count


def add_to_state(state: dict[str, DocState], point_id_: str, payload: Mapping[str, Any] | None) -> None:
    p = payload or {}
    doc = state.setdefault(str(p.get(DOC_ID)), DocState())
    doc.hashes.add(str(p.get(DOC_HASH)))
    doc.point_ids.add(point_id_)
    doc.chunk_count = int(p.get(CHUNK_COUNT, -1))
    doc.origin = str(p.get(ORIGIN, ""))
    doc.source_file = str(p.get(SOURCE_FILE) or "")
    doc.published_at = p.get(PUBLISHED_AT)


@dataclass(frozen=True, slots=True)
class DocumentSummary:
    doc_id: str
    title: str
    url: str | None
    source: str | None
    author: str | None
    published_at: str | None
    metadata: dict[str, Any]
    chunk_count: int
    chunks_stored: int
    doc_hash: str | None
    origin: str | None
    indexed_at: str | None


def document_from_payload(doc_id: str, payload: Mapping[str, Any] | None, chunks_stored: int) -> DocumentSummary:
    p = payload or {}
    return DocumentSummary(
        doc_id=doc_id, title=str(p.get(TITLE) or ""), url=p.get(URL), source=p.get(SOURCE), author=p.get(AUTHOR),
        published_at=p.get(PUBLISHED_AT), metadata=dict(p.get(METADATA) or {}),
        chunk_count=int(p.get(CHUNK_COUNT, 0)), chunks_stored=chunks_stored, doc_hash=p.get(DOC_HASH),
        origin=p.get(ORIGIN), indexed_at=p.get(INDEXED_AT),
    )
