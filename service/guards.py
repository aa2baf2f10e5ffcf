"""What a request must satisfy before a handler runs: API keys (read and write), JSON bodies only (with bounded
nesting), the rate limit's identity, and a documents batch's size and unique ids.

Pure helpers first (callable without the HTTP layer), then the thin Litestar guards and the rate-limit
configuration that use them. Every refusal names what was wrong and, for a limit, the setting behind it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

import numpy as np
from litestar.connection import ASGIConnection, Request
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address

from indexer.articles import record_id
from service.errors import FieldError
from service.settings import ServiceSettings

JSON_MEDIA_TYPE = "application/json"
MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays/objects accepted in a request body. Article records are flat; a deep document is
an attack (1,000 levels overflow the decoder's recursion) or a mistake, refused before it is decoded."""

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_OPEN = np.zeros(256, dtype=np.int8)
_OPEN[[ord("["), ord("{")]] = 1
_OPEN[[ord("]"), ord("}")]] = -1


# --- pure helpers ---------------------------------------------------------------------------------------------
def bearer_token(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value; None for another scheme or none."""
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def key_matches(token: str | None, key: str | None) -> bool:
    """Constant-time comparison (the time does not depend on how much of the key was right)."""
    if not key:
        return False
    return hmac.compare_digest((token or "").encode(), key.encode())


def is_json_media_type(content_type: str) -> bool:
    """``application/json`` (any parameters, e.g. ``; charset=utf-8``) or a ``+json`` type."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == JSON_MEDIA_TYPE or (media.startswith("application/") and media.endswith("+json"))


def json_depth(body: bytes) -> int:
    """Deepest array/object nesting of a JSON text (brackets inside strings do not count), in linear time and
    without decoding it. For text that is not JSON the figure is meaningless but finite."""
    structure = _JSON_STRING.sub(b"", body)
    if not structure:
        return 0
    steps = _OPEN[np.frombuffer(structure, dtype=np.uint8)]
    return int(max(0, np.cumsum(steps, dtype=np.int64).max()))


def duplicate_ids(records: list[Any]) -> dict[str, list[int]]:
    """Ids that occur more than once in a batch, each with all its positions."""
    positions: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        doc_id = record_id(record)
        if doc_id is not None:
            positions.setdefault(doc_id, []).append(i)
    return {doc_id: at for doc_id, at in positions.items() if len(at) > 1}


# --- exceptions -----------------------------------------------------------------------------------------------
class UnsupportedMediaType(HTTPException):
    status_code = 415


# --- guards ---------------------------------------------------------------------------------------------------
def _settings(connection: ASGIConnection[Any, Any, Any, Any]) -> ServiceSettings:
    return connection.app.state.settings  # type: ignore[no-any-return]


def _token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    return bearer_token(connection.headers.get("authorization", ""))


def require_api_key(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Every /v1 route: with ``NEWSDESK_API_KEY`` set, ``Authorization: Bearer <key>`` (the write key also
    passes); otherwise open."""
    settings = _settings(connection)
    if not settings.api_key:
        return
    token = _token(connection)
    matches = [key_matches(token, settings.api_key), key_matches(token, settings.write_api_key)]  # both, always
    if not any(matches):
        raise NotAuthorizedException("missing or wrong API key (Authorization: Bearer <NEWSDESK_API_KEY>)",
                                     headers={"WWW-Authenticate": "Bearer"})


def require_write_key(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Writes (POST/DELETE /v1/documents): with ``NEWSDESK_WRITE_API_KEY`` set, that key; the read key is 403."""
    settings = _settings(connection)
    if not settings.write_api_key:
        return
    token = _token(connection)
    if key_matches(token, settings.write_api_key):
        return
    if key_matches(token, settings.api_key):
        raise PermissionDeniedException("this key may read but not change documents; writes need "
                                        "NEWSDESK_WRITE_API_KEY")
    raise NotAuthorizedException("missing or wrong write key (Authorization: Bearer <NEWSDESK_WRITE_API_KEY>)",
                                 headers={"WWW-Authenticate": "Bearer"})


async def require_json(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Bodies of POST/PUT/PATCH must be declared ``application/json`` (so a cross-origin ``text/plain`` form
    post, which needs no CORS preflight, cannot reach a handler) and nest at most :data:`MAX_JSON_DEPTH` levels.
    The body read here is cached on the request; the handler's decoding reuses it."""
    if connection.scope.get("method") not in _BODY_METHODS:
        return
    content_type = connection.headers.get("content-type", "")
    if not is_json_media_type(content_type):
        got = content_type.split(";", 1)[0].strip() or "none"
        raise UnsupportedMediaType(f"expected Content-Type: {JSON_MEDIA_TYPE} (got {got})")
    assert isinstance(connection, Request)
    depth = json_depth(await connection.body())
    if depth > MAX_JSON_DEPTH:
        raise FieldError("body", f"JSON nested {depth} levels deep; at most {MAX_JSON_DEPTH} are accepted")


def check_batch_size(count: int, settings: ServiceSettings) -> None:
    """A 400 (the schema's ``maxItems``, like any other schema violation) for a batch over the limit."""
    if count > settings.max_records:
        raise FieldError("body", f"{count} records in one request; at most {settings.max_records} "
                         "(NEWSDESK_MAX_RECORDS)")


# --- rate limit -----------------------------------------------------------------------------------------------
def rate_limit_identifier(request: Request[Any, Any, Any]) -> str:
    """Whom a request counts against: the configured key it presents, else the client address. (A wrong key
    counts against the address, so inventing keys does not escape the limit.)"""
    settings = _settings(request)
    token = _token(request)
    for key in (settings.write_api_key, settings.api_key):
        if key and key_matches(token, key):
            return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]
    return "addr:" + get_remote_address(request)


def rate_limit_config(settings: ServiceSettings) -> RateLimitConfig | None:
    """Litestar's rate-limit middleware for ``NEWSDESK_RATE_LIMIT`` (None when unset)."""
    rule = settings.rate_limit_rule()
    if rule is None:
        return None
    return RateLimitConfig(rate_limit=rule, identifier_for_request=rate_limit_identifier)
