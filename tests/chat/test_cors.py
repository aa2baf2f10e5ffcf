"""CORS as a setting: NEWSDESK_CORS_ORIGINS -> Litestar CORSConfig; preflights from other origins get nothing."""

from __future__ import annotations

import httpx

from tests.chat.conftest import ALLOWED_ORIGIN

PREFLIGHT = {"Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}


def test_preflight_from_allowed_origin(keyed_url: str) -> None:
    for path in ("/v1/ask", "/v1/chat/completions"):
        resp = httpx.options(f"{keyed_url}{path}", headers={"Origin": ALLOWED_ORIGIN, **PREFLIGHT}, timeout=10)
        assert resp.status_code in (200, 204), resp.text
        assert resp.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        allowed = resp.headers["access-control-allow-headers"].lower()
        assert allowed == "*" or {"authorization", "content-type"} <= {h.strip() for h in allowed.split(",")}


def test_preflight_from_other_origin(keyed_url: str) -> None:
    resp = httpx.options(f"{keyed_url}/v1/ask", headers={"Origin": "http://evil.example", **PREFLIGHT}, timeout=10)
    assert "access-control-allow-origin" not in resp.headers


def test_simple_request_headers(keyed_url: str, chat_url: str) -> None:
    ok = httpx.get(f"{keyed_url}/health", headers={"Origin": ALLOWED_ORIGIN}, timeout=10)
    assert ok.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    other = httpx.get(f"{keyed_url}/health", headers={"Origin": "http://evil.example"}, timeout=10)
    assert "access-control-allow-origin" not in other.headers
    # no origins configured: no CORS headers at all
    off = httpx.options(f"{chat_url}/v1/ask", headers={"Origin": ALLOWED_ORIGIN, **PREFLIGHT}, timeout=10)
    assert "access-control-allow-origin" not in off.headers
