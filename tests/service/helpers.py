"""Real uvicorn servers for the service tests: in a thread of the test process, or as `python -m service`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx
import uvicorn

from indexer.embedding import Embedder
from service.app import create_app
from service.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """``create_app(settings)`` served by uvicorn on a free loopback port, in a daemon thread."""

    def __init__(self, settings: ServiceSettings, embedder: Embedder | None = None) -> None:
        self.port = free_port()
        app = create_app(settings, embedder=embedder)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False,
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the service did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def service_env(settings: ServiceSettings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update(
        NEWSDESK_QDRANT_PATH=str(settings.qdrant_path),
        NEWSDESK_COLLECTION=settings.collection,
        NEWSDESK_MODEL_CACHE_DIR=str(settings.model_cache_dir),
        **extra,
    )
    return env


def start_service_process(env: dict[str, str], stderr_path: Path) -> subprocess.Popen[bytes]:
    with stderr_path.open("wb") as err:
        return subprocess.Popen([sys.executable, "-m", "service"], cwd=REPO, env=env, stdout=err, stderr=err,
                                stdin=subprocess.DEVNULL)


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the service exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout} s")
