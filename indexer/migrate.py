"""``python -m indexer migrate``: copy an embedded store written by qdrant-client's local mode (the embedded
engine before Qdrant Edge) into Edge shards in the same folder, without re-embedding anything.

1. every collection of the old store is created as an Edge collection (same vector size, the payload indexes,
   HNSW from the current settings) and its points are copied as stored: ids, payloads, dense and sparse vectors;
2. every point is verified against the original: the id is there, the payload hashes the same (canonical JSON),
   the dense vector points the same way (cosine >= :data:`MIN_COSINE`; Edge stores cosine vectors normalised,
   as local mode does) and the sparse vector has the same terms and weights;
3. the aliases are copied (``aliases.json``), each shard is optimised (HNSW built);
4. only then are the old files removed (``--keep-old``: moved to ``local-mode-old/`` instead).

Nothing is deleted before step 4: a failed or interrupted migration leaves the old store as it was, and running
the command again starts the copy over.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from indexer.backends.edge import EdgeStore, is_local_mode_folder
from indexer.collection import PointData
from indexer.payload import DENSE, SPARSE
from indexer.settings import IndexerSettings
from indexer.sparse import SparseVec

MIN_COSINE = 0.9999
BATCH = 256
LOCAL_MODE_FILES = ("collection", "meta.json", ".lock")
OLD_FOLDER = "local-mode-old"


class MigrationError(RuntimeError):
    """The migration cannot run, or the copy failed verification (the old store is untouched)."""


@dataclass
class CollectionCopy:
    name: str
    points: int = 0
    verified: int = 0
    seconds: float = 0.0
    optimize_seconds: float = 0.0


@dataclass
class MigrationResult:
    path: str
    collections: list[CollectionCopy] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    old_files: str = "removed"
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def payload_hash(payload: dict[str, Any] | None) -> str:
    """A hash of the payload that does not depend on key order or on 1 vs 1.0 (JSON numbers)."""
    def norm(v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): norm(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [norm(x) for x in v]
        if isinstance(v, float) and v.is_integer():
            return int(v)
        return v
    text = json.dumps(norm(payload or {}), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else float(na == nb)


def _same_sparse(a: SparseVec | None, b: SparseVec | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    da, db = dict(zip(a.indices, a.values, strict=True)), dict(zip(b.indices, b.values, strict=True))
    return da.keys() == db.keys() and all(math.isclose(da[k], db[k], rel_tol=1e-5, abs_tol=1e-7) for k in da)


def _source_points(client: Any, name: str) -> list[tuple[str, dict[str, Any], list[float], SparseVec | None]]:
    from qdrant_client import models

    out = []
    offset = None
    while True:
        records, offset = client.scroll(name, limit=BATCH, offset=offset, with_payload=True,
                                        with_vectors=[DENSE, SPARSE])
        for r in records:
            vectors = r.vector if isinstance(r.vector, dict) else {}
            dense, sparse = vectors.get(DENSE), vectors.get(SPARSE)
            if not isinstance(dense, list):
                raise MigrationError(f"collection {name!r}: point {r.id} has no {DENSE!r} vector; this is not a "
                                     "Newsdesk store")
            sv = (SparseVec([int(i) for i in sparse.indices], [float(v) for v in sparse.values])
                  if isinstance(sparse, models.SparseVector) else None)
            out.append((str(r.id), dict(r.payload or {}), [float(x) for x in dense], sv))
        if offset is None:
            return out


def migrate(settings: IndexerSettings, keep_old: bool = False,
            say: Callable[[str], None] | None = None) -> MigrationResult:
    """Copy the local-mode store at ``settings.qdrant_path`` into Edge collections there; see the module doc."""
    note = say or (lambda _m: None)
    root = Path(settings.qdrant_path)
    if settings.qdrant_url:
        raise MigrationError("migrate copies the embedded store; unset NEWSDESK_QDRANT_URL (a server needs none)")
    if not is_local_mode_folder(root):
        raise MigrationError(f"{root} holds no store written by qdrant-client's local mode; nothing to migrate")
    from qdrant_client import QdrantClient

    t_all = time.perf_counter()
    try:
        client = QdrantClient(path=str(root))
    except RuntimeError as exc:
        if "already accessed" in str(exc):
            raise MigrationError(f"the old store at {root} is in use by another process (a running service of "
                                 "the previous version?); stop it and run migrate again") from exc
        raise
    result = MigrationResult(str(root))
    try:
        names = sorted(c.name for c in client.get_collections().collections)
        aliases = {a.alias_name: a.collection_name for a in client.get_aliases().aliases}
        target = EdgeStore.open(settings, allow_local_mode=True)
        try:
            for name in names:
                copy = CollectionCopy(name)
                t0 = time.perf_counter()
                info = client.get_collection(name)
                vectors = info.config.params.vectors
                if not isinstance(vectors, dict) or DENSE not in vectors:
                    raise MigrationError(f"collection {name!r} has no {DENSE!r} vector; not a Newsdesk store")
                dim = int(vectors[DENSE].size)
                store = target.with_collection(name)
                if store.location.collection_dir(name).exists():  # left by an interrupted migration
                    store.location.remove(name)
                store.ensure(settings, dim)
                points = _source_points(client, name)
                note(f"copying {name}: {len(points)} points")
                store.upsert([PointData(pid, dense, sparse or SparseVec([], []), payload)
                              for pid, payload, dense, sparse in points], BATCH)
                copy.points = len(points)
                copy.verified = _verify(store, points)
                copy.optimize_seconds = store.optimize().seconds
                copy.seconds = time.perf_counter() - t0
                note(f"verified {name}: {copy.verified} of {copy.points} points")
                result.collections.append(copy)
            if aliases:
                missing = {a: c for a, c in aliases.items() if c not in names}
                if missing:
                    raise MigrationError(f"aliases point at missing collections: {missing}")
                target.location.write_aliases(aliases)
            result.aliases = aliases
        except BaseException:
            target.close()
            raise
        target.close()
    finally:
        client.close()
    _retire_old_files(root, keep_old)
    result.old_files = f"moved to {root / OLD_FOLDER}" if keep_old else "removed"
    result.seconds = time.perf_counter() - t_all
    return result


def _verify(store: EdgeStore, points: list[tuple[str, dict[str, Any], list[float], SparseVec | None]]) -> int:
    """Every source point read back from Edge and compared; raises MigrationError on the first difference."""
    copied = {p.id: p for p in store.scan_points(with_vectors=True)}
    if len(copied) != len(points):
        raise MigrationError(f"collection {store.collection!r}: {len(points)} points in the old store but "
                             f"{len(copied)} in the copy")
    for pid, payload, dense, sparse in points:
        got = copied.get(pid)
        if got is None:
            raise MigrationError(f"collection {store.collection!r}: point {pid} is missing from the copy")
        if payload_hash(got.payload) != payload_hash(payload):
            raise MigrationError(f"collection {store.collection!r}: point {pid} has a different payload")
        if got.dense is None or _cosine(got.dense, dense) < MIN_COSINE:
            raise MigrationError(f"collection {store.collection!r}: point {pid} has a different dense vector")
        if not _same_sparse(got.sparse if got.sparse and got.sparse.indices else None,
                            sparse if sparse and sparse.indices else None):
            raise MigrationError(f"collection {store.collection!r}: point {pid} has a different sparse vector")
    return len(points)


def _retire_old_files(root: Path, keep_old: bool) -> None:
    if keep_old:
        old = root / OLD_FOLDER
        old.mkdir(exist_ok=True)
        for name in LOCAL_MODE_FILES:
            if (root / name).exists():
                os.replace(root / name, old / name)
        return
    for name in LOCAL_MODE_FILES:
        path = root / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
