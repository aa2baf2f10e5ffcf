"""Server mode: Qdrant going away gives 503 (with a message) and the service recovers by itself."""

from __future__ import annotations

import httpx
import pytest

from indexer.embedding import Embedder
from service.settings import ServiceSettings
from tests.qdrant_server import QdrantServer, QdrantUnavailable
from tests.service.helpers import ServerThread

pytestmark = pytest.mark.server


def test_qdrant_down_is_503_then_recovers(base_settings: ServiceSettings, embedder: Embedder) -> None:
    try:
        qdrant = QdrantServer().__enter__()
    except QdrantUnavailable as exc:
        pytest.skip(str(exc))
    try:
        settings = base_settings.model_copy(update={"qdrant_url": qdrant.url, "collection": "svc-server",
                                                    "qdrant_timeout_s": 3})
        with ServerThread(settings, embedder) as server, httpx.Client(base_url=server.url, timeout=60) as c:
            record = {"id": "srv-1", "title": "Dam repaired", "text": "Engineers finished repairing the dam."}
            assert c.post("/v1/documents", json=record).json()["results"][0]["status"] == "indexed"
            assert c.post("/v1/search", json={"query": "dam"}).json()["hits"][0]["doc_id"] == "srv-1"
            assert c.get("/ready").status_code == 200

            qdrant.node.stop()
            r = c.post("/v1/search", json={"query": "dam"})
            assert r.status_code == 503 and "unreachable" in r.json()["message"], r.text
            assert c.post("/v1/ask", json={"question": "What was repaired?"}).status_code == 503
            assert c.get("/ready").status_code == 503
            assert c.get("/health").status_code == 200

            qdrant.node.start()
            qdrant.node.wait_ready()
            assert c.get("/ready").status_code == 200
            assert c.post("/v1/search", json={"query": "dam"}).json()["hits"][0]["doc_id"] == "srv-1"
    finally:
        qdrant.close()
