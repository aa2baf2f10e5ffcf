"""The Qdrant collection layout: the one contract between the indexer (writer) and everything that reads.

One point per chunk, with two named vectors and a flat payload::

    vectors:  "dense"  float32[dim], cosine, normalised sentence-transformers embedding of (title + chunk)
              "bm25"   sparse, project-computed BM25 term weights; Qdrant applies IDF (Modifier.IDF)
    id:       uuid5(NAMESPACE, f"{doc_id}#{chunk_index}")  (deterministic: re-ingest overwrites in place)
    payload:  doc_id, chunk_id ("{doc_id}#{chunk_index}"), chunk_index, chunk_count, doc_hash,
              text (exactly article_text[char_start:char_end]), char_start, char_end, tokens,
              title, url, source, author, published_at (RFC 3339 UTC), metadata (object), origin, indexed_at

Payload indexes: doc_id, source, origin, doc_hash (keyword), published_at (datetime), chunk_index (integer).
A document is complete when it has exactly ``chunk_count`` points, all with the same ``doc_hash``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from qdrant_client import QdrantClient, models

from indexer.settings import Settings

log = logging.getLogger(__name__)

DENSE = "dense"
SPARSE = "bm25"
POINT_NAMESPACE = uuid.UUID("5b0c8a0e-6f2e-4f8e-9a61-6e65777364b3")
KEYWORD_FIELDS = ("doc_id", "source", "origin", "doc_hash")
STATE_FIELDS = ["doc_id", "doc_hash", "chunk_index", "chunk_count", "origin"]


class StoreLockedError(RuntimeError):
    """The embedded store is held by another process (local mode admits one at a time)."""


class CollectionMismatchError(RuntimeError):
    """The existing collection was built with a different vector size than the current model."""


class CollectionMissingError(RuntimeError):
    """Nothing has been indexed into the configured collection yet."""


def point_id(doc_id: str, chunk_index: int) -> str:
    return str(uuid.uuid5(POINT_NAMESPACE, f"{doc_id}#{chunk_index}"))


def chunk_id(doc_id: str, chunk_index: int) -> str:
    return f"{doc_id}#{chunk_index}"


def open_client(settings: Settings) -> QdrantClient:
    """A client for the configured location: a server URL if set, else the embedded store at ``qdrant_path``."""
    if settings.qdrant_url:
        return QdrantClient(
            url=settings.qdrant_url,
            api_key=settings.qdrant_api_key,
            timeout=int(settings.qdrant_timeout_s),
            check_compatibility=settings.qdrant_check_compatibility,
        )
    path = settings.qdrant_path
    path.mkdir(parents=True, exist_ok=True)
    try:
        client = QdrantClient(path=str(path))
    except RuntimeError as exc:
        if "already accessed" in str(exc):
            raise StoreLockedError(
                f"the embedded Qdrant store at {path} is in use by another process (local mode admits one "
                "process at a time; a running `python -m service` holds it). Either stop that process, or send "
                "articles through the running service (POST /v1/documents), or run a Qdrant server and set "
                "NEWSDESK_QDRANT_URL."
            ) from exc
        raise
    _tune_local_storage(client)
    return client


def _tune_local_storage(client: QdrantClient) -> None:
    """Local mode commits every point in its own SQLite transaction; WAL + synchronous=NORMAL makes those
    commits ~5x cheaper while each stays atomic (a killed process loses no committed point)."""
    local = getattr(client, "_client", None)
    for collection in getattr(local, "collections", {}).values():
        _tune_sqlite(collection)


def _tune_sqlite(collection: Any) -> None:
    conn = getattr(getattr(collection, "storage", None), "storage", None)
    if conn is None:
        return
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    except Exception:  # pragma: no cover - a qdrant-client change; correctness does not depend on it
        log.debug("could not tune the local store", exc_info=True)


_WRITE_GENERATIONS: dict[tuple[int, str], int] = {}


def _store_key(client: QdrantClient, collection: str) -> tuple[int, str]:
    return (id(getattr(client, "_client", client)), collection)


def bump_generation(client: QdrantClient, collection: str) -> None:
    """Record that this process changed ``collection``; in-process caches of it (see
    ``service.local_index``) rebuild on their next use. Only meaningful for the embedded store, which no
    other process can write while this one holds it."""
    key = _store_key(client, collection)
    _WRITE_GENERATIONS[key] = _WRITE_GENERATIONS.get(key, 0) + 1


def write_generation(client: QdrantClient, collection: str) -> int:
    return _WRITE_GENERATIONS.get(_store_key(client, collection), 0)


def is_local(client: QdrantClient) -> bool:
    return type(getattr(client, "_client", None)).__name__ == "QdrantLocal"


def ensure_collection(client: QdrantClient, settings: Settings, dim: int) -> None:
    """Create the collection and its payload indexes if missing; check the vector size if present."""
    name = settings.collection
    if client.collection_exists(name):
        info = client.get_collection(name)
        vectors = info.config.params.vectors
        size = vectors[DENSE].size if isinstance(vectors, dict) and DENSE in vectors else None
        if size != dim:
            raise CollectionMismatchError(
                f"collection {name!r} holds {size}-dimensional vectors but the model gives {dim}; "
                f"run `python -m indexer reset` or set NEWSDESK_COLLECTION to a new name"
            )
        return
    client.create_collection(
        name,
        vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
        sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        shard_number=settings.shard_number,
        replication_factor=settings.replication_factor,
        write_consistency_factor=settings.write_consistency_factor,
        on_disk_payload=settings.on_disk_payload,
        hnsw_config=models.HnswConfigDiff(m=settings.hnsw_m, ef_construct=settings.hnsw_ef_construct),
    )
    if is_local(client):
        # local mode filters by scanning and ignores payload indexes (it warns if asked to make them)
        _tune_sqlite(client._client.collections[name])  # type: ignore[attr-defined]
        return
    for field_name in KEYWORD_FIELDS:
        client.create_payload_index(name, field_name, models.PayloadSchemaType.KEYWORD, wait=True)
    client.create_payload_index(name, "published_at", models.PayloadSchemaType.DATETIME, wait=True)
    client.create_payload_index(name, "chunk_index", models.PayloadSchemaType.INTEGER, wait=True)


@dataclass
class DocState:
    """What the collection holds for one document: enough to decide whether re-ingesting changes anything."""

    hashes: set[str] = field(default_factory=set)
    point_ids: set[str] = field(default_factory=set)
    chunk_count: int = -1
    origin: str = ""

    def is_complete(self, doc_hash: str) -> bool:
        return self.hashes == {doc_hash} and len(self.point_ids) == self.chunk_count


def scan_documents(
    client: QdrantClient, collection: str, doc_ids: list[str] | None = None, batch: int = 1024
) -> dict[str, DocState]:
    """One pass over the bookkeeping fields (no vectors) of every point, or of the given documents' points."""
    state: dict[str, DocState] = {}
    if not client.collection_exists(collection) or doc_ids == []:
        return state
    flt = doc_filter(doc_ids) if doc_ids is not None else None
    offset = None
    while True:
        points, offset = client.scroll(
            collection, scroll_filter=flt, limit=batch, offset=offset, with_payload=STATE_FIELDS,
            with_vectors=False,
        )
        for p in points:
            payload = p.payload or {}
            doc = state.setdefault(str(payload.get("doc_id")), DocState())
            doc.hashes.add(str(payload.get("doc_hash")))
            doc.point_ids.add(str(p.id))
            doc.chunk_count = int(payload.get("chunk_count", -1))
            doc.origin = str(payload.get("origin", ""))
        if offset is None:
            return state


