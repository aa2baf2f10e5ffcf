"""Helpers for the indexer tests: reading back the collection, generated articles, the CLI as a subprocess."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from qdrant_client import QdrantClient

from indexer.settings import IndexerSettings
from tests.conftest import REPO

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@dataclass(frozen=True)
class StoredPoint:
    id: str
    payload: dict[str, Any]
    vectors: dict[str, Any]


def read_points(client: QdrantClient, collection: str, with_vectors: bool = True) -> list[StoredPoint]:
    """Every point of the collection with payload (and vectors), sorted by (doc_id, chunk_index)."""
    out: list[StoredPoint] = []
    offset = None
    while True:
        points, offset = client.scroll(
            collection, limit=512, offset=offset, with_payload=True, with_vectors=with_vectors
        )
        for p in points:
            vectors = p.vector if isinstance(p.vector, dict) else {}
            out.append(StoredPoint(str(p.id), dict(p.payload or {}), dict(vectors)))
        if offset is None:
            break
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


def stored_point_rows(settings: IndexerSettings) -> int:
    """Points committed to the embedded store, read straight from its SQLite file (which a running writer
    holds; the Qdrant client itself refuses a second opener). Read-only, for polling progress only."""
    db = settings.qdrant_path / "collection" / settings.collection / "storage.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM points").fetchone()[0])
    except sqlite3.Error:
        return 0


def wait_for_rows(proc: subprocess.Popen[str], settings: IndexerSettings, minimum: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = stored_point_rows(settings)
        if rows >= minimum:
            return rows
        if proc.poll() is not None:
            pytest.fail(f"the ingest ended (rc={proc.returncode}) before writing {minimum} points")
        time.sleep(0.05)
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
