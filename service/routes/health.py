"""GET /health (the process answers), GET /ready (model loaded and Qdrant reachable), GET /v1/stats."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get

from service.routes import get_state


@get("/health", sync_to_thread=False, summary="Liveness: the process answers", tags=["health"])
def health() -> dict[str, str]:
    return {"status": "ok"}


@get("/ready", sync_to_thread=True, summary="Readiness: model loaded and Qdrant reachable", tags=["health"])
def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    state = getattr(request.app.state, "newsdesk", None)
    if state is None:
        return Response({"status": "starting", "model": False, "qdrant": False}, status_code=503)
    try:
        exists = state.client.collection_exists(state.settings.collection)
    except Exception as exc:
        return Response(
            {"status": "unavailable", "model": True, "qdrant": False, "location": state.settings.location(),
             "message": f"Qdrant unreachable: {type(exc).__name__}"},
            status_code=503,
        )
    return Response({"status": "ready", "model": True, "qdrant": True, "location": state.settings.location(),
                     "collection": state.settings.collection, "collection_exists": exists,
                     "embed_model": state.embedder.name})


class StatsController(Controller):
    path = "/stats"
    tags = ("documents",)

    @get(sync_to_thread=True, summary="Documents, chunks and collection configuration")
    def stats(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        return get_state(request).indexer.stats()
