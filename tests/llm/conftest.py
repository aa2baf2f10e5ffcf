"""The real llama.cpp server fixture (tests/llm_server.py) for this folder, and the service that uses it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.embedding import Embedder
from indexer.pipeline import Indexer
from service.settings import ServiceSettings
from tests.conftest import SAMPLES
from tests.llm_server import llm_server, llm_server_url, served_model_name  # noqa: F401
from tests.service.helpers import ServerThread


def _settings(base: ServiceSettings, tmp: Path, **llm: object) -> ServiceSettings:
    return base.model_copy(update={"qdrant_path": tmp / "qdrant", "collection": "llm", **llm})


@pytest.fixture(scope="package")
def llm_settings(base_settings: ServiceSettings, llm_server_url: str,  # noqa: F811
                 tmp_path_factory: pytest.TempPathFactory) -> ServiceSettings:
    settings = _settings(base_settings, tmp_path_factory.mktemp("llm"), llm_base_url=llm_server_url,
                         llm_model=served_model_name(), llm_timeout_s=300.0)
    return settings


@pytest.fixture(scope="package")
def llm_url(llm_settings: ServiceSettings, embedder: Embedder) -> Iterator[str]:
    indexer = Indexer(llm_settings, embedder=embedder)
    assert not indexer.ingest_paths([SAMPLES]).skipped
    indexer.close()
    with ServerThread(llm_settings, embedder) as server:
        yield server.url
