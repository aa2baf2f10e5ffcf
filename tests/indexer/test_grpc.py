"""``NEWSDESK_QDRANT_PREFER_GRPC``: the Store talks to a Qdrant server over gRPC, and every read the service and
the indexer make gives the same answer as over HTTP (ids, scores, payloads, document state)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from indexer.collection import open_store
from indexer.pipeline import Indexer
from indexer.settings import IndexerSettings
from service.retrieval import Retriever
from service.settings import ServiceSettings
from tests.indexer.helpers import write_articles
from tests.qdrant_server import QdrantServer

pytestmark = pytest.mark.server


class HashEncoder:
    """Deterministic unit vectors from text hashes: no model needed to compare two transports."""

    dim = 16
    name = "hash"

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        out = np.stack([np.random.default_rng(int(hashlib.sha1(t.encode()).hexdigest()[:8], 16)).normal(size=self.dim)
                        for t in texts]).astype(np.float32) if texts else np.zeros((0, self.dim), np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True) if len(out) else out

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


def test_settings_read_prefer_grpc_and_port_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_QDRANT_PREFER_GRPC", "true")
    monkeypatch.setenv("NEWSDESK_QDRANT_GRPC_PORT", "16334")
    s = IndexerSettings(_env_file=None)  # type: ignore[call-arg]
    assert s.qdrant_prefer_grpc is True and s.qdrant_grpc_port == 16334
    assert IndexerSettings(_env_file=None, qdrant_prefer_grpc=False).qdrant_prefer_grpc is False  # type: ignore[call-arg]


@pytest.fixture
def server() -> Iterator[QdrantServer]:
    """A server of this test's own: its gRPC port is needed, which the session fixture does not expose."""
    with QdrantServer() as s:
        yield s


def test_grpc_and_http_give_the_same_reads(server: QdrantServer, settings: ServiceSettings, tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 9, paragraphs=4)
    base = settings.model_copy(update={"qdrant_url": server.url, "qdrant_grpc_port": server.node.grpc_port,
                                       "collection": f"grpc-{uuid.uuid4().hex[:8]}"})
    encoder = HashEncoder()
    http_store = open_store(base)
    grpc_settings = base.model_copy(update={"qdrant_prefer_grpc": True})
    grpc_store = open_store(grpc_settings)
    try:
        assert grpc_store.client._client.__class__.__name__ == "QdrantRemote"
        assert grpc_store.client._client._prefer_grpc is True  # type: ignore[attr-defined]
        # written over gRPC, read over both
        report = Indexer(grpc_settings, store=grpc_store, embedder=encoder).ingest_paths([tmp_path / "in"])  # type: ignore[arg-type]
        assert report.summary()["indexed"] == 9
        assert grpc_store.scan_documents() == http_store.scan_documents()
        assert grpc_store.count() == http_store.count() > 9
        for question in ("river flood barriers cost", "Dana Reyes 4 housing plan", "airport runway complaints"):
            for mode in ("dense", "sparse", "hybrid"):
                hits = [Retriever.for_store(s, st, encoder).search(question, limit=5, mode=mode).hits  # type: ignore[arg-type]
                        for s, st in ((base, http_store), (grpc_settings, grpc_store))]
                assert [h.chunk_id for h in hits[0]] == [h.chunk_id for h in hits[1]], (question, mode)
                assert [h.text for h in hits[0]] == [h.text for h in hits[1]]
                assert [h.published_at for h in hits[0]] == [h.published_at for h in hits[1]]
                assert np.allclose([h.score for h in hits[0]], [h.score for h in hits[1]], atol=1e-5)
                assert hits[0], (question, mode)
    finally:
        http_store.close()
        grpc_store.close()
