"""``python -m service``: serve the API with uvicorn on NEWSDESK_HOST:NEWSDESK_PORT.

The store is opened and the model loaded before uvicorn starts, so a store held by another process (or a
model that cannot be loaded) ends the process with one readable line and exit code 1, not a traceback.
"""

from __future__ import annotations

import logging
import sys

from indexer.collection import CollectionMismatchError, LocalModeStoreError, StoreLockedError
from indexer.embedding import EmbeddingError
from service.settings import ServiceSettings


def main() -> int:
    settings = ServiceSettings.from_env()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        import uvicorn

        from service.app import create_app
        from service.context import build_services

        services = build_services(settings)
    except (StoreLockedError, LocalModeStoreError, EmbeddingError, CollectionMismatchError) as exc:
        print(f"error: cannot start the service: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    app = create_app(settings, services=services)
    uvicorn.run(app, host=settings.host, port=settings.port, access_log=False,
                log_level=settings.log_level.lower(), timeout_graceful_shutdown=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
