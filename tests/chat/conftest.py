"""Real servers for the chat tests: the app served by uvicorn over an embedded store that the real Indexer
filled from samples/; one open, one with an API key and CORS origins. Both share the session's model."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.embedding import Embedder
from indexer.pipeline import Indexer
from service.settings import ServiceSettings
from tests.conftest import SAMPLES
from tests.service.helpers import ServerThread

API_KEY = "chat-test-key"
ALLOWED_ORIGIN = "http://allowed.example"


def _indexed(settings: ServiceSettings, embedder: Embedder) -> None:
    indexer = Indexer(settings, embedder=embedder)
    try:
        report = indexer.ingest_paths([SAMPLES])
    finally:
        indexer.close()
    assert report.count("indexed") >= 5 and not report.skipped


@pytest.fixture(scope="session")
def chat_url(base_settings: ServiceSettings, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = base_settings.model_copy(update={
        "qdrant_path": Path(tmp_path_factory.mktemp("chat")) / "qdrant", "collection": "chat",
    })
    _indexed(settings, embedder)
    with ServerThread(settings, embedder) as server:
        yield server.url


@pytest.fixture(scope="session")
def keyed_url(base_settings: ServiceSettings, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = base_settings.model_copy(update={
        "qdrant_path": Path(tmp_path_factory.mktemp("chat-keyed")) / "qdrant", "collection": "chat",
        "api_key": API_KEY, "cors_origins": [ALLOWED_ORIGIN],
    })
    _indexed(settings, embedder)
    with ServerThread(settings, embedder) as server:
        yield server.url


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self) -> list[str]:
        return [r.getMessage() for r in self.records]


@pytest.fixture
def stream_log() -> Iterator[Records]:
    """Records of the ``newsdesk.stream`` logger (the service's loggers do not propagate to the root)."""
    handler = Records()
    logger = logging.getLogger("newsdesk.stream")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
