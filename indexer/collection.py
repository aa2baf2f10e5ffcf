"""The store: one interface (:class:`Store`) over the chunk collection, in Newsdesk's own types, and the factory
that picks its backend from the settings.

* ``NEWSDESK_QDRANT_URL`` set: :class:`indexer.backends.server.ServerStore`, qdrant-client against a Qdrant
  server or cluster;
* otherwise the embedded default, :class:`indexer.backends.edge.EdgeStore`: Qdrant Edge, the Qdrant engine
  in-process (HNSW, BM25 with IDF, payload indexes, fusion and formulas), one shard directory per collection
  under ``NEWSDESK_QDRANT_PATH``, one process at a time.

Callers speak :class:`SearchFilters`, :class:`PointData`, :class:`Candidate`, :class:`RecencyRequest` and the
fusion names; each backend converts them to its engine's models in its own converters module, and nothing
outside ``indexer/backends`` imports an engine's models.

A document is complete when it has exactly ``chunk_count`` points, all with the same ``doc_hash`` (the payload
and its keys: :mod:`indexer.payload`). The store counts its own writes (``generation``) for in-process caches.

The name a store is given may be an *alias* (``python -m indexer rebuild`` makes the configured name an alias of
``<name>__<timestamp>``): reads and writes through an alias reach its collection. Only dropping needs the real
name, so ``drop`` resolves it first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal, Protocol

from indexer.payload import PUBLISHED_AT, DocState, DocumentSummary, Hit, PointData, SentenceVectors
from indexer.settings import IndexerSettings
from indexer.sparse import SparseVec

EngineFusion = Literal["rrf", "dbsf"]
"""Fusions that run inside the engine (prefetch + fusion query)."""
__all__ = ["PointData"]  # re-exported: the mapper (indexer.payload) builds them


class StoreLockedError(RuntimeError):
    """The embedded store is held by another process (one process at a time)."""


class CollectionMismatchError(RuntimeError):
    """The existing collection was built with a different vector size than the current model."""


class LocalModeStoreError(RuntimeError):
    """The embedded folder was written by qdrant-client's local mode (before Qdrant Edge): migrate it first."""


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """What a search is restricted to (every field optional; dates are inclusive days)."""

    source: Sequence[str] | None = None
    doc_id: Sequence[str] | None = None
    published_after: date | datetime | str | None = None
    published_before: date | datetime | str | None = None

    @property
    def empty(self) -> bool:
        return not (self.source or self.doc_id or self.published_after or self.published_before)


@dataclass(frozen=True, slots=True)
class StoredPoint:
    """One point read back (vectors only when asked for)."""

    id: str
    payload: dict[str, Any]
    dense: list[float] | None = None
    sparse: SparseVec | None = None


@dataclass(slots=True)
class Candidate:
    """One scored point from a search; ``payload`` is None when it was not read."""

    id: str
    score: float
    payload: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RecencyRequest:
    """Re-rank fused candidates by age inside the engine: ``score * (1 - weight + weight * d)`` with
    ``d = 0.5 ** (age / half_life)`` (1.0 for an article newer than ``anchor``; an undated article is one
    half-life old). The arithmetic and its Python twin: :mod:`service.retrieval.recency`."""

    anchor: datetime
    half_life: timedelta
    weight: float
    date_key: str = PUBLISHED_AT

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"weight must be within 0..1, got {self.weight}")
        if self.half_life <= timedelta(0):
            raise ValueError("half_life must be positive")


@dataclass(slots=True)
class OptimizeReport:
    """What ``optimize()`` did: whether segments changed, and how long it blocked."""

    changed: bool = False
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


class Store(Protocol):
    """One collection in one location (an embedded folder or a server), in Newsdesk's types."""

    collection: str
    generation: int
    """Writes made through this store; read by in-process caches of the collection."""

    @property
    def embedded(self) -> bool:
        """True for the in-process store (one process at a time), False for a server."""
        ...

    def with_collection(self, collection: str) -> Store: ...
    def close(self) -> None: ...

    # layout
    def exists(self) -> bool: ...
    def ensure(self, settings: IndexerSettings, dim: int) -> None: ...
    def drop(self) -> bool: ...
    def aliases(self) -> dict[str, str]: ...
    def collection_names(self) -> list[str]: ...
    def resolve(self) -> str | None: ...
    def point_alias(self, target: str, replace_collection: bool = False) -> None: ...
    def config(self) -> dict[str, Any]: ...
    def optimize(self) -> OptimizeReport: ...

    # writes
    def upsert(self, points: list[PointData], batch: int) -> None: ...
    def delete_ids(self, ids: Iterable[str]) -> None: ...
    def set_payload(self, ids: list[str], payload: dict[str, Any]) -> None: ...
    def delete_payload(self, keys: list[str], ids: list[str] | None = None) -> None: ...
    def set_source_file(self, ids: list[str], source_file: str) -> None: ...
    def delete_document(self, doc_id: str) -> int: ...

    # reads
    def count(self) -> int: ...
    def scan_documents(self, doc_ids: list[str] | None = None, batch: int = 1024) -> dict[str, DocState]: ...
    def document(self, doc_id: str) -> DocumentSummary | None: ...
    def document_chunks(self, doc_id: str, batch: int = 256) -> list[Hit]: ...
    def query(self, vector: list[float] | SparseVec, using: str, limit: int,
              filters: SearchFilters | None) -> list[Candidate]: ...
    def query_both(self, dense: list[float], sparse: SparseVec, limit: int,
                   filters: SearchFilters | None) -> tuple[list[Candidate], list[Candidate]]: ...
    def query_fused(self, dense: list[float], sparse: SparseVec, prefetch_limit: int, limit: int,
                    filters: SearchFilters | None, fusion: EngineFusion,
                    recency: RecencyRequest | None = None) -> list[Candidate]: ...
    def payloads(self, ids: list[str]) -> dict[str, dict[str, Any]]: ...
    def sentence_vectors(self, ids: list[str]) -> dict[str, SentenceVectors]: ...
    def count_without_sentence_vectors(self) -> int: ...
    def scan_points(self, with_vectors: bool = True, batch: int = 512) -> Iterator[StoredPoint]: ...
    def scan_hits(self, batch: int = 1024) -> Iterator[tuple[Hit, list[float]]]: ...


def open_store(settings: IndexerSettings) -> Store:
    """The configured location: a server if ``qdrant_url`` is set, else the embedded Edge store at
    ``qdrant_path``. Raises StoreLockedError (held by another process) or LocalModeStoreError (a folder written
    by qdrant-client's local mode: ``python -m indexer migrate``) with a one-line message."""
    if settings.qdrant_url:
        from indexer.backends.server import ServerStore

        return ServerStore.open(settings)
    from indexer.backends.edge import EdgeStore

    return EdgeStore.open(settings)


def as_datetime_str(value: date | datetime | str, end_of_day: bool) -> str:
    """A filter bound as RFC 3339: a day is its first (or last) second in UTC."""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return f"{value.isoformat()}T{'23:59:59' if end_of_day else '00:00:00'}Z"
