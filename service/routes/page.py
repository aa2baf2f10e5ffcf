"""GET /: the chat page (one static HTML file, its script and stylesheet under /static; no build step)."""

from __future__ import annotations

from pathlib import Path

from litestar import Response, get
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"


@get("/", sync_to_thread=False, include_in_schema=False, cache=False)
def index() -> Response[bytes]:
    return Response(
        (STATIC_DIR / "index.html").read_bytes(),
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


PAGE_ROUTES: list[ControllerRouterHandler] = [
    index,
    create_static_files_router(path="/static", directories=[STATIC_DIR], include_in_schema=False,
                               name="static"),
]
