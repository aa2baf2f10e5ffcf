"""Who may do what, over real HTTP: a separate write key for POST/DELETE /v1/documents, and the rate limit
per API key (per client address when no key is sent)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from indexer.embedding import Embedder
from service.settings import ServiceSettings
from tests.service.helpers import ServerThread

READ_KEY = "read-key-5678"
WRITE_KEY = "write-key-9012"
RECORD = {"id": "acc-1", "title": "Ferry timetable", "text": "The winter ferry timetable starts on Monday."}


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _server(base: ServiceSettings, embedder: Embedder, folder: Path, **update: object) -> ServerThread:
    return ServerThread(base.model_copy(update={"qdrant_path": folder / "qdrant", "collection": "acc", **update}),
                        embedder)


@pytest.fixture(scope="module")
def write_url(base_settings: ServiceSettings, embedder: Embedder,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _server(base_settings, embedder, tmp_path_factory.mktemp("write"), api_key=READ_KEY,
                 write_api_key=WRITE_KEY) as server:
        yield server.url


def test_writes_need_the_write_key(write_url: str) -> None:
    with httpx.Client(base_url=write_url, timeout=60) as c:
        r = c.post("/v1/documents", json=RECORD, headers=_auth(READ_KEY))
        assert r.status_code == 403, r.text
        assert r.json()["error"] == "forbidden" and "NEWSDESK_WRITE_API_KEY" in r.json()["message"]
        for headers in ({}, _auth("nope")):
            r = c.post("/v1/documents", json=RECORD, headers=headers)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert c.get("/v1/documents/acc-1", headers=_auth(READ_KEY)).status_code == 404  # nothing was written

        r = c.post("/v1/documents", json=RECORD, headers=_auth(WRITE_KEY))
        assert r.status_code == 200 and r.json()["results"][0]["status"] == "indexed", r.text
        # reads take either key
        assert c.get("/v1/documents/acc-1", headers=_auth(READ_KEY)).status_code == 200
        hits = c.post("/v1/search", json={"query": "ferry timetable"}, headers=_auth(WRITE_KEY)).json()["hits"]
        assert hits[0]["doc_id"] == "acc-1"

        assert c.delete("/v1/documents/acc-1", headers=_auth(READ_KEY)).status_code == 403
        assert c.delete("/v1/documents/acc-1").status_code == 401
        assert c.get("/v1/documents/acc-1", headers=_auth(READ_KEY)).status_code == 200
        assert c.delete("/v1/documents/acc-1", headers=_auth(WRITE_KEY)).status_code == 200


def test_write_key_alone_leaves_reads_open(base_settings: ServiceSettings, embedder: Embedder, tmp_path: Path) -> None:
    with _server(base_settings, embedder, tmp_path, write_api_key=WRITE_KEY) as server, \
            httpx.Client(base_url=server.url, timeout=60) as c:
        assert c.post("/v1/search", json={"query": "anything"}).status_code == 200
        assert c.post("/v1/documents", json=RECORD).status_code == 401
        assert c.post("/v1/documents", json=RECORD, headers=_auth("guess")).status_code == 401
        assert c.post("/v1/documents", json=RECORD, headers=_auth(WRITE_KEY)).status_code == 200


def _statuses(c: httpx.Client, n: int, headers: dict[str, str]) -> list[int]:
    return [c.get("/v1/models", headers=headers).status_code for _ in range(n)]


def test_rate_limit_per_key(base_settings: ServiceSettings, embedder: Embedder, tmp_path: Path) -> None:
    with _server(base_settings, embedder, tmp_path, api_key=READ_KEY, write_api_key=WRITE_KEY,
                 rate_limit="3/minute") as server, httpx.Client(base_url=server.url, timeout=60) as c:
        assert _statuses(c, 3, _auth(READ_KEY)) == [200, 200, 200]
        r = c.post("/v1/search", json={"query": "x"}, headers=_auth(READ_KEY))
        assert r.status_code == 429, r.text
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert r.json()["error"] == "too_many_requests"
        assert "3/minute (NEWSDESK_RATE_LIMIT)" in r.json()["message"]
        # another key has its own budget
        assert _statuses(c, 3, _auth(WRITE_KEY)) == [200, 200, 200]
        assert _statuses(c, 1, _auth(WRITE_KEY)) == [429]
        # made-up keys count against the client's address, so inventing keys does not escape the limit
        assert [c.get("/v1/models", headers=_auth(f"guess-{i}")).status_code for i in range(4)] == [401] * 3 + [429]
        # outside /v1 nothing is limited
        assert {c.get("/health").status_code for _ in range(5)} == {200}
        assert c.get("/ready").status_code == 200
        # and the schema says so
        paths = c.get("/schema/openapi.json").json()["paths"]
        limited = paths["/v1/search"]["post"]["responses"]["429"]
        assert "Retry-After" in limited["headers"] and "429" not in paths["/health"]["get"]["responses"]
        assert "403" in paths["/v1/documents"]["post"]["responses"]
        assert "403" not in paths["/v1/search"]["post"]["responses"]


def test_rate_limit_per_address_without_keys(base_settings: ServiceSettings, embedder: Embedder,
                                             tmp_path: Path) -> None:
    with _server(base_settings, embedder, tmp_path, rate_limit="2/minute") as server, \
            httpx.Client(base_url=server.url, timeout=60) as c:
        assert _statuses(c, 3, {}) == [200, 200, 429]
        assert _statuses(c, 1, _auth("anything")) == [429]


def test_rate_limit_off_by_default(write_url: str) -> None:
    with httpx.Client(base_url=write_url) as c:
        assert set(_statuses(c, 30, _auth(READ_KEY))) == {200}
