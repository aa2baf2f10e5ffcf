"""The published OpenAPI schema (``/schema/openapi.json``) completed so that it describes what the service does.

Litestar derives paths, parameters and request/response models from the handlers; this module adds what it
cannot know, for the settings the app was built with:

* the ``bearer`` security scheme (so Swagger UI can send the key) on every ``/v1`` operation, optional when no
  key is configured;
* the real error body (:class:`service.errors.ErrorBody`) for every error status an operation can answer with:
  400 (body or parameters), 401/403 (keys configured), 404 (named resources), 413 and 415 (JSON bodies), 429 (a
  rate limit configured), 503 (the store is unreachable or the service is starting);
* ``text/event-stream`` for the streamed answers (``/v1/ask`` and the chat completion), one schema per event;
* the request bodies' schemas as pydantic states them (Litestar's own rendering drops ``pattern``,
  ``additionalProperties: false`` and custom JSON schemas), so that the published schema validates exactly what
  the service validates, plus the limits that come from settings: ``maxLength`` of a query or question,
  ``minItems``/``maxItems`` of a documents batch;
* an example for path parameters that name a fixed resource (``/v1/models/newsdesk``).

The schema is built once, when the app is created, and served from Litestar's cache.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from pydantic import BaseModel

from service.errors import ErrorBody
from service.guards import MAX_JSON_DEPTH
from service.openai_wire import MODEL_ID, ChatCompletionRequest
from service.schemas import AskRequest, SearchRequest
from service.settings import ServiceSettings

_REQUEST_MODELS: tuple[type[BaseModel], ...] = (SearchRequest, AskRequest, ChatCompletionRequest)
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_WRITES = {("post", "/v1/documents"), ("delete", "/v1/documents/{doc_id}")}
_NAMED_RESOURCES = {("get", "/v1/documents/{doc_id}"), ("delete", "/v1/documents/{doc_id}"),
                    ("get", "/v1/models/{model_id}")}
_NO_STORE = {("get", "/v1/models"), ("get", "/v1/models/{model_id}")}

_STATUS_TEXT = {
    400: "Invalid request: `detail` names each wrong field (a dotted path such as `filters.published_after`; "
         f"`body` for the body as a whole: malformed JSON, JSON nested more than {MAX_JSON_DEPTH} levels, more "
         "records than NEWSDESK_MAX_RECORDS); a limit names its setting.",
    401: "Missing or wrong API key (`Authorization: Bearer <key>`).",
    403: "The key may read but not write: this operation needs NEWSDESK_WRITE_API_KEY.",
    404: "No such resource.",
    413: "Request body over NEWSDESK_MAX_BODY_BYTES (the message names the limit).",
    415: "The body is not declared `Content-Type: application/json`.",
    429: "Over NEWSDESK_RATE_LIMIT for this key (or client address); `Retry-After` says when to retry.",
    503: "The vector store is unreachable, or the service is still starting; retry shortly.",
}

_RECORDS_TEXT = (
    "One article record (an object) or a list of them. A record: `id` (or `_id`), `text` (or `body`), optional "
    "`title`, `url`, `source`, `author`, `published_at` (a date string), `metadata` (an object); other fields are "
    "kept as metadata. Each record is checked on its own: one that cannot be indexed is reported `skipped` with "
    "its reason and the others are indexed; when none can be, the answer is a 400 with every record's result."
)

_RECORD_EXAMPLE = {"id": "ferry-1", "title": "Night ferry resumes", "source": "Desk", "published_at": "2026-06-01",
                   "url": "https://example.org/ferry-1", "text": "The night ferry to Vesterholm resumed service on "
                   "Monday after repairs to its hull."}
_ASK_EVENTS = {
    "type": "object", "required": ["event", "data"],
    "description": "One Server-Sent Event; `data` is one JSON object: `sources` {passages: [hit ...]}, `token` "
                   "{text} (a language model's raw text, provisional), `delta` {text} (the verified answer's "
                   "pieces, in order), then `done` (the body of the JSON answer) or `error` {error, message}.",
    "properties": {"event": {"enum": ["sources", "token", "delta", "done", "error"]},
                   "data": {"type": "string", "contentMediaType": "application/json"}},
}
_CHAT_EVENTS = {
    "type": "object", "required": ["data"],
    "description": "One Server-Sent Event without a name: `data` is a `chat.completion.chunk` JSON object, the "
                   "last one (finish_reason `stop`) carrying the Newsdesk fields (citations, found, timings_ms "
                   "...), or an `{error}` object; the stream ends with `data: [DONE]`.",
    "properties": {"event": {"const": "message"}, "data": {"type": "string"}},
}
_STREAMS = {("post", "/v1/ask"): (_ASK_EVENTS, "The answer (application/json), or its events when stream is true"),
            ("post", "/v1/chat/completions"): (_CHAT_EVENTS, "The completion (application/json), or its chunks "
                                                             "when stream is true")}


def complete_openapi(app: Litestar, settings: ServiceSettings) -> dict[str, Any]:
    """Complete the app's (cached) OpenAPI document in place and return it."""
    schema = app.plugins.get(OpenAPIPlugin).provide_openapi_schema()
    components = schema.setdefault("components", {})
    for model in (ErrorBody, *_REQUEST_MODELS):
        _add_model(components.setdefault("schemas", {}), model)
    components.setdefault("securitySchemes", {})["bearer"] = {
        "type": "http", "scheme": "bearer",
        "description": "NEWSDESK_API_KEY for every /v1 operation (when set); NEWSDESK_WRITE_API_KEY for POST and "
                       "DELETE /v1/documents (when set). The service is open when no key is set.",
    }
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            if method in _METHODS and isinstance(op, dict):
                _complete_operation(path, method, op, settings)
    _apply_limits(components["schemas"], schema.get("paths", {}), settings)
    return schema


