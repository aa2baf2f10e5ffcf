"""Zero-downtime re-index on a real Qdrant server: searches and asks through the real app over HTTP keep
answering, with no error and no empty result, while ``python -m indexer rebuild`` builds a collection with
another chunk size and switches the alias; afterwards the answers come from the new collection, and
``--drop-old`` removes the old ones. Also: the one-time migration of a store made before aliases.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from qdrant_client import QdrantClient

from indexer.collection import open_store
from indexer.embedding import Embedder
from indexer.pipeline import Indexer
from indexer.rebuild import is_generation_of, rebuild
from service.settings import ServiceSettings
from tests.conftest import SAMPLES
from tests.deploy.conftest import unique_collection
from tests.indexer.helpers import cli_command, cli_env
from tests.service.helpers import ServerThread

pytestmark = pytest.mark.server

QUESTIONS = [
    "When did the Port of Kestrel Bay reopen after the storm?",
    "Why was the alert level for Mount Teravo raised?",
    "What did Russia promise Mali?",
]
WATCHED = "harbor-reopens.md"
"""A document whose chunk count differs between the two chunk sizes: it tells which collection answered."""
AFTER_REBUILD_ROUNDS = 5
MAX_ROUNDS = 2000


def layout(url: str, alias: str) -> tuple[list[str], dict[str, str]]:
    """(collections named after ``alias``, aliases named ``alias``) on the server."""
    client = QdrantClient(url=url, check_compatibility=False)
    try:
        names = sorted(c.name for c in client.get_collections().collections if c.name.startswith(alias))
        aliases = {a.alias_name: a.collection_name for a in client.get_aliases().aliases if a.alias_name == alias}
        return names, aliases
    finally:
        client.close()


@pytest.fixture
def alias_settings(base_settings: ServiceSettings, qdrant_server_url: str) -> Iterator[ServiceSettings]:
    """Server settings whose collection name is this test's own; every collection made under it is dropped after."""
    alias = unique_collection("rb")
    yield base_settings.model_copy(update={"qdrant_url": qdrant_server_url, "collection": alias})
    client = QdrantClient(url=qdrant_server_url, check_compatibility=False)
    try:
        for name in layout(qdrant_server_url, alias)[0]:
            client.delete_collection(name)
    finally:
        client.close()


@dataclass
class Loop:
    """Rounds of search, ask and a document read through the service, recording what came back."""

    url: str
    errors: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    chunk_counts: list[int] = field(default_factory=list)
    rounds: int = 0
    requests: int = 0
    stop_after: int | None = None
    """Set by the test: the round at which to stop (a bounded number of rounds after the rebuild ended)."""

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=120) as c:
            while self.rounds < MAX_ROUNDS and (self.stop_after is None or self.rounds < self.stop_after):
                question = QUESTIONS[self.rounds % len(QUESTIONS)]
                self._one(c, "search", "/v1/search", {"query": question, "limit": 5},
                          lambda body: bool(body["hits"]))
                self._one(c, "ask", "/v1/ask", {"question": question},
                          lambda body: bool(body["found"] and body["citations"]))
                try:
                    r = c.get(f"/v1/documents/{WATCHED}")
                    self.requests += 1
                    if r.status_code == 200:
                        self.chunk_counts.append(r.json()["chunk_count"])
                    else:
                        self.errors.append(f"document: {r.status_code} {r.text[:200]}")
                except httpx.HTTPError as exc:
                    self.errors.append(f"document: {type(exc).__name__}: {exc}")
                self.rounds += 1
                time.sleep(0.02)

    def _one(self, c: httpx.Client, kind: str, path: str, body: dict[str, Any],
             answered: Callable[[dict[str, Any]], bool]) -> None:
        try:
            r = c.post(path, json=body)
        except httpx.HTTPError as exc:
            self.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
            return
        self.requests += 1
        if r.status_code != 200:
            self.errors.append(f"{kind}: {r.status_code} {r.text[:200]}")
        elif not answered(r.json()):
            self.empty.append(f"{kind}: {body} -> {r.text[:200]}")


