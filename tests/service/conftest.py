"""Session-wide real servers: one over an embedded store filled from samples/ by the real Indexer, one
with an API key over an empty store. Both share the session's model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from indexer.embedding import Embedder
from indexer.pipeline import Indexer
from service.settings import ServiceSettings
from tests.conftest import SAMPLES
from tests.service.helpers import ServerThread

API_KEY = "test-key-1234"
MAX_BODY = 64_000


@pytest.fixture(scope="session")
def service_settings(base_settings: ServiceSettings, tmp_path_factory: pytest.TempPathFactory) -> ServiceSettings:
    return base_settings.model_copy(update={
        "qdrant_path": tmp_path_factory.mktemp("svc") / "qdrant", "collection": "svc",
        "max_body_bytes": MAX_BODY, "max_question_chars": 300,
    })


@pytest.fixture(scope="session")
def service_url(service_settings: ServiceSettings, embedder: Embedder) -> Iterator[str]:
    indexer = Indexer(service_settings, embedder=embedder)
    report = indexer.ingest_paths([SAMPLES])
    indexer.close()
    assert report.count("indexed") == 11 and not report.skipped
    with ServerThread(service_settings, embedder) as server:
        yield server.url


@pytest.fixture
def client(service_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service_url, timeout=60) as c:
        yield c


@pytest.fixture(scope="session")
def auth_url(base_settings: ServiceSettings, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = base_settings.model_copy(update={
        "qdrant_path": Path(tmp_path_factory.mktemp("auth")) / "qdrant", "api_key": API_KEY,
    })
    with ServerThread(settings, embedder) as server:
        yield server.url
