"""GET/HEAD /health (the process answers), GET /ready (model loaded and Qdrant reachable), GET /metrics
(Prometheus text), GET /v1/stats.

None of them shows where the store is: a server URL may carry credentials, and a path tells an outsider about
the machine. The service's own log has the location (``ServiceSettings.location()``).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, head

from service import metrics as prom
from service.context import Services


@get("/health", sync_to_thread=False, summary="Liveness: the process answers", tags=["health"])
def health() -> dict[str, str]:
    return {"status": "ok"}


@head("/health", sync_to_thread=False, summary="Liveness, for load balancers that probe with HEAD", tags=["health"])
def health_head() -> None:
    return None


@get("/metrics", sync_to_thread=True, summary="Prometheus metrics (text exposition format)", tags=["health"],
     media_type=prom.CONTENT_TYPE)
def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    services: Services | None = request.app.state.get("newsdesk")
    store = services.store if services is not None else None
    count = (lambda: store.count() if store.exists() else 0) if store is not None else None
    return Response(prom.render(count), media_type=prom.CONTENT_TYPE)


@get("/ready", sync_to_thread=True, summary="Readiness: model loaded and Qdrant reachable", tags=["health"])
def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    services: Services | None = request.app.state.get("newsdesk")
    if services is None:
        return Response({"status": "starting", "model": False, "qdrant": False}, status_code=503)
    try:
        exists = services.store.exists()
    except Exception as exc:
        return Response({"status": "unavailable", "model": True, "qdrant": False,
                         "message": f"Qdrant unreachable: {type(exc).__name__}"}, status_code=503)
    return Response({"status": "ready", "model": True, "qdrant": True, "collection": services.settings.collection,
                     "collection_exists": exists, "embed_model": services.encoder.name})


class StatsController(Controller):
    path = "/stats"
    tags = ("documents",)

    @get(sync_to_thread=True, summary="Documents, chunks and collection configuration")
    def stats(self, services: Services) -> dict[str, Any]:
        stats = services.indexer.stats()
        stats.pop("location", None)  # never shown to clients (see the module docstring)
        return stats
