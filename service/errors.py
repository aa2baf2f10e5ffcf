"""Error bodies: every error is JSON ``{"error", "message", "detail"?, "request_id"}``, never a stack trace.

* validation (400): ``detail`` lists ``{"field", "message"}``, the field as a dotted path (``filters.source``);
  a documents batch none of whose records could be indexed adds ``results`` (one per record);
* other client errors keep their status (401, 403, 404, 405, 413, 415, 429 ...); a limit names its setting;
* Qdrant unreachable (server mode): 503; the HTTP client reconnects on the next request, nothing is cached;
* anything else: 500 with the request id, the traceback goes to the log only.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import httpx
from litestar import Request, Response
from litestar.exceptions import HTTPException, TooManyRequestsException, ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import ExceptionHandlersMap
from pydantic import BaseModel, Field
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

log = logging.getLogger("newsdesk.service")


class FieldDetail(BaseModel):
    field: str = Field(..., description="What was wrong, as a dotted path: 'limit', 'filters.published_after', "
                       "'body' (the whole body), 'body[3]' (the fourth record of a batch).")
    message: str


class ErrorBody(BaseModel):
    """The body of every error response (documented in the OpenAPI schema as such)."""

    error: str = Field(..., description="'validation' for 400; else the status in words: 'unauthorized', "
                       "'forbidden', 'not_found', 'request_entity_too_large', 'unsupported_media_type', "
                       "'too_many_requests', 'qdrant_unavailable', 'internal' ...")
    message: str = Field(..., description="What was wrong, for a person; a limit names its setting.")
    detail: list[FieldDetail] | None = Field(None, description="400 only: one entry per wrong field.")
    results: list[dict[str, Any]] | None = Field(
        None, description="POST /v1/documents when no record could be indexed: each record's result.")
    request_id: str | None = Field(None, description="Also in the X-Request-ID header and the service's log.")


class FieldError(ValidationException):
    """A validation error found by a handler (not by the body schema); named fields as for schema errors."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(detail="Validation failed", extra=[{"key": field, "message": message}])


class ServiceUnavailable(HTTPException):
    status_code = 503


class RejectedBatch(ValidationException):
    """A documents batch none of whose records could be indexed: 400 with every record's result."""

    def __init__(self, detail: list[dict[str, str]], results: list[dict[str, Any]]) -> None:
        super().__init__(detail="no record could be indexed",
                         extra=[{"key": d["field"], "message": d["message"]} for d in detail])
        self.results = results


def request_id(request: Request[Any, Any, Any]) -> str | None:
    return request.scope.get("state", {}).get("request_id")


def _body(request: Request[Any, Any, Any], error: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": error, "message": message, **extra, "request_id": request_id(request)}


def _clean(message: str) -> str:
    if message.startswith("String should match pattern '[^\\s"):  # schemas.NOT_BLANK
        return "must contain a character that is not white space"
    return message.removeprefix("Value error, ")


def on_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    detail = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            detail.append({"field": str(item.get("key") or "body"), "message": _clean(str(item.get("message")))})
    if not detail:
        detail = [{"field": "body", "message": str(exc.detail)}]
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in detail)
    if isinstance(exc, RejectedBatch):
        summary = f"no record could be indexed: {summary}"
        return Response(_body(request, "validation", summary, detail=detail, results=exc.results), status_code=400)
    return Response(_body(request, "validation", summary, detail=detail), status_code=400)


def on_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if status == 400:  # malformed JSON and other body decoding problems
        return Response(
            _body(request, "validation", str(exc.detail), detail=[{"field": "body", "message": str(exc.detail)}]),
            status_code=400,
        )
    try:
        slug = HTTPStatus(status).phrase.lower().replace(" ", "_")
    except ValueError:
        slug = "error"
    headers = dict(exc.headers or {})
    message = str(exc.detail)
    if isinstance(exc, RequestEntityTooLarge):
        limit = request.app.state.settings.max_body_bytes
        message = f"request body over {limit} bytes (NEWSDESK_MAX_BODY_BYTES)"
    elif isinstance(exc, TooManyRequestsException):
        reset = next((v for k, v in headers.items() if k.lower() == "ratelimit-reset"), "1")
        headers["Retry-After"] = str(max(1, int(reset))) if reset.isdigit() else "1"
        message = (f"over the rate limit of {request.app.state.settings.rate_limit} (NEWSDESK_RATE_LIMIT); "
                   f"retry after {headers['Retry-After']} s")
    return Response(_body(request, slug, message), status_code=status, headers=headers)


def on_qdrant_unreachable(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    settings = request.app.state.settings
    log.warning("qdrant unreachable at %s: %s", settings.location(), exc)
    message = "the vector store is unreachable; retry shortly"
    return Response(_body(request, "qdrant_unavailable", message), status_code=503, headers={"Retry-After": "5"})


def on_qdrant_response(request: Request[Any, Any, Any], exc: UnexpectedResponse) -> Response[dict[str, Any]]:
    if exc.status_code is not None and exc.status_code >= 500:
        return on_qdrant_unreachable(request, exc)
    return on_unexpected(request, exc)


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.error("unhandled error (request %s)", request_id(request), exc_info=exc)
    message = "internal error; quote the request id when reporting it"
    return Response(_body(request, "internal", message), status_code=500)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ValidationException: on_validation,
    HTTPException: on_http,
    ResponseHandlingException: on_qdrant_unreachable,
    httpx.TransportError: on_qdrant_unreachable,
    UnexpectedResponse: on_qdrant_response,
    Exception: on_unexpected,
}
