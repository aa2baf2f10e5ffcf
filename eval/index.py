"""Throwaway embedded Qdrant indexes for evaluation, cached by corpus hash + index-shaping settings.

The index is built with the project's real :class:`indexer.pipeline.Indexer`. Its cache key covers the corpus,
the settings in :data:`indexer.settings.INDEX_SHAPING_FIELDS` and the source of the indexer modules that shape chunks and
sparse vectors, so retrieval-only settings (mode, fusion, dense_weight, prefetch) never re-index, and a second
run with the same corpus and settings skips indexing altogether.

Dense vectors are also cached per text (``embeddings/``), independently of the index: a BM25 or title change
re-indexes without re-embedding any chunk it has seen before, and query vectors are computed once per model.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from eval.datasets import Dataset
from indexer.articles import Article, InputError, article_from_record
from indexer.backends.edge import is_local_mode_folder
from indexer.collection import Store, open_store
from indexer.embedding import Embedder
from indexer.pipeline import Indexer
from indexer.readers import Skipped
from indexer.settings import IndexerSettings
from service.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = REPO / ".eval-cache"
_SHAPING_SOURCES = ("articles.py", "cleaning.py", "chunking.py", "sentences.py", "sparse.py", "pipeline.py")
COLLECTION = "eval"


def code_hash() -> str:
    h = hashlib.sha256()
    for name in _SHAPING_SOURCES:
        h.update((REPO / "indexer" / name).read_bytes())
    return h.hexdigest()[:12]


def index_key(dataset: Dataset, settings: IndexerSettings) -> str:
    body = json.dumps([dataset.corpus_hash(), settings.index_shape(), code_hash()], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


class CachingEmbedder(Embedder):
    """The real embedder, with a persistent text -> vector cache in front of it."""

    def __init__(self, settings: IndexerSettings, cache_dir: Path) -> None:
        super().__init__(settings)
        key = hashlib.sha256(json.dumps(settings.embed_key()).encode()).hexdigest()[:12]
        self.cache_dir = cache_dir / "embeddings" / key
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self._vectors: dict[str, np.ndarray] = {}
        self._new: dict[str, np.ndarray] = {}
        self._shards = 0
        for shard in sorted(self.cache_dir.glob("*.npz")):
            with np.load(shard) as data:
                self._vectors.update(zip(data["keys"].tolist(), data["vectors"], strict=True))

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in self._vectors}.items())
        if missing:
            fresh = super().encode([t for _, t in missing], batch_size)
            for (k, _), v in zip(missing, fresh, strict=True):
                self._vectors[k] = self._new[k] = v
            if len(self._new) >= 2048:
                self.save()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """Cached like any text (``Embedder.encode_query`` goes straight to the model's solo request)."""
        return self.encode([text])[0]

    def save(self) -> None:
        if not self._new:
            return
        self._shards += 1
        name = self.cache_dir / f"{os.getpid()}-{self._shards}-{next(iter(self._new))[:8]}.npz"
        tmp = name.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(list(self._new)), vectors=np.stack(list(self._new.values())))
        tmp.rename(name)
        self._new = {}


@dataclass
class ChunkTable:
    """Every stored chunk with its dense vector, read back from Qdrant (what the baselines search)."""

    chunk_ids: list[str]
    doc_ids: list[str]
    texts: list[str]
    titles: list[str]
    vectors: np.ndarray


@dataclass
class EvalIndex:
    key: str
    path: Path
    settings: ServiceSettings
    store: Store
    built_seconds: float | None
    """Seconds spent indexing in this run (None: reused from the cache)."""
    stats: dict[str, Any]
    _table: ChunkTable | None = None

    def chunk_table(self) -> ChunkTable:
        if self._table is None:
            ids, docs, texts, titles, vecs = [], [], [], [], []
            for hit, vec in self.store.scan_hits():
                ids.append(hit.chunk_id)
                docs.append(hit.doc_id)
                texts.append(hit.text)
                titles.append(hit.title)
                vecs.append(np.asarray(vec, dtype=np.float32))
            self._table = ChunkTable(ids, docs, texts, titles, np.stack(vecs))
        return self._table


def _articles(dataset: Dataset) -> list[Article | Skipped]:
    out: list[Article | Skipped] = []
    for i, rec in enumerate(dataset.corpus):
        try:
            out.append(article_from_record(rec, origin=f"eval:{dataset.name}"))
        except InputError as exc:
            out.append(Skipped(f"corpus.jsonl:{i + 1}", str(exc), str(rec.get("_id", "")) or None))
    return out


def open_index(dataset: Dataset, settings: ServiceSettings, embedder: CachingEmbedder, cache_dir: Path) -> EvalIndex:
    """The cached index for this corpus and these index-shaping settings, built first if needed."""
    key = index_key(dataset, settings)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset.name)
    path = cache_dir / "indexes" / f"{slug}-{key}"
    local = settings.model_copy(update={"qdrant_path": path / "qdrant", "qdrant_url": None,
                                        "collection": COLLECTION})
    marker = path / "complete.json"
    if is_local_mode_folder(path / "qdrant"):  # a cache built before the Edge store: built again
        shutil.rmtree(path)
    store = open_store(local)
    if marker.is_file() and store.exists():
        return EvalIndex(key, path, local, store, None, json.loads(marker.read_text()))
    store.drop()  # a half-built index from an interrupted run
    items = _articles(dataset)
    bar = tqdm(total=len(items), desc=f"index {dataset.name} ({key[:6]})", unit="doc")

    def progress(docs: int, chunks: int) -> None:
        bar.n = docs
        bar.set_postfix(chunks=chunks)
        bar.refresh()

    indexer = Indexer(local, store=store, embedder=embedder)
    report = indexer.ingest(items, progress=progress)
    bar.close()
    embedder.save()
    stats = {**report.summary(), "shaping": local.index_shape(),
             "skipped_docs": [r.error for r in report.skipped][:20]}
    marker.write_text(json.dumps(stats, indent=2, default=str))
    return EvalIndex(key, path, local, store, report.seconds, stats)
