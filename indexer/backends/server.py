"""The server backend: :class:`ServerStore`, qdrant-client against a Qdrant server or cluster
(``NEWSDESK_QDRANT_URL``). The client is thread-safe and the server admits any number of processes; collections
and aliases are Qdrant's own, and switching an alias is one atomic ``update_collection_aliases`` call."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from qdrant_client import QdrantClient, models

from indexer import payload as pl
from indexer.backends import server_converters as cv
from indexer.collection import (
    Candidate,
    CollectionMismatchError,
    EngineFusion,
    OptimizeReport,
    PointData,
    RecencyRequest,
    SearchFilters,
    StoredPoint,
)
from indexer.payload import DENSE, SPARSE, DocState, DocumentSummary, Hit, SentenceVectors
from indexer.settings import IndexerSettings
from indexer.sparse import SparseVec


class ServerStore:
    """One collection (or alias) on one Qdrant server."""

    def __init__(self, client: QdrantClient, collection: str) -> None:
        self.client = client
        self.collection = collection
        self.generation = 0

    @property
    def embedded(self) -> bool:
        return False

    @classmethod
    def open(cls, settings: IndexerSettings) -> ServerStore:
        client = QdrantClient(
            url=settings.qdrant_url, api_key=settings.qdrant_api_key, timeout=int(settings.qdrant_timeout_s),
            check_compatibility=settings.qdrant_check_compatibility,
            prefer_grpc=settings.qdrant_prefer_grpc, grpc_port=settings.qdrant_grpc_port,
        )
        return cls(client, settings.collection)

    def with_collection(self, collection: str) -> ServerStore:
        return ServerStore(self.client, collection)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()

    # --- layout -------------------------------------------------------------------------------------------------
    def exists(self) -> bool:
        return bool(self.client.collection_exists(self.collection))

    def ensure(self, settings: IndexerSettings, dim: int) -> None:
        """Create the collection and its payload indexes if missing; check the vector size if present."""
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
        for name in pl.KEYWORD_FIELDS:
            self.client.create_payload_index(self.collection, name, models.PayloadSchemaType.KEYWORD, wait=True)
        for name in pl.DATETIME_FIELDS:
            self.client.create_payload_index(self.collection, name, models.PayloadSchemaType.DATETIME, wait=True)
        for name in pl.INTEGER_FIELDS:
            self.client.create_payload_index(self.collection, name, models.PayloadSchemaType.INTEGER, wait=True)

    def drop(self) -> bool:
        """Delete the collection (through an alias: the collection it points at, which takes the alias along)."""
        target = self.resolve()
        if target is None:
            return False
        self.client.delete_collection(target)
        self.generation += 1
        return True

    def aliases(self) -> dict[str, str]:
        return {a.alias_name: a.collection_name for a in self.client.get_aliases().aliases}

    def collection_names(self) -> list[str]:
        return sorted(c.name for c in self.client.get_collections().collections)

    def resolve(self) -> str | None:
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
        info = self.client.get_collection(self.collection)
        vectors = info.config.params.vectors
        dense = vectors[DENSE] if isinstance(vectors, dict) and DENSE in vectors else None
        return {
            "backend": "server",
            "name": self.collection,
            "points_to": self.resolve(),  # the real collection: differs from the name when it is an alias
            "status": str(info.status.value if hasattr(info.status, "value") else info.status),
            "dense": {"size": dense.size, "distance": str(dense.distance.value)} if dense else {},
            "sparse": {SPARSE: {"modifier": "idf"}},
            "shard_number": info.config.params.shard_number,
            "replication_factor": info.config.params.replication_factor,
            "payload_indexes": sorted((info.payload_schema or {}).keys()),
        }

    def optimize(self) -> OptimizeReport:
        """A server optimizes in the background on its own."""
        return OptimizeReport()

    # --- writes -------------------------------------------------------------------------------------------------
    def upsert(self, points: list[PointData], batch: int) -> None:
        for i in range(0, len(points), batch):
            self.client.upsert(self.collection, points=[cv.to_point(p) for p in points[i : i + batch]], wait=True)
            self.generation += 1

    def delete_ids(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), 1000):
            self.client.delete(self.collection, points_selector=models.PointIdsList(points=ids[i : i + 1000]),
                               wait=True)
            self.generation += 1

    def set_payload(self, ids: list[str], payload: dict[str, Any]) -> None:
        for i in range(0, len(ids), 1000):
            self.client.set_payload(self.collection, payload=payload, points=ids[i : i + 1000], wait=True)
            self.generation += 1

    def delete_payload(self, keys: list[str], ids: list[str] | None = None) -> None:
        selector: Any = list(ids) if ids is not None else models.Filter()
        self.client.delete_payload(self.collection, keys=keys, points=selector, wait=True)
        self.generation += 1

    def set_source_file(self, ids: list[str], source_file: str) -> None:
        """Record the file documents were read from on their points, without re-embedding them."""
        self.set_payload(ids, {pl.SOURCE_FILE: source_file})

    def delete_document(self, doc_id: str) -> int:
        flt = cv.doc_filter([doc_id])
        n = self._count(flt)
        if n:
            self.client.delete(self.collection, points_selector=models.FilterSelector(filter=flt), wait=True)
            self.generation += 1
        return n

    # --- reads --------------------------------------------------------------------------------------------------
    def _count(self, flt: models.Filter | None) -> int:
        return self.client.count(self.collection, count_filter=flt, exact=True).count

    def count(self) -> int:
        return self._count(None)

    def _scroll(self, flt: models.Filter | None, batch: int, with_payload: Any,
                with_vectors: Any) -> Iterator[models.Record]:
        offset = None
        while True:
            points, offset = self.client.scroll(self.collection, scroll_filter=flt, limit=batch, offset=offset,
                                                with_payload=with_payload, with_vectors=with_vectors)
            yield from points
            if offset is None:
                return

    def scan_documents(self, doc_ids: list[str] | None = None, batch: int = 1024) -> dict[str, DocState]:
        state: dict[str, DocState] = {}
        if doc_ids == [] or not self.exists():
            return state
        flt = cv.doc_filter(doc_ids) if doc_ids is not None else None
        for p in self._scroll(flt, batch, pl.STATE_FIELDS, False):
            pl.add_to_state(state, str(p.id), p.payload)
        return state

    def document(self, doc_id: str) -> DocumentSummary | None:
        if not self.exists():
            return None
        flt = cv.doc_filter([doc_id])
        points, _ = self.client.scroll(self.collection, scroll_filter=flt, limit=1, with_vectors=False,
                                       with_payload=models.PayloadSelectorExclude(exclude=pl.DOCUMENT_EXCLUDE))
        if not points:
            return None
        return pl.document_from_payload(doc_id, points[0].payload, self._count(flt))

    def document_chunks(self, doc_id: str, batch: int = 256) -> list[Hit]:
        if not self.exists():
            return []
        hits = [pl.hit_from_payload(p.payload, 0.0)
                for p in self._scroll(cv.doc_filter([doc_id]), batch, pl.HIT_FIELDS, False)]
        return sorted(hits, key=lambda h: (h.char_start, h.char_end))

    def query(self, vector: list[float] | SparseVec, using: str, limit: int,
              filters: SearchFilters | None) -> list[Candidate]:
        points = self.client.query_points(
            self.collection, query=cv.to_query_vector(vector), using=using, limit=limit,
            query_filter=cv.to_filter(filters), with_payload=pl.HIT_FIELDS,
        ).points
        return [cv.to_candidate(p) for p in points]

    def query_both(self, dense: list[float], sparse: SparseVec, limit: int,
                   filters: SearchFilters | None) -> tuple[list[Candidate], list[Candidate]]:
        """Dense and sparse candidates in one round trip."""
        flt = cv.to_filter(filters)
        requests = [models.QueryRequest(query=cv.to_query_vector(q), using=u, limit=limit, filter=flt,
                                        with_payload=pl.HIT_FIELDS)
                    for q, u in ((dense, DENSE), (sparse, SPARSE))]
        responses = self.client.query_batch_points(self.collection, requests=requests)
        return ([cv.to_candidate(p) for p in responses[0].points],
                [cv.to_candidate(p) for p in responses[1].points])

    def query_fused(self, dense: list[float], sparse: SparseVec, prefetch_limit: int, limit: int,
                    filters: SearchFilters | None, fusion: EngineFusion,
                    recency: RecencyRequest | None = None) -> list[Candidate]:
        """Dense and sparse prefetches fused inside Qdrant (RRF or DBSF); with ``recency``, a formula over the
        fused ``$score`` re-ranks the fused candidates in the same request."""
        flt = cv.to_filter(filters)
        prefetch = [models.Prefetch(query=list(dense), using=DENSE, limit=prefetch_limit, filter=flt)]
        if sparse.indices:
            prefetch.append(models.Prefetch(query=cv.to_query_vector(sparse), using=SPARSE, limit=prefetch_limit,
                                            filter=flt))
        fused = models.FusionQuery(fusion=cv.to_fusion(fusion))
        query: Any = fused
        if recency is not None:
            prefetch = [models.Prefetch(prefetch=prefetch, query=fused, limit=limit)]
            query = cv.to_recency_formula(recency)
        points = self.client.query_points(self.collection, prefetch=prefetch, query=query, limit=limit,
                                          with_payload=pl.HIT_FIELDS).points
        return [cv.to_candidate(p) for p in points]

    def payloads(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        records = self.client.retrieve(self.collection, ids=ids, with_payload=pl.HIT_FIELDS, with_vectors=False)
        return {str(r.id): dict(r.payload or {}) for r in records}

    def sentence_vectors(self, ids: list[str]) -> dict[str, SentenceVectors]:
        if not ids:
            return {}
        records = self.client.retrieve(self.collection, ids=ids, with_payload=pl.SENTENCE_FIELDS,
                                       with_vectors=False)
        out = {}
        for r in records:
            found = pl.sentences_from_payload(r.payload)
            if found is not None:
                out[str(r.id)] = found
        return out

    def count_without_sentence_vectors(self) -> int:
        return self._count(models.Filter(must=[
            models.IsEmptyCondition(is_empty=models.PayloadField(key=pl.SENTENCE_SPANS))]))

    def scan_points(self, with_vectors: bool = True, batch: int = 512) -> Iterator[StoredPoint]:
        for r in self._scroll(None, batch, True, [DENSE, SPARSE] if with_vectors else False):
            yield cv.to_stored(r)

    def scan_hits(self, batch: int = 1024) -> Iterator[tuple[Hit, list[float]]]:
        for r in self._scroll(None, batch, pl.HIT_FIELDS, [DENSE]):
            vec = r.vector.get(DENSE) if isinstance(r.vector, dict) else r.vector
            if isinstance(vec, list):
                yield pl.hit_from_payload(r.payload, 0.0), [float(x) for x in vec]
