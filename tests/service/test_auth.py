"""Optional API key: /v1 needs the bearer token when one is set; health, readiness and docs stay open."""

from __future__ import annotations

import httpx
import pytest

from tests.service.conftest import API_KEY

CHAT = {"model": "newsdesk", "messages": [{"role": "user", "content": "What reopened?"}]}
V1_OPERATIONS: list[tuple[str, str, object]] = [
    ("POST", "/v1/search", {"query": "x"}), ("GET", "/v1/stats", None), ("POST", "/v1/ask", {"question": "x"}),
    ("DELETE", "/v1/documents/a", None), ("GET", "/v1/documents/a", None), ("GET", "/v1/documents/a/b.md", None),
    ("POST", "/v1/documents", {"id": "a", "text": "b"}),
    # the OpenAI-compatible routes too
    ("POST", "/v1/chat/completions", CHAT), ("POST", "/v1/chat/completions", {**CHAT, "stream": True}),
    ("GET", "/v1/models", None), ("GET", "/v1/models/newsdesk", None),
]
"""Every /v1 operation of the OpenAPI schema (checked by test_every_operation_is_listed)."""


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": API_KEY},
                                     {"Authorization": f"Basic {API_KEY}"}])
def test_v1_needs_the_key(auth_url: str, headers: dict[str, str]) -> None:
    for method, path, body in V1_OPERATIONS:
        r = httpx.request(method, auth_url + path, json=body, headers=headers)
        assert r.status_code == 401, (path, r.text)
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["error"] == "unauthorized" and "API key" in r.json()["message"]


def test_right_key_passes(auth_url: str) -> None:
    auth = {"Authorization": f"Bearer {API_KEY}"}
    # empty store: nothing indexed yet gives empty results, not an error
    r = httpx.post(auth_url + "/v1/search", json={"query": "anything"}, headers=auth)
    assert r.status_code == 200 and r.json()["hits"] == []
    assert httpx.get(auth_url + "/v1/stats", headers=auth).json()["exists"] is False
    r = httpx.post(auth_url + "/v1/ask", json={"question": "anything?"}, headers=auth)
    assert r.status_code == 200 and r.json()["found"] is False


@pytest.mark.parametrize("path", ["/health", "/ready", "/schema/openapi.json"])
def test_open_routes(auth_url: str, path: str) -> None:
    assert httpx.get(auth_url + path).status_code == 200


def test_no_key_configured_means_open(client: httpx.Client) -> None:
    assert client.get("/v1/stats").status_code == 200


def test_every_operation_is_listed(auth_url: str) -> None:
    paths = httpx.get(auth_url + "/schema/openapi.json").json()["paths"]
    documented = {(m.upper(), p) for p, item in paths.items() if p.startswith("/v1/") for m in item}
    listed = {(m, p.replace("/a/b.md", "/{doc_id}").replace("/documents/a", "/documents/{doc_id}")
               .replace("/models/newsdesk", "/models/{model_id}")) for m, p, _ in V1_OPERATIONS}
    assert documented == listed


def test_chat_routes_with_the_key(auth_url: str) -> None:
    auth = {"Authorization": f"Bearer {API_KEY}"}
    assert httpx.get(auth_url + "/v1/models", headers=auth).json()["data"][0]["id"] == "newsdesk"
    r = httpx.post(auth_url + "/v1/chat/completions", json=CHAT, headers=auth, timeout=60)
    assert r.status_code == 200 and r.json()["object"] == "chat.completion", r.text
