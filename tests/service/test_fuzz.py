"""The small version of scripts/trials/fuzz.py: schemathesis over every operation of the served OpenAPI schema
(every check), against a real server with a read and a write key. No 5xx, no response unlike the schema, no
schema-invalid request accepted; the full run and its figures are in the README ("Reliability")."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.embedding import Embedder
from indexer.pipeline import Indexer
from service.settings import ServiceSettings
from tests.conftest import REPO, SAMPLES
from tests.service.helpers import ServerThread

pytestmark = pytest.mark.fuzz

READ_KEY = "fuzz-test-read"
WRITE_KEY = "fuzz-test-write"


@pytest.fixture(scope="module")
def fuzz_url(base_settings: ServiceSettings, embedder: Embedder,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = base_settings.model_copy(update={
        "qdrant_path": tmp_path_factory.mktemp("fuzz") / "qdrant", "collection": "fuzz",
        "api_key": READ_KEY, "write_api_key": WRITE_KEY,
    })
    indexer = Indexer(settings, embedder=embedder)
    try:
        indexer.ingest_paths([SAMPLES])
    finally:
        indexer.close()
    with ServerThread(settings, embedder) as server:
        yield server.url


def test_schemathesis_finds_nothing(fuzz_url: str, tmp_path: Path) -> None:
    out = tmp_path / "fuzz.json"
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "trials" / "fuzz.py"), "--url", fuzz_url,
                           "--key", WRITE_KEY, "--max-examples", "2", "--seed", "7", "--json-out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert out.exists(), done.stdout + done.stderr
    print(done.stdout)
    result = json.loads(out.read_text())
    assert result["operations"] == 13
    assert result["requests"] >= 100, result["requests_by_status"]
    assert result["server_errors"] == 0, result["output_tail"]
    assert result["failures"] == [] and result["errors"] == [], result["output_tail"]
    assert result["passed"] and done.returncode == 0, done.stdout + done.stderr
    # the keys were exercised: requests without one were refused
    assert result["requests_by_status"].get("401", 0) > 0