def test_searches_and_asks_keep_answering_through_a_rebuild_and_swap(
    alias_settings: ServiceSettings, embedder: Embedder, qdrant_server_url: str, tmp_path: Path
) -> None:
    alias = alias_settings.collection
    first = rebuild(alias_settings, [SAMPLES], embedder=embedder)  # no collection yet: a new alias, no gap
    assert first.swapped and not first.migrated and first.previous is None
    assert layout(qdrant_server_url, alias) == ([first.collection], {alias: first.collection})

    small = alias_settings.model_copy(update={"chunk_tokens": 64, "chunk_overlap": 8})
    env = cli_env(small, NEWSDESK_QDRANT_URL=qdrant_server_url)
    with ServerThread(alias_settings, embedder) as server:
        loop = Loop(server.url)
        worker = threading.Thread(target=loop.run, daemon=True)
        worker.start()
        while loop.rounds < 3:  # the loop is answering before the rebuild starts
            assert worker.is_alive() and not loop.errors, loop.errors
            time.sleep(0.1)
        cli = subprocess.run(
            [*cli_command("rebuild", str(SAMPLES), "--json", "--no-progress", "--verify-query", QUESTIONS[2])],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900,
        )
        rounds_during = loop.rounds
        loop.stop_after = loop.rounds + AFTER_REBUILD_ROUNDS + 1  # the round under way may predate the switch
        worker.join(timeout=600)
        assert not worker.is_alive()
        after = loop.chunk_counts[-AFTER_REBUILD_ROUNDS:]

        assert cli.returncode == 0, cli.stderr
        second = json.loads(cli.stdout)
        print(f"\nswitch {second['switch_ms']:.1f} ms; {loop.requests} requests in {loop.rounds} rounds "
              f"({rounds_during} before the rebuild ended); errors {len(loop.errors)}, empty {len(loop.empty)}")
        assert second["swapped"] and second["previous"] == first.collection and second["kept"] == [first.collection]
        assert loop.errors == [] and loop.empty == []
        assert loop.rounds < MAX_ROUNDS and rounds_during >= 3

        # the document read answered from the old collection, then (once, for good) from the new one
        old_count, new_count = loop.chunk_counts[0], after[-1]
        assert new_count > old_count
        switched_at = loop.chunk_counts.index(new_count)
        assert set(loop.chunk_counts[:switched_at]) == {old_count}
        assert set(loop.chunk_counts[switched_at:]) == {new_count}
        assert len(after) == AFTER_REBUILD_ROUNDS

        with httpx.Client(base_url=server.url, timeout=120) as c:
            stats = c.get("/v1/stats").json()
            assert stats["chunks"] == second["verification"]["chunks"]
            assert stats["config"]["points_to"] == second["collection"]

            # --drop-old: the previous collection and the one before it go; the service keeps answering
            third = rebuild(alias_settings, [SAMPLES], drop_old=True, embedder=embedder)
            assert third.swapped and third.dropped == sorted([first.collection, second["collection"]])
            assert layout(qdrant_server_url, alias) == ([third.collection], {alias: third.collection})
            assert c.post("/v1/search", json={"query": QUESTIONS[0]}).json()["hits"]
            assert c.get(f"/v1/documents/{WATCHED}").json()["chunk_count"] == old_count


def test_first_rebuild_of_a_pre_alias_store_migrates_it(
    alias_settings: ServiceSettings, embedder: Embedder, qdrant_server_url: str
) -> None:
    name = alias_settings.collection
    legacy = Indexer(alias_settings, embedder=embedder)
    legacy_chunks = legacy.ingest_paths([SAMPLES]).chunks_written
    legacy.close()
    assert layout(qdrant_server_url, name) == ([name], {})

    small = alias_settings.model_copy(update={"chunk_tokens": 64, "chunk_overlap": 8})
    with ServerThread(alias_settings, embedder) as server, httpx.Client(base_url=server.url, timeout=120) as c:
        assert c.get(f"/v1/documents/{WATCHED}").status_code == 200
        result = rebuild(small, [SAMPLES], embedder=embedder)
        print(f"\nmigration (delete + create alias) {result.switch_ms:.1f} ms")
        assert result.swapped and result.migrated and result.previous == name and result.dropped == []
        assert result.verification.chunks > legacy_chunks
        assert layout(qdrant_server_url, name) == ([result.collection], {name: result.collection})
        assert is_generation_of(name, result.collection)
        # the running service reads through the alias now, without a restart
        assert c.get("/v1/stats").json()["chunks"] == result.verification.chunks
        assert c.post("/v1/ask", json={"question": QUESTIONS[0]}).json()["found"]

    store = open_store(alias_settings)
    try:
        assert store.exists() and store.resolve() == result.collection
        assert store.drop() and not store.exists()  # through the alias: the collection behind it goes
    finally:
        store.close()
    assert layout(qdrant_server_url, name) == ([], {})
