"""Fixtures shared by the whole suite.

The real model, real tiktoken and a real embedded Qdrant are used throughout; the model is loaded once per
session because it is the slow part. Tests that read ../shared/data skip where it is absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.embedding import Embedder
from service.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (only CI and developer machines have it)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # exported OpenVINO models are reused from the developer's ./data/models when present
    local = REPO / "data" / "models"
    return local if local.is_dir() else tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def base_settings(model_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> ServiceSettings:
    """ServiceSettings independent of any .env or NEWSDESK_* variables of the developer's shell."""
    return ServiceSettings(
        _env_file=None,  # type: ignore[call-arg]
        qdrant_path=tmp_path_factory.mktemp("qdrant-unused"),
        qdrant_url=None,
        model_cache_dir=model_cache,
        collection="test",
    )


@pytest.fixture(scope="session")
def embedder(base_settings: ServiceSettings) -> Embedder:
    return Embedder(base_settings)


@pytest.fixture
def settings(base_settings: ServiceSettings, tmp_path: Path) -> ServiceSettings:
    """Fresh embedded store per test."""
    return base_settings.model_copy(update={"qdrant_path": tmp_path / "qdrant"})


@pytest.fixture
def samples_dir() -> Iterator[Path]:
    yield SAMPLES
