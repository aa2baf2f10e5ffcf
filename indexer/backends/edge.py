"""The embedded backend: :class:`EdgeStore`, Qdrant Edge (the Qdrant engine as an in-process library).

Layout of ``NEWSDESK_QDRANT_PATH``::

    edge.lock                       held (flock) by the one process using the folder; says who (pid, command)
    aliases.json                    {"aliases": {alias: collection}}; replaced atomically (temp + os.replace)
    collections/<name>/collection.json   what the collection was made with (written last: a folder without it is
                                    an interrupted creation, cleared by the next ``ensure``)
    collections/<name>/shard/       one Edge shard (segments, WAL, HNSW and payload indexes)

Edge has one shard per directory and no collections or aliases: a collection is a shard directory, an alias is
an entry of the pointer file, so ``rebuild`` builds a new shard aside and switches by replacing the file.
One process at a time (Edge's WAL admits one opener; the folder lock is taken first, so the second process is
told who holds it). Searches run inside the engine: HNSW for dense, the sparse index with IDF, payload
indexes for filters, prefetch + RRF/DBSF fusion and the recency formula. ``optimize()`` (builds HNSW and merges
segments, blocking) runs after each ingest run.

A folder written by qdrant-client's local mode (``meta.json``, ``collection/<name>/storage.sqlite``) is refused
with a pointer to ``python -m indexer migrate`` (:mod:`indexer.migrate`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import qdrant_edge as qe

from indexer import payload as pl
from indexer.backends import edge_converters as cv
from indexer.collection import (
    Candidate,
    CollectionMismatchError,
    EngineFusion,
    LocalModeStoreError,
    OptimizeReport,
    PointData,
    RecencyRequest,
    SearchFilters,
    StoredPoint,
    StoreLockedError,
)
from indexer.payload import DENSE, SPARSE, DocState, DocumentSummary, Hit, SentenceVectors
from indexer.settings import IndexerSettings
from indexer.sparse import SparseVec

LOCK_FILE = "edge.lock"
ALIASES_FILE = "aliases.json"
COLLECTIONS_DIR = "collections"
META_FILE = "collection.json"
SHARD_DIR = "shard"
FORMAT = "newsdesk-edge/1"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def is_local_mode_folder(path: Path) -> bool:
    """A folder written by qdrant-client's local mode (the embedded store before Qdrant Edge)."""
    return (path / "meta.json").is_file() or (path / "collection").is_dir()


def local_mode_message(path: Path) -> str:
    return (f"the embedded store at {path} was written by an older Newsdesk (qdrant-client local mode); copy it "
            "into the new engine with `python -m indexer migrate` (nothing is re-embedded, and the old files are "
            "kept until every point of the copy is verified)")


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"collection name {name!r}: use letters, digits, '_', '-' or '.' (at most 128, not "
                         "starting with '.' or '-'); it names a folder of the embedded store")
    return name