def delete_points(client: QdrantClient, collection: str, ids: Iterable[str]) -> None:
    ids = list(ids)
    for i in range(0, len(ids), 1000):
        client.delete(collection, points_selector=models.PointIdsList(points=ids[i : i + 1000]), wait=True)
    bump_generation(client, collection)


def doc_filter(doc_ids: list[str]) -> models.Filter:
    return models.Filter(must=[models.FieldCondition(key="doc_id", match=models.MatchAny(any=doc_ids))])


def build_filter(
    source: list[str] | None = None,
    doc_id: list[str] | None = None,
    published_after: date | str | None = None,
    published_before: date | str | None = None,
) -> models.Filter | None:
    """The query-side filter over the payload indexes above (None when nothing is filtered)."""
    must: list[models.Condition] = []
    if source:
        must.append(models.FieldCondition(key="source", match=models.MatchAny(any=list(source))))
    if doc_id:
        must.append(models.FieldCondition(key="doc_id", match=models.MatchAny(any=list(doc_id))))
    if published_after or published_before:
        must.append(
            models.FieldCondition(
                key="published_at",
                range=models.DatetimeRange(
                    gte=_as_datetime_str(published_after, end_of_day=False) if published_after else None,
                    lte=_as_datetime_str(published_before, end_of_day=True) if published_before else None,
                ),
            )
        )
    return models.Filter(must=must) if must else None


def _as_datetime_str(value: date | str, end_of_day: bool) -> str:
    if isinstance(value, str):
        return value
    if hasattr(value, "hour"):
        return value.isoformat()
    return f"{value.isoformat()}T{'23:59:59' if end_of_day else '00:00:00'}Z"


def count_points(client: QdrantClient, collection: str, flt: models.Filter | None = None) -> int:
    return client.count(collection, count_filter=flt, exact=True).count


def collection_config(client: QdrantClient, collection: str) -> dict[str, Any]:
    info = client.get_collection(collection)
    vectors = info.config.params.vectors
    dense = vectors[DENSE] if isinstance(vectors, dict) else None
    return {
        "name": collection,
        "status": str(info.status.value if hasattr(info.status, "value") else info.status),
        "dense": {"size": dense.size, "distance": str(dense.distance.value)} if dense else None,
        "sparse": {SPARSE: {"modifier": "idf"}},
        "shard_number": info.config.params.shard_number,
        "replication_factor": info.config.params.replication_factor,
        "payload_indexes": sorted((info.payload_schema or {}).keys()),
    }
