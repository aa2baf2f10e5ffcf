"""Thin HTTP controllers; the work is done by service.retrieval, service.answer and indexer.pipeline."""

from __future__ import annotations

from typing import Any

from litestar import Request

from service.errors import ServiceUnavailable
from service.state import AppState


def get_state(request: Request[Any, Any, Any]) -> AppState:
    state = getattr(request.app.state, "newsdesk", None)
    if state is None:
        raise ServiceUnavailable("the service is starting or failed to start")
    return state


def collection_missing(state: AppState) -> bool:
    """Whether a failed query failed because nothing has been indexed yet (checked only after a failure)."""
    try:
        return not state.client.collection_exists(state.settings.collection)
    except Exception:
        return False
