"""`python -m service` as a real process: it holds the embedded store, so the indexer CLI and a second service
are refused with a clear message (no traceback); each request leaves one JSON log line."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.settings import ServiceSettings
from tests.conftest import SAMPLES
from tests.service.helpers import REPO, free_port, service_env, start_service_process, wait_ready


@pytest.fixture(scope="module")
def running_service(base_settings: ServiceSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], Path]]:
    workdir = tmp_path_factory.mktemp("proc")
    settings = base_settings.model_copy(update={"qdrant_path": workdir / "qdrant", "collection": "proc"})
    port = free_port()
    env = service_env(settings, NEWSDESK_PORT=str(port), NEWSDESK_HOST="127.0.0.1")
    log = workdir / "service.log"
    proc = start_service_process(env, log)
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
        yield f"http://127.0.0.1:{port}", env, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode in (0, -15), log.read_text()


def test_indexer_cli_is_told_to_use_the_api(running_service: tuple[str, dict[str, str], Path]) -> None:
    _, env, _ = running_service
    out = subprocess.run([sys.executable, "-m", "indexer", "ingest", "--no-progress", str(SAMPLES)], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stderr
    assert "POST /v1/documents" in out.stderr and "Traceback" not in out.stderr


def test_second_service_on_the_same_store_exits_cleanly(running_service: tuple[str, dict[str, str], Path]) -> None:
    _, env, _ = running_service
    env = env | {"NEWSDESK_PORT": str(free_port())}
    out = subprocess.run([sys.executable, "-m", "service"], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 1
    assert "in use by another process" in out.stderr and "Traceback" not in out.stderr


def test_ingest_through_the_service_and_json_access_log(running_service: tuple[str, dict[str, str], Path]) -> None:
    url, _, log = running_service
    record = {"id": "proc-1", "title": "Harbour fire", "text": "A fire broke out in a warehouse at the harbour."}
    r = httpx.post(f"{url}/v1/documents", json=record, headers={"X-Request-ID": "proc-req-1"}, timeout=60)
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "indexed"
    hits = httpx.post(f"{url}/v1/search", json={"query": "warehouse fire"}, timeout=60).json()["hits"]
    assert hits[0]["doc_id"] == "proc-1"
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [x for x in lines if x.get("logger") == "newsdesk.access" and x.get("request_id") == "proc-req-1"]
    assert len(access) == 1
    assert access[0]["method"] == "POST" and access[0]["path"] == "/v1/documents" and access[0]["status"] == 200
    assert access[0]["duration_ms"] > 0
