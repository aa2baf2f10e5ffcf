"""Helpers for the indexer tests: reading back the collection, generated articles, the CLI as a subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from indexer.collection import Store, open_store
from indexer.payload import DENSE, SPARSE
from indexer.settings import IndexerSettings
from tests.conftest import REPO

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@dataclass(frozen=True)
class StoredPoint:
    id: str
    payload: dict[str, Any]
    vectors: dict[str, Any]


def read_points(source: Store | IndexerSettings, with_vectors: bool = True) -> list[StoredPoint]:
    """Every point of the collection with payload (and vectors), sorted by (doc_id, chunk_index); ``source``
    is an open store (either backend) or settings to open one with (closed again)."""
    store = open_store(source) if isinstance(source, IndexerSettings) else source
    try:
        out = [StoredPoint(p.id, dict(p.payload), {DENSE: p.dense, SPARSE: p.sparse} if with_vectors else {})
               for p in store.scan_points(with_vectors=with_vectors)]
    finally:
        if isinstance(source, IndexerSettings):
            store.close()
    return sorted(out, key=lambda p: (p.payload["doc_id"], p.payload["chunk_index"]))


def cli_env(settings: IndexerSettings, **extra: str) -> dict[str, str]:
    """The environment for `python -m indexer` on the test's store: no NEWSDESK_* leaks from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update(
        NEWSDESK_QDRANT_PATH=str(settings.qdrant_path),
        NEWSDESK_MODEL_CACHE_DIR=str(settings.model_cache_dir),
        NEWSDESK_COLLECTION=settings.collection,
        NEWSDESK_CHUNK_TOKENS=str(settings.chunk_tokens),
        NEWSDESK_CHUNK_OVERLAP=str(settings.chunk_overlap),
        NEWSDESK_EMBED_BATCH_SIZE=str(settings.embed_batch_size),
        NEWSDESK_EMBED_BACKEND=settings.embed_backend,
        NEWSDESK_EMBED_PRECISION=settings.embed_precision,
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "indexer", *args]


def run_cli(settings: IndexerSettings, *args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the CLI to completion (cwd is a temp dir so that no developer .env is read)."""
    return subprocess.run(
        cli_command(*args), env=cli_env(settings), cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


class StderrLines:
    """Reads a child's stderr line by line in a thread (so that a test can wait for a progress line while the
    child runs, then read everything once it ended)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc.stderr,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        with stream:
            for line in stream:
                self.lines.append(line)

    def text(self, timeout: float = 60) -> str:
        self._thread.join(timeout)
        return "".join(self.lines)


_PROGRESS_CHUNKS = re.compile(r"^progress: .*?, (\d+) chunks, ")


def wait_for_rows(proc: subprocess.Popen[str], stderr: StderrLines, minimum: int, timeout: float = 120) -> int:
    """Wait until the child's progress lines (``ingest --progress-interval 0``: one after every written batch)
    report at least ``minimum`` chunks written; the embedded store admits no second reader meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(stderr.lines):
            m = _PROGRESS_CHUNKS.match(line)
            if m and int(m.group(1)) >= minimum:
                return int(m.group(1))
        if proc.poll() is not None:
            pytest.fail(f"the ingest ended (rc={proc.returncode}) before writing {minimum} points")
        time.sleep(0.02)
    pytest.fail(f"no {minimum} points written within {timeout} s")


_TOPICS = [
    ("river", "flood barriers", "the river authority"),
    ("council", "housing plan", "the city council"),
    ("hospital", "new wing", "the health board"),
    ("airport", "runway repairs", "the airport operator"),
    ("school", "lunch programme", "the education office"),
    ("bridge", "weight limit", "the transport agency"),
    ("forest", "wildfire season", "the forestry service"),
    ("harbour", "fishing quotas", "the fisheries ministry"),
]


def write_articles(folder: Path, count: int, paragraphs: int = 6) -> list[str]:
    """Small distinct news-like articles as .txt files; returns their doc ids (relative paths)."""
    folder.mkdir(parents=True, exist_ok=True)
    ids: list[str] = []
    for n in range(count):
        place, thing, body = _TOPICS[n % len(_TOPICS)]
        lines = [f"Story {n}: {body.capitalize()} updates the {place} {thing}", ""]
        for p in range(paragraphs):
            lines.append(
                f"On day {p + 1} of the review, {body} said the {thing} near the {place} in district {n} "
                f"would cost {n * 7 + p} million. Officials met residents {p + 2} times to explain the "
                f"{thing}, and {n + p} complaints were logged. A spokesperson, Dana Reyes {n}, said work "
                f"would start within {p + 3} weeks."
            )
            lines.append("")
        sub = folder / f"batch{n % 3}"
        sub.mkdir(exist_ok=True)
        (sub / f"story-{n:03d}.txt").write_text("\n".join(lines), encoding="utf-8")
        ids.append(f"batch{n % 3}/story-{n:03d}.txt")
    return sorted(ids)
