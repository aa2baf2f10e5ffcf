"""The Qdrant collection: its layout (two named vectors, payload indexes) and :class:`Store`, the one object
through which the indexer writes and the service reads it.

A document is complete when it has exactly ``chunk_count`` points, all with the same ``doc_hash`` (the payload
and its keys: :mod:`indexer.payload`).

:class:`Store` wraps one ``QdrantClient`` with the operations Newsdesk needs. In embedded mode (qdrant-client's
local mode: plain Python structures and one SQLite connection, one process at a time) every call holds the
store's lock, because Litestar runs handlers in a thread pool; a server client is thread-safe and takes no lock.
The store counts its own writes (``generation``), so in-process caches of the collection (the service's
in-memory index) know when to rebuild; in embedded mode no other process can write meanwhile.

The name a Store is given may be a Qdrant *alias* (``python -m indexer rebuild`` makes the configured name an
alias of ``<name>__<timestamp>``): reads and writes through an alias reach its collection, and
``collection_exists`` is true for it, in embedded mode as on a server. Only dropping needs the real name
(``delete_collection`` of an alias deletes nothing), so :meth:`Store.drop` resolves it first.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from qdrant_client import QdrantClient, models

from indexer import payload as pl
from indexer.payload import DENSE, SPARSE, DocState, DocumentSummary, Hit, SentenceVectors
from indexer.settings import IndexerSettings

log = logging.getLogger(__name__)


class StoreLockedError(RuntimeError):
    """The embedded store is held by another process (local mode admits one at a time)."""


class CollectionMismatchError(RuntimeError):
    """The existing collection was built with a different vector size than the current model."""


class Store:
    """One collection in one Qdrant location (embedded folder or server)."""

    def __init__(self, client: QdrantClient, collection: str, embedded: bool) -> None:
        self.client = client
        self.collection = collection
        self.embedded = embedded
        self._lock: contextlib.AbstractContextManager[Any] = threading.RLock() if embedded else contextlib.nullcontext()
        self.generation = 0
        """Writes made through this store; read by in-process caches of the collection."""

    @classmethod
    def open(cls, settings: IndexerSettings) -> Store:
        """The configured location: a server URL if set, else the embedded store at ``qdrant_path``."""
        if settings.qdrant_url:
            client = QdrantClient(
                url=settings.qdrant_url, api_key=settings.qdrant_api_key, timeout=int(settings.qdrant_timeout_s),
                check_compatibility=settings.qdrant_check_compatibility,
                prefer_grpc=settings.qdrant_prefer_grpc, grpc_port=settings.qdrant_grpc_port,
            )
            return cls(client, settings.collection, embedded=False)
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
        store = cls(client, settings.collection, embedded=True)
        for name in store._local_collections():
            _tune_sqlite(store._local_collection(name))
        return store

    def with_collection(self, collection: str) -> Store:
        """The same client (and lock) over another collection."""
        other = Store(self.client, collection, self.embedded)
        other._lock = self._lock
        return other

    def close(self) -> None:
        with self._lock, contextlib.suppress(Exception):
            self.client.close()

    # --- layout -------------------------------------------------------------------------------------------------
    def exists(self) -> bool:
        with self._lock:
            return bool(self.client.collection_exists(self.collection))

    def ensure(self, settings: IndexerSettings, dim: int) -> None:
        """Create the collection and its payload indexes if missing; check the vector size if present."""
        with self._lock:
            if self.client.collection_exists(self.collection):
                size = self.config().get("dense", {}).get("size")
                if size != dim:
                    raise CollectionMismatchError(
                        f"collection {self.collection!r} holds {size}-dimensional vectors but the model gives "
                        f"{dim}; run `python -m indexer reset` or set NEWSDESK_COLLECTION to a new name"
                    )
                return
            self.client.create_collection(
                self.collection,
                vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
                sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
                shard_number=settings.shard_number,
                replication_factor=settings.replication_factor,
                write_consistency_factor=settings.write_consistency_factor,
                on_disk_payload=settings.on_disk_payload,
                hnsw_config=models.HnswConfigDiff(m=settings.hnsw_m, ef_construct=settings.hnsw_ef_construct),
            )
            self.generation += 1
            if self.embedded:
                # local mode filters by scanning and ignores payload indexes (it warns if asked to make them)
                _tune_sqlite(self._local_collection(self.collection))
                return
            for name in pl.KEYWORD_FIELDS:
                self.client.create_payload_index(self.collection, name, models.PayloadSchemaType.KEYWORD, wait=True)
            for name in pl.DATETIME_FIELDS:
                self.client.create_payload_index(self.collection, name, models.PayloadSchemaType.DATETIME, wait=True)
            for name in pl.INTEGER_FIELDS:
                self.client.create_payload_index(self.collection, name, models.PayloadSchemaType.INTEGER, wait=True)

    def drop(self) -> bool:
        """Delete the collection (through an alias: the collection it points at, which takes the alias along)."""
        with self._lock:
            target = self.resolve()
            if target is None:
                return False
            self.client.delete_collection(target)
            self.generation += 1
            return True

    # --- aliases (zero-downtime rebuild: indexer/rebuild.py) ---------------------------------------------------
    def aliases(self) -> dict[str, str]:
        """Every alias in this Qdrant location: alias name -> collection name."""
        with self._lock:
            return {a.alias_name: a.collection_name for a in self.client.get_aliases().aliases}

    def collection_names(self) -> list[str]:
        """The real collections (not aliases) in this Qdrant location."""
        with self._lock:
            return sorted(c.name for c in self.client.get_collections().collections)

    def resolve(self) -> str | None:
        """The real collection behind this store's name: the alias target, the name itself, or None."""
        with self._lock:
            target = self.aliases().get(self.collection)
            if target is not None:
                return target
            return self.collection if self.client.collection_exists(self.collection) else None

    def point_alias(self, target: str, replace_collection: bool = False) -> None:
        """Make this store's name an alias of ``target`` in one atomic alias operation (delete + create).

        If the name is a real collection (a store made before aliases), Qdrant cannot rename it and an alias may
        not shadow a collection, so ``replace_collection=True`` deletes it and creates the alias right after:
        between the two calls (milliseconds) the name resolves to nothing. Without the flag that case raises.
        """
        create = models.CreateAliasOperation(
            create_alias=models.CreateAlias(collection_name=target, alias_name=self.collection))
        delete = models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=self.collection))
        with self._lock:
            if self.collection not in self.aliases() and self.client.collection_exists(self.collection):
                if not replace_collection:
                    raise ValueError(f"{self.collection!r} is a collection, not an alias; pointing it elsewhere "
                                     "deletes it (replace_collection=True)")
                self.client.delete_collection(self.collection)
                self.client.update_collection_aliases(change_aliases_operations=[create])
            else:
                self.client.update_collection_aliases(change_aliases_operations=[delete, create])
            self.generation += 1

    def config(self) -> dict[str, Any]:
        with self._lock:
            info = self.client.get_collection(self.collection)
        vectors = info.config.params.vectors
        dense = vectors[DENSE] if isinstance(vectors, dict) and DENSE in vectors else None
        return {
            "name": self.collection,
            "points_to": self.resolve(),  # the real collection: differs from the name when it is an alias
            "status": str(info.status.value if hasattr(info.status, "value") else info.status),
            "dense": {"size": dense.size, "distance": str(dense.distance.value)} if dense else {},
            "sparse": {SPARSE: {"modifier": "idf"}},
            "shard_number": info.config.params.shard_number,
            "replication_factor": info.config.params.replication_factor,
            "payload_indexes": sorted((info.payload_schema or {}).keys()),
        }

    # --- writes -------------------------------------------------------------------------------------------------
    def upsert(self, points: list[models.PointStruct], batch: int) -> None:
        for i in range(0, len(points), batch):
            with self._lock:
                self.client.upsert(self.collection, points=points[i : i + batch], wait=True)
                self.generation += 1

    def delete_ids(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), 1000):
            with self._lock:
                self.client.delete(self.collection, points_selector=models.PointIdsList(points=ids[i : i + 1000]),
                                   wait=True)
                self.generation += 1

    def set_source_file(self, ids: list[str], source_file: str) -> None:
        """Record the file documents were read from on their points, without re-embedding them."""
        for i in range(0, len(ids), 1000):
            with self._lock:
                self.client.set_payload(self.collection, payload={pl.SOURCE_FILE: source_file},
                                        points=ids[i : i + 1000], wait=True)

    def delete_document(self, doc_id: str) -> int:
        """Remove one document's points; returns how many there were."""
        flt = doc_filter([doc_id])
        with self._lock:
            n = self.count(flt)
            if n:
                self.client.delete(self.collection, points_selector=models.FilterSelector(filter=flt), wait=True)
                self.generation += 1
        return n

    # --- reads --------------------------------------------------------------------------------------------------
    def count(self, flt: models.Filter | None = None) -> int:
        with self._lock:
            return self.client.count(self.collection, count_filter=flt, exact=True).count

    def scan_documents(self, doc_ids: list[str] | None = None, batch: int = 1024) -> dict[str, DocState]:
        """One pass over the bookkeeping fields (no text, no vectors) of every point, or of the given documents'."""
        state: dict[str, DocState] = {}
        if doc_ids == [] or not self.exists():
            return state
        flt = doc_filter(doc_ids) if doc_ids is not None else None
        offset = None
        while True:
            with self._lock:
                points, offset = self.client.scroll(
                    self.collection, scroll_filter=flt, limit=batch, offset=offset, with_payload=pl.STATE_FIELDS,
                    with_vectors=False,
                )
            for p in points:
                pl.add_to_state(state, str(p.id), p.payload)
            if offset is None:
                return state

    def document(self, doc_id: str) -> DocumentSummary | None:
        if not self.exists():
            return None
        flt = doc_filter([doc_id])
        with self._lock:
            points, _ = self.client.scroll(
                self.collection, scroll_filter=flt, limit=1, with_vectors=False,
                with_payload=models.PayloadSelectorExclude(exclude=pl.DOCUMENT_EXCLUDE),
            )
        if not points:
            return None
        return pl.document_from_payload(doc_id, points[0].payload, self.count(flt))

    def document_chunks(self, doc_id: str, batch: int = 256) -> list[Hit]:
        """Every stored chunk of one article, in article order (the page rebuilds the article from them)."""
        if not self.exists():
            return []
        hits: list[Hit] = []
        offset = None
        while True:
            with self._lock:
                points, offset = self.client.scroll(
                    self.collection, scroll_filter=doc_filter([doc_id]), limit=batch, offset=offset,
                    with_payload=pl.HIT_FIELDS, with_vectors=False,
                )
            hits.extend(pl.hit_from_payload(p.payload, 0.0) for p in points)
            if offset is None:
                return sorted(hits, key=lambda h: (h.char_start, h.char_end))

    def query(self, vector: Any, using: str, limit: int, flt: models.Filter | None) -> list[models.ScoredPoint]:
        with self._lock:
            return self.client.query_points(
                self.collection, query=vector, using=using, limit=limit, query_filter=flt, with_payload=pl.HIT_FIELDS,
            ).points

    def query_both(
        self, dense: Any, sparse: models.SparseVector, limit: int, flt: models.Filter | None
    ) -> tuple[list[models.ScoredPoint], list[models.ScoredPoint]]:
        """Dense and sparse candidates in one round trip."""
        requests = [models.QueryRequest(query=q, using=u, limit=limit, filter=flt, with_payload=pl.HIT_FIELDS)
                    for q, u in ((dense, DENSE), (sparse, SPARSE))]
        with self._lock:
            responses = self.client.query_batch_points(self.collection, requests=requests)
        return responses[0].points, responses[1].points

    def query_fused(
        self, dense: Any, sparse: models.SparseVector, prefetch_limit: int, limit: int, flt: models.Filter | None,
        fusion: models.Fusion, rescore: models.FormulaQuery | None = None,
    ) -> list[models.ScoredPoint]:
        """Dense and sparse prefetches fused inside Qdrant (RRF or DBSF); with ``rescore``, a formula over the
        fused ``$score`` (recency) re-ranks the fused candidates in the same request."""
        prefetch = [models.Prefetch(query=dense, using=DENSE, limit=prefetch_limit, filter=flt)]
        if sparse.indices:
            prefetch.append(models.Prefetch(query=sparse, using=SPARSE, limit=prefetch_limit, filter=flt))
        fused = models.FusionQuery(fusion=fusion)
        if rescore is not None:
            prefetch = [models.Prefetch(prefetch=prefetch, query=fused, limit=limit)]
        with self._lock:
            return self.client.query_points(
                self.collection, prefetch=prefetch, query=rescore or fused, limit=limit, with_payload=pl.HIT_FIELDS,
            ).points

    def payloads(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Hit payloads by point id (ids that are gone are absent)."""
        if not ids:
            return {}
        with self._lock:
            records = self.client.retrieve(self.collection, ids=ids, with_payload=pl.HIT_FIELDS, with_vectors=False)
        return {str(r.id): dict(r.payload or {}) for r in records}

    def sentence_vectors(self, ids: list[str]) -> dict[str, SentenceVectors]:
        """Stored sentence vectors by point id, in one call (points without them, or gone, are absent)."""
        if not ids:
            return {}
        with self._lock:
            records = self.client.retrieve(self.collection, ids=ids, with_payload=pl.SENTENCE_FIELDS,
                                           with_vectors=False)
        out = {}
        for r in records:
            found = pl.sentences_from_payload(r.payload)
            if found is not None:
                out[str(r.id)] = found
        return out

    def count_without_sentence_vectors(self) -> int:
        """Chunks written before sentence vectors were stored (asks encode their sentences per request)."""
        flt = models.Filter(must=[models.IsEmptyCondition(is_empty=models.PayloadField(key=pl.SENTENCE_SPANS))])
        return self.count(flt)

    def scan_vectors(self, batch: int = 4096) -> Iterator[tuple[str, list[float], models.SparseVector]]:
        """(point id, dense vector, sparse vector) of every point, for in-memory indexes."""
        offset = None
        while True:
            with self._lock:
                points, offset = self.client.scroll(
                    self.collection, limit=batch, offset=offset, with_payload=False, with_vectors=[DENSE, SPARSE],
                )
            for p in points:
                vectors = p.vector if isinstance(p.vector, dict) else {}
                dense, sparse = vectors.get(DENSE), vectors.get(SPARSE)
                if isinstance(dense, list) and isinstance(sparse, models.SparseVector):
                    yield str(p.id), [float(x) for x in dense], sparse
            if offset is None:
                return

    def scan_hits(self, batch: int = 1024) -> Iterator[tuple[Hit, list[float]]]:
        """Every chunk as a hit (score 0) with its dense vector, for eval's baselines."""
        offset = None
        while True:
            with self._lock:
                points, offset = self.client.scroll(
                    self.collection, limit=batch, offset=offset, with_payload=pl.HIT_FIELDS, with_vectors=[DENSE],
                )
            for p in points:
                vec = p.vector.get(DENSE) if isinstance(p.vector, dict) else p.vector
                if isinstance(vec, list):
                    yield pl.hit_from_payload(p.payload, 0.0), [float(x) for x in vec]
            if offset is None:
                return

    # --- embedded-mode internals ------------------------------------------------------------------------------
    def _local_collections(self) -> list[str]:
        return [c.name for c in self.client.get_collections().collections]

    def _local_collection(self, name: str) -> Any:
        return getattr(getattr(self.client, "_client", None), "collections", {}).get(name)


def _tune_sqlite(collection: Any) -> None:
    """Local mode commits every point in its own SQLite transaction; WAL + synchronous=NORMAL makes those
    commits ~5x cheaper while each stays atomic (a killed process loses no committed point)."""
    conn = getattr(getattr(collection, "storage", None), "storage", None)
    if conn is None:
        return
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    except Exception:  # pragma: no cover - a qdrant-client change; correctness does not depend on it
        log.debug("could not tune the local store", exc_info=True)


def doc_filter(doc_ids: list[str]) -> models.Filter:
    return models.Filter(must=[models.FieldCondition(key=pl.DOC_ID, match=models.MatchAny(any=doc_ids))])


def build_filter(
    source: list[str] | None = None,
    doc_id: list[str] | None = None,
    published_after: date | str | None = None,
    published_before: date | str | None = None,
) -> models.Filter | None:
    """The query-side filter over the payload indexes (None when nothing is filtered)."""
    must: list[models.Condition] = []
    if source:
        must.append(models.FieldCondition(key=pl.SOURCE, match=models.MatchAny(any=list(source))))
    if doc_id:
        must.append(models.FieldCondition(key=pl.DOC_ID, match=models.MatchAny(any=list(doc_id))))
    if published_after or published_before:
        must.append(
            models.FieldCondition(
                key=pl.PUBLISHED_AT,
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
