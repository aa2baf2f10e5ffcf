"""The Litestar application: ``create_app(settings)``; ``python -m service`` serves it with uvicorn.

* ``V1_ROUTES``: everything under ``/v1``: API key guarded when ``NEWSDESK_API_KEY`` is set, JSON bodies only,
  rate limited per key when ``NEWSDESK_RATE_LIMIT`` is set (``service.guards``);
* ``OPEN_ROUTES``: health, readiness, metrics and the chat page, never guarded; ``/schema`` serves the OpenAPI
  docs (completed by ``service.openapi``: security scheme, error bodies, event streams).

The process's services (store, model, retriever, question pipeline, indexer: ``service.context.Services``)
live in ``app.state.newsdesk``, built once in the lifespan or handed in ready-made by ``python -m service``
(which opens the store before uvicorn starts, so a locked store is a one-line error, not a traceback), and
reach handlers by dependency injection (``service.context.DEPENDENCIES``).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.routes import HTTPRoute
from litestar.types import ControllerRouterHandler, Message, Receive, Send

from indexer.embedding import Embedder
from service.context import DEPENDENCIES, Services, build_services
from service.errors import EXCEPTION_HANDLERS
from service.guards import rate_limit_config, require_api_key, require_json
from service.logs import REQUEST_ID, configure_logging
from service.metrics import observe_request
from service.openapi import complete_openapi
from service.routes.ask import AskController
from service.routes.chat import ChatController
from service.routes.documents import DocumentsController
from service.routes.health import StatsController, health, health_head, metrics, ready
from service.routes.page import PAGE_ROUTES
from service.routes.search import SearchController
from service.settings import ServiceSettings

access_log = logging.getLogger("newsdesk.access")

V1_ROUTES: list[ControllerRouterHandler] = [SearchController, AskController, DocumentsController, StatsController,
                                            ChatController]
OPEN_ROUTES: list[ControllerRouterHandler] = [health, health_head, ready, metrics, *PAGE_ROUTES]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class ServiceApp(Litestar):
    """Litestar plus one outer layer seen by every HTTP request (also 404/405/413): a request id (taken
    from a well-formed ``X-Request-ID`` or made up, echoed in the response and set for every log line of the
    request), one JSON access-log line, and the request's count and latency in the metrics."""

    _allowed: dict[str, str] | None = None

    async def __call__(self, scope: Any, receive: Receive, send: Send) -> None:  # type: ignore[override]
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = rid
        token = REQUEST_ID.set(rid)
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", rid.encode())]
                if scope["method"] == "OPTIONS" and status == 204:
                    headers = self._allow_header(scope, headers)
                message["headers"] = headers
            await send(message)

        try:
            await super().__call__(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            observe_request(scope["method"], scope.get("path_template"), status, seconds)
            access_log.info(
                "%s %s %s", scope["method"], scope["path"], status,
                extra={"method": scope["method"], "path": scope["path"], "status": status,
                       "duration_ms": round(seconds * 1000, 2), "request_id": rid},
            )
            REQUEST_ID.reset(token)


    def _allow_header(self, scope: Any, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """``Allow`` of an OPTIONS answer listing every method of the route. (Litestar 2.25's automatic OPTIONS
        handler lists only the methods of the first handler registered for a path, e.g. GET but not DELETE of
        /v1/documents/{doc_id}, or GET but not HEAD of /health.)"""
        if self._allowed is None:
            self._allowed = {route.path_format: ", ".join(sorted(route.methods))
                             for route in self.routes if isinstance(route, HTTPRoute)}
        allowed = self._allowed.get(scope.get("path_template", ""))
        if allowed is None or not any(name.lower() == b"allow" for name, _ in headers):
            return headers
        return [(n, v) for n, v in headers if n.lower() != b"allow"] + [(b"allow", allowed.encode())]


def create_app(
    settings: ServiceSettings | None = None, *, services: Services | None = None, embedder: Embedder | None = None
) -> Litestar:
    """Build the app. ``services``: already opened (the app closes them at shutdown); ``embedder``: a loaded
    model to share (tests, benchmarks)."""
    settings = settings or (services.settings if services else ServiceSettings.from_env())
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if app.state.newsdesk is None:
            app.state.newsdesk = build_services(settings, embedder)
        try:
            yield
        finally:
            app.state.newsdesk.close()
            app.state.newsdesk = None

    limiter = rate_limit_config(settings)
    v1 = Router(path="/v1", route_handlers=V1_ROUTES, guards=[require_api_key, require_json],
                middleware=[limiter.middleware] if limiter else [])
    cors = CORSConfig(allow_origins=settings.cors_origins) if settings.cors_origins else None
    app = ServiceApp(
        route_handlers=[v1, *OPEN_ROUTES],
        lifespan=[lifespan],
        dependencies=DEPENDENCIES,
        state=State({"settings": settings, "newsdesk": services}),
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        cors_config=cors,
        openapi_config=OpenAPIConfig(
            title="Newsdesk", version="0.1.0", path="/schema", render_plugins=[SwaggerRenderPlugin()],
            description="Question answering over news articles with cited answers.",
        ),
    )
    complete_openapi(app, settings)
    return app
