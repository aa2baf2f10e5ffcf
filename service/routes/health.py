"""GET /health (the process answers), GET /ready (model loaded and Qdrant reachable), GET /v1/stats."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get

from service.context import Services


@get("/health", sync_to_thread=False, summary="Liveness: the process answers", tags=["health"])
def health() -> dict[str, str]:
    return {"status": "ok"}


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
        return services.indexer.stats()