def _holder(lock_path: Path) -> str:
    """Who holds the folder, as its lock file says: ``another process (pid 123: python -m service)``."""
    try:
        info = json.loads(lock_path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    pid, command = info.get("pid"), info.get("command")
    return f"another process (pid {pid}: {command})" if pid else "another process"


def _command() -> str:
    """This process as a person would type it: ``python -m service``, ``python -m indexer ingest ...``."""
    argv = list(sys.argv)
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name:
        name = spec.name.removesuffix(".__main__")
        return " ".join(["python -m", name, *argv[1:]])
    return " ".join(["python", *argv])


def write_atomic(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: a temp file beside it, fsync, os.replace, fsync the folder."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class EdgeLocation:
    """One embedded folder held by this process: its lock, alias file and open shards (one per collection)."""

    def __init__(self, root: Path, lock: IO[str]) -> None:
        self.root = root
        self._lock_file = lock
        self._shards: dict[str, qe.EdgeShard] = {}
        self._meta: dict[str, dict[str, Any]] = {}
        self._aliases: dict[str, str] | None = None
        """Caches: this process is the folder's only user (the lock), so they change only through it."""
        self.lock = threading.RLock()
        """Serialises writes and layout changes; searches take no lock (the engine is thread-safe)."""
        self.closed = False

    @classmethod
    def acquire(cls, root: Path, allow_local_mode: bool = False) -> EdgeLocation:
        if root.exists() and not root.is_dir():
            raise ValueError(f"NEWSDESK_QDRANT_PATH={root} is a file, not a folder")
        root.mkdir(parents=True, exist_ok=True)
        if not allow_local_mode and is_local_mode_folder(root):
            raise LocalModeStoreError(local_mode_message(root))
        lock_path = root / LOCK_FILE
        fh = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the store's lifetime
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise StoreLockedError(
                f"the embedded Qdrant store at {root} is in use by {_holder(lock_path)} (the embedded store admits "
                "one process at a time; a running `python -m service` holds it). Either stop that process, or send "
                "articles through the running service (POST /v1/documents), or run a Qdrant server and set "
                "NEWSDESK_QDRANT_URL."
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "command": _command()[:200],
                             "since": datetime.now(UTC).isoformat(timespec="seconds")}))
        fh.flush()
        return cls(root, fh)

    # --- collections --------------------------------------------------------------------------------------------
    def collection_dir(self, name: str) -> Path:
        return self.root / COLLECTIONS_DIR / check_name(name)

    def meta(self, name: str) -> dict[str, Any] | None:
        found = self._meta.get(name)
        if found is not None:
            return found
        try:
            found = json.loads((self.collection_dir(name) / META_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        self._meta[name] = found
        return found

    def collection_names(self) -> list[str]:
        folder = self.root / COLLECTIONS_DIR
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if _NAME.match(p.name) and (p / META_FILE).is_file())

    def shard(self, name: str) -> qe.EdgeShard:
        shard = self._shards.get(name)
        if shard is not None:
            return shard
        with self.lock:
            if self.closed:
                raise RuntimeError("the embedded store is closed")
            shard = self._shards.get(name)
            if shard is None:
                shard = qe.EdgeShard.load(str(self.collection_dir(name) / SHARD_DIR))
                self._shards[name] = shard
            return shard

    def create(self, name: str, config: qe.EdgeConfig, meta: dict[str, Any], indexes: list[tuple[str, Any]]) -> None:
        with self.lock:
            folder = self.collection_dir(name)
            if folder.exists():  # an interrupted creation (no collection.json)
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            shard = qe.EdgeShard.create(str(folder / SHARD_DIR), config)
            for field, schema in indexes:
                shard.update(qe.UpdateOperation.create_field_index(field, schema))
            shard.flush()
            self._shards[name] = shard
            write_atomic(folder / META_FILE, json.dumps(meta, indent=1))
            self._meta[name] = meta

    def remove(self, name: str) -> None:
        """Close and delete one collection; the folder is renamed away first, so a crash leaves no half."""
        with self.lock:
            shard = self._shards.pop(name, None)
            self._meta.pop(name, None)
            if shard is not None:
                shard.close()
            folder = self.collection_dir(name)
            if not folder.exists():
                return
            trash = folder.with_name(f".{name}.deleted.{time.time_ns()}")
            os.replace(folder, trash)
            shutil.rmtree(trash, ignore_errors=True)

    # --- aliases ------------------------------------------------------------------------------------------------
    def aliases(self) -> dict[str, str]:
        if self._aliases is None:
            try:
                data = json.loads((self.root / ALIASES_FILE).read_text(encoding="utf-8"))
            except FileNotFoundError:
                data = {}
            except ValueError as exc:
                raise RuntimeError(f"{self.root / ALIASES_FILE} is unreadable ({exc}); it maps alias -> "
                                   "collection name: fix or remove it") from exc
            self._aliases = {str(k): str(v) for k, v in dict(data.get("aliases", {})).items()}
        return dict(self._aliases)

    def write_aliases(self, aliases: dict[str, str]) -> None:
        with self.lock:
            write_atomic(self.root / ALIASES_FILE,
                         json.dumps({"format": FORMAT, "aliases": dict(sorted(aliases.items()))}, indent=1))
            self._aliases = dict(aliases)

    def __del__(self) -> None:  # a store dropped without close() still flushes and releases the folder
        with contextlib.suppress(Exception):
            self.close()

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
            for shard in self._shards.values():
                with contextlib.suppress(Exception):
                    shard.flush()
                    shard.close()
            self._shards.clear()
            with contextlib.suppress(Exception):
                fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
            self._lock_file.close()


class EdgeStore:
    """One collection (or alias) of an embedded Qdrant Edge folder."""

    def __init__(self, location: EdgeLocation, collection: str) -> None:
        self.location = location
        self.collection = check_name(collection)
        self.generation = 0

    @property
    def embedded(self) -> bool:
        return True

    @classmethod
    def open(cls, settings: IndexerSettings, allow_local_mode: bool = False) -> EdgeStore:
        check_name(settings.collection)
        return cls(EdgeLocation.acquire(Path(settings.qdrant_path), allow_local_mode), settings.collection)

    def with_collection(self, collection: str) -> EdgeStore:
        return EdgeStore(self.location, collection)

    def close(self) -> None:
        self.location.close()

    # --- layout -------------------------------------------------------------------------------------------------
    def resolve(self) -> str | None:
        target = self.location.aliases().get(self.collection)
        if target is not None:
            return target if self.location.meta(target) is not None else None
        return self.collection if self.location.meta(self.collection) is not None else None

    def _shard(self) -> qe.EdgeShard | None:
        name = self.resolve()
        return None if name is None else self.location.shard(name)

    def _need(self) -> qe.EdgeShard:
        shard = self._shard()
        if shard is None:
            raise RuntimeError(f"collection {self.collection!r} does not exist (nothing indexed yet)")
        return shard

    def exists(self) -> bool:
        return self.resolve() is not None

    def ensure(self, settings: IndexerSettings, dim: int) -> None:
        name = self.resolve()
        if name is not None:
            size = (self.location.meta(name) or {}).get("dense_size")
            if size != dim:
                raise CollectionMismatchError(
                    f"collection {self.collection!r} holds {size}-dimensional vectors but the model gives "
                    f"{dim}; run `python -m indexer reset` or set NEWSDESK_COLLECTION to a new name"
                )
            return
        config = qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
            hnsw_config=qe.HnswIndexConfig(m=settings.hnsw_m, ef_construct=settings.hnsw_ef_construct,
                                           full_scan_threshold=10_000),
            payload_memory=qe.Memory.Cold if settings.on_disk_payload else qe.Memory.Cached,
        )
        indexes = ([(f, qe.PayloadSchemaType.Keyword) for f in pl.KEYWORD_FIELDS]
                   + [(f, qe.PayloadSchemaType.Datetime) for f in pl.DATETIME_FIELDS]
                   + [(f, qe.PayloadSchemaType.Integer) for f in pl.INTEGER_FIELDS])
        meta = {"format": FORMAT, "dense_size": dim, "distance": "Cosine", "sparse_modifier": "idf",
                "hnsw_m": settings.hnsw_m, "hnsw_ef_construct": settings.hnsw_ef_construct,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
        self.location.create(self.collection, config, meta, indexes)
        self.generation += 1

    def drop(self) -> bool:
        """Delete the collection (through an alias: the one it points at, and every alias pointing there)."""
        with self.location.lock:
            target = self.resolve()
            if target is None:
                return False
            aliases = self.location.aliases()
            left = {a: c for a, c in aliases.items() if c != target}
            if left != aliases:
                self.location.write_aliases(left)
            self.location.remove(target)
            self.generation += 1
            return True

    def aliases(self) -> dict[str, str]:
        return self.location.aliases()

    def collection_names(self) -> list[str]:
        return self.location.collection_names()

    def point_alias(self, target: str, replace_collection: bool = False) -> None:
        """Make this store's name an alias of ``target``: one atomic replace of the pointer file.

        If the name is a real collection (a store made before aliases), ``replace_collection=True`` deletes it
        after the alias is in place (the alias wins over a collection of the same name, so the name never
        resolves to nothing). Without the flag that case raises."""
        if self.location.meta(check_name(target)) is None:
            raise ValueError(f"cannot point {self.collection!r} at {target!r}: no such collection")
        with self.location.lock:
            aliases = self.location.aliases()
            real = self.collection not in aliases and self.location.meta(self.collection) is not None
            if real and not replace_collection:
                raise ValueError(f"{self.collection!r} is a collection, not an alias; pointing it elsewhere "
                                 "deletes it (replace_collection=True)")
            aliases[self.collection] = target
            self.location.write_aliases(aliases)
            if real:
                self.location.remove(self.collection)
            self.generation += 1

    def config(self) -> dict[str, Any]:
        name = self.resolve()
        meta = (self.location.meta(name) if name else None) or {}
        shard = self._need()
        info = shard.info()
        return {
            "backend": "edge",
            "name": self.collection,
            "points_to": name,
            "status": "green",
            "dense": {"size": meta.get("dense_size"), "distance": str(meta.get("distance", "Cosine"))},
            "sparse": {SPARSE: {"modifier": "idf"}},
            "shard_number": 1,
            "replication_factor": 1,
            "segments": info.segments_count,
            "points": info.points_count,
            "indexed_vectors": info.indexed_vectors_count,
            "payload_indexes": sorted(info.payload_schema.keys()),
        }

    def optimize(self) -> OptimizeReport:
        """Build the HNSW graph and merge segments now (blocks until no optimisation is planned)."""
        shard = self._shard()
        if shard is None:
            return OptimizeReport()
        t0 = time.perf_counter()
        with self.location.lock:
            changed = bool(shard.optimize())
            shard.flush()
        info = shard.info()
        return OptimizeReport(changed, time.perf_counter() - t0,
                              {"segments": info.segments_count, "points": info.points_count})

    # --- writes -------------------------------------------------------------------------------------------------
    def _update(self, op: qe.UpdateOperation) -> None:
        with self.location.lock:
            self._need().update(op)
            self.generation += 1

    def upsert(self, points: list[PointData], batch: int) -> None:
        for i in range(0, len(points), batch):
            self._update(qe.UpdateOperation.upsert_points([cv.to_point(p) for p in points[i : i + batch]]))

    def delete_ids(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), 1000):
            self._update(qe.UpdateOperation.delete_points(list(ids[i : i + 1000])))

    def set_payload(self, ids: list[str], payload: dict[str, Any]) -> None:
        for i in range(0, len(ids), 1000):
            self._update(qe.UpdateOperation.set_payload(list(ids[i : i + 1000]), payload))

    def delete_payload(self, keys: list[str], ids: list[str] | None = None) -> None:
        if ids is None:
            self._update(qe.UpdateOperation.delete_payload_by_filter(qe.Filter(must=[]), list(keys)))
        else:
            self._update(qe.UpdateOperation.delete_payload(list(ids), list(keys)))

    def set_source_file(self, ids: list[str], source_file: str) -> None:
        self.set_payload(ids, {pl.SOURCE_FILE: source_file})

    def delete_document(self, doc_id: str) -> int:
        if not self.exists():
            return 0
        with self.location.lock:
            flt = cv.doc_filter([doc_id])
            n = self._count(flt)
            if n:
                self._update(qe.UpdateOperation.delete_points_by_filter(flt))
            return n

    # --- reads --------------------------------------------------------------------------------------------------
    def _count(self, flt: qe.Filter | None) -> int:
        shard = self._shard()
        return 0 if shard is None else int(shard.count(qe.CountRequest(exact=True, filter=flt)))

    def count(self) -> int:
        return self._count(None)

    def _scroll(self, flt: qe.Filter | None, batch: int, with_payload: Any, with_vector: Any) -> Iterator[Any]:
        shard = self._shard()
        if shard is None:
            return
        offset = None
        while True:
            records, offset = shard.scroll(qe.ScrollRequest(offset=offset, limit=batch, filter=flt,
                                                            with_payload=with_payload, with_vector=with_vector))
            yield from records
            if offset is None or not records:
                return

    def scan_documents(self, doc_ids: list[str] | None = None, batch: int = 1024) -> dict[str, DocState]:
        state: dict[str, DocState] = {}
        if doc_ids == []:
            return state
        flt = cv.doc_filter(doc_ids) if doc_ids is not None else None
        for r in self._scroll(flt, batch, list(pl.STATE_FIELDS), False):
            pl.add_to_state(state, str(r.id), r.payload)
        return state

    def document(self, doc_id: str) -> DocumentSummary | None:
        shard = self._shard()
        if shard is None:
            return None
        flt = cv.doc_filter([doc_id])
        records, _ = shard.scroll(qe.ScrollRequest(limit=1, filter=flt, with_vector=False,
                                                   with_payload=qe.PayloadSelector.Exclude(pl.DOCUMENT_EXCLUDE)))
        if not records:
            return None
        return pl.document_from_payload(doc_id, records[0].payload, self._count(flt))

    def document_chunks(self, doc_id: str, batch: int = 256) -> list[Hit]:
        hits = [pl.hit_from_payload(r.payload, 0.0)
                for r in self._scroll(cv.doc_filter([doc_id]), batch, list(pl.HIT_FIELDS), False)]
        return sorted(hits, key=lambda h: (h.char_start, h.char_end))

    def query(self, vector: list[float] | SparseVec, using: str, limit: int,
              filters: SearchFilters | None) -> list[Candidate]:
        shard = self._need()
        points = shard.query(qe.QueryRequest(limit=limit, query=cv.to_query(vector, using),
                                             filter=cv.to_filter(filters), with_payload=list(pl.HIT_FIELDS)))
        return [cv.to_candidate(p) for p in points]

    def query_both(self, dense: list[float], sparse: SparseVec, limit: int,
                   filters: SearchFilters | None) -> tuple[list[Candidate], list[Candidate]]:
        shard = self._need()
        flt = cv.to_filter(filters)
        requests = [qe.QueryRequest(limit=limit, query=cv.to_query(v, u), filter=flt, with_payload=list(pl.HIT_FIELDS))
                    for v, u in ((dense, DENSE), (sparse, SPARSE))]
        d, s = shard.query_batch(qe.QueryBatchRequest(requests))
        return [cv.to_candidate(p) for p in d], [cv.to_candidate(p) for p in s]

    def query_fused(self, dense: list[float], sparse: SparseVec, prefetch_limit: int, limit: int,
                    filters: SearchFilters | None, fusion: EngineFusion,
                    recency: RecencyRequest | None = None) -> list[Candidate]:
        """Dense and sparse prefetches fused inside the engine (RRF or DBSF); with ``recency``, the recency
        formula over the fused ``$score`` re-ranks them in the same query."""
        shard = self._need()
        flt = cv.to_filter(filters)
        prefetch = [qe.Prefetch(limit=prefetch_limit, query=cv.to_query(dense, DENSE), filter=flt)]
        if sparse.indices:
            prefetch.append(qe.Prefetch(limit=prefetch_limit, query=cv.to_query(sparse, SPARSE), filter=flt))
        query: Any = cv.to_fusion(fusion)
        if recency is not None:
            prefetch = [qe.Prefetch(limit=limit, query=query, prefetches=prefetch)]
            query = cv.to_recency_formula(recency)
        points = shard.query(qe.QueryRequest(limit=limit, query=query, prefetches=prefetch,
                                             with_payload=list(pl.HIT_FIELDS)))
        return [cv.to_candidate(p) for p in points]

    def _retrieve(self, ids: list[str], fields: list[str]) -> list[Any]:
        shard = self._shard()
        if shard is None or not ids:
            return []
        return list(shard.retrieve(list(ids), with_payload=list(fields), with_vector=False))

    def payloads(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        return {str(r.id): dict(r.payload or {}) for r in self._retrieve(ids, pl.HIT_FIELDS)}

    def sentence_vectors(self, ids: list[str]) -> dict[str, SentenceVectors]:
        out = {}
        for r in self._retrieve(ids, pl.SENTENCE_FIELDS):
            found = pl.sentences_from_payload(r.payload)
            if found is not None:
                out[str(r.id)] = found
        return out

    def count_without_sentence_vectors(self) -> int:
        return self._count(qe.Filter(must=[qe.IsEmptyCondition(pl.SENTENCE_SPANS)]))

    def scan_points(self, with_vectors: bool = True, batch: int = 512) -> Iterator[StoredPoint]:
        for r in self._scroll(None, batch, True, [DENSE, SPARSE] if with_vectors else False):
            yield cv.to_stored(r)

    def scan_hits(self, batch: int = 1024) -> Iterator[tuple[Hit, list[float]]]:
        for r in self._scroll(None, batch, list(pl.HIT_FIELDS), [DENSE]):
            vec = r.vector.get(DENSE) if isinstance(r.vector, dict) else None
            if isinstance(vec, list):
                yield pl.hit_from_payload(r.payload, 0.0), [float(x) for x in vec]
