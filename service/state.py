"""Resources created once per process and shared by every request: client, model, retriever, indexer.

Local-mode Qdrant (the embedded store) keeps its points in plain Python/numpy structures and one SQLite
connection; it is not safe to call from several threads at once, and Litestar runs sync handlers in a thread
pool. The OpenVINO model behind the embedder reuses one inference request per compiled model, so it is not
thread-safe either. Both are therefore wrapped in proxies that hold a lock for the duration of each call:

* the embedder lock is taken per batch of ``EMBED_SLICE`` texts, so a query embedding waits at most one slice
  (about a second) behind a large ``POST /v1/documents`` instead of the whole upload;
* the client lock is taken per client call (local mode only; the HTTP client of server mode is thread-safe),
  so reads interleave with a running ingest between its upserts.

Writes are additionally serialised among themselves (``write_lock``): the Indexer decides replace/unchanged
from a scan of the documents' state, which a concurrent write could make stale.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from qdrant_client import QdrantClient

from indexer import collection as coll
from indexer.embedding import Embedder
from indexer.pipeline import Indexer
from indexer.settings import Settings
from service.retrieval import Retriever

log = logging.getLogger("newsdesk.service")

EMBED_SLICE = 16
"""Texts embedded per lock hold (about 0.9 s of CPU at 256 tokens each)."""


class LockedClient:
    """Forwards every attribute of a QdrantClient; each method call runs under ``lock``."""

    def __init__(self, client: QdrantClient, lock: threading.Lock) -> None:
        self._wrapped = client
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._wrapped, name)
        if not callable(value) or name.startswith("__"):
            return value

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return value(*args, **kwargs)

        return locked


class LockedEmbedder:
    """Forwards every attribute of an Embedder; ``encode`` runs under ``lock`` in slices of EMBED_SLICE."""

    def __init__(self, embedder: Embedder, lock: threading.Lock) -> None:
        self._wrapped = embedder
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        if len(texts) <= EMBED_SLICE:
            with self._lock:
                return self._wrapped.encode(texts, batch_size)
        parts = []
        for i in range(0, len(texts), EMBED_SLICE):
            with self._lock:
                parts.append(self._wrapped.encode(texts[i : i + EMBED_SLICE], batch_size))
        return np.concatenate(parts, axis=0)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


@dataclass
class AppState:
    """What handlers reach through ``request.app.state.newsdesk`` (see ``service.app.get_state``)."""

    settings: Settings
    client: QdrantClient
    """The shared client (lock-wrapped in local mode); use it for reads outside the retriever."""
    embedder: Embedder
    retriever: Retriever
    indexer: Indexer
    write_lock: threading.Lock = field(default_factory=threading.Lock)
    _raw_client: QdrantClient | None = None

    @property
    def local(self) -> bool:
        return not self.settings.uses_server

    def close(self) -> None:
        raw = self._raw_client or self.client
        with contextlib.suppress(Exception):
            raw.close()


def build_state(settings: Settings, embedder: Embedder | None = None) -> AppState:
    """Open the store and load the model. Raises StoreLockedError / EmbeddingError with a readable message.

    The store is opened first: when another process holds it, that is reported before seconds of model
    loading. ``embedder`` lets a caller (tests, benchmarks) share an already loaded model.
    """
    raw = coll.open_client(settings)
    try:
        model = embedder if embedder is not None else Embedder(settings)
    except BaseException:
        raw.close()
        raise
    client = raw
    if not settings.uses_server:
        client = cast(QdrantClient, LockedClient(raw, threading.Lock()))
    shared = cast(Embedder, LockedEmbedder(model, threading.Lock()))
    retriever = Retriever(settings, client, shared)
    indexer = Indexer(settings, client=client, embedder=shared)
    log.info("ready: store %s, collection %r, model %s", settings.location(), settings.collection, model.name)
    return AppState(settings, client, shared, retriever, indexer, _raw_client=raw)