def _add_model(schemas: dict[str, Any], model: type[BaseModel]) -> None:
    body = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in body.pop("$defs", {}).items():
        schemas[name] = sub
    schemas[model.__name__] = body


def _error(status: int, text: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": text or _STATUS_TEXT[status],
                                "content": {"application/json": {"schema": _ERROR_REF}}}
    if status == 429:
        response["headers"] = {"Retry-After": {"description": "Seconds until the limit resets.",
                                               "schema": {"type": "string"}}}
    return response


def _complete_operation(path: str, method: str, op: dict[str, Any], settings: ServiceSettings) -> None:
    responses: dict[str, Any] = op.setdefault("responses", {})
    key = (method, path)
    has_body = "requestBody" in op
    if has_body or op.get("parameters") or "400" in responses:
        responses["400"] = _error(400)
    if has_body:
        responses["413"] = _error(413)
        responses["415"] = _error(415)
    if key in _NAMED_RESOURCES:
        responses["404"] = _error(404)
    if path == "/v1/models/{model_id}":
        for param in op.get("parameters", []):
            if param.get("name") == "model_id":
                param["example"] = MODEL_ID
    if path == "/ready":
        ready = responses.get("200", {}).get("content")
        responses["503"] = {"description": "Not ready: starting, or the vector store is unreachable.",
                            **({"content": ready} if ready else {})}
    if not path.startswith("/v1/"):
        return
    write = key in _WRITES
    keyed = bool(settings.api_key) or (write and bool(settings.write_api_key))
    op["security"] = [{"bearer": []}] if keyed else [{}, {"bearer": []}]
    if keyed:
        responses["401"] = _error(401)
    if write and settings.write_api_key and settings.api_key:
        responses["403"] = _error(403)
    if settings.rate_limit:
        responses["429"] = _error(429)
    if key not in _NO_STORE:
        responses["503"] = _error(503)
    if key in _STREAMS and isinstance(responses.get("200"), dict):
        events, description = _STREAMS[key]
        responses["200"].setdefault("content", {})["text/event-stream"] = {"schema": events}
        responses["200"]["description"] = description


def _apply_limits(schemas: dict[str, Any], paths: dict[str, Any], settings: ServiceSettings) -> None:
    limit = settings.max_question_chars
    for model, field in (("SearchRequest", "query"), ("AskRequest", "question")):
        prop = schemas.get(model, {}).get("properties", {}).get(field)
        if prop is not None:
            prop["maxLength"] = limit
    body = paths.get("/v1/documents", {}).get("post", {}).get("requestBody")
    if body:
        content = body.get("content", {}).get("application/json", {})
        content["schema"] = {
            "description": _RECORDS_TEXT,
            "oneOf": [
                {"type": "object", "title": "ArticleRecord", "additionalProperties": True},
                {"type": "array", "items": {}, "minItems": 1, "maxItems": settings.max_records,
                 "description": "Records; any item that is not a valid record is reported skipped."},
            ],
        }
        content["example"] = [_RECORD_EXAMPLE]
