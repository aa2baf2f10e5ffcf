"""Structured logs: one JSON object per line on stderr, one line per HTTP request (``newsdesk.access``).

Every line logged while a request is handled carries its ``request_id`` (the ``X-Request-ID`` echoed to the
client): ``service.app.ServiceApp`` sets :data:`REQUEST_ID` for the request, worker threads inherit it (Litestar
runs sync handlers through anyio, which copies the context), and :class:`RequestIdFilter` copies it onto each
record.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

REQUEST_ID: ContextVar[str | None] = ContextVar("newsdesk_request_id", default=None)
"""The id of the HTTP request being handled in this context (None outside requests)."""


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record logged inside a request (unless the call gave one itself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid = REQUEST_ID.get()
        if rid is not None and not hasattr(record, "request_id"):
            record.request_id = rid
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _RESERVED})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    """Route the service's own loggers (``newsdesk.*``) to stderr as JSON; idempotent."""
    logger = logging.getLogger("newsdesk")
    logger.setLevel(level.upper())
    if not any(getattr(h, "_newsdesk", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RequestIdFilter())
        handler._newsdesk = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.propagate = False
