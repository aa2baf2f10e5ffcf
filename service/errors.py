"""Error bodies: every error is JSON ``{"error", "message", "detail"?, "request_id"}``, never a stack trace.

* validation (400): ``detail`` lists ``{"field", "message"}``, the field as a dotted path (``filters.source``);
* other client errors keep their status (401, 404, 405, 413 ...);
* Qdrant unreachable (server mode): 503; the HTTP client reconnects on the next request, nothing is cached;
* anything else: 500 with the request id, the traceback goes to the log only.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import httpx
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

log = logging.getLogger("newsdesk.service")


class FieldError(ValidationException):
    """A validation error found by a handler (not by the body schema); named fields as for schema errors."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(detail="Validation failed", extra=[{"key": field, "message": message}])


class ServiceUnavailable(HTTPException):
    status_code = 503


def request_id(request: Request[Any, Any, Any]) -> str | None:
    return request.scope.get("state", {}).get("request_id")


def _body(request: Request[Any, Any, Any], error: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": error, "message": message, **extra, "request_id": request_id(request)}


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ")


def on_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    detail = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            detail.append({"field": str(item.get("key") or "body"), "message": _clean(str(item.get("message")))})
    if not detail:
        detail = [{"field": "body", "message": str(exc.detail)}]
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in detail)
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
    return Response(_body(request, slug, str(exc.detail)), status_code=status, headers=headers)


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
