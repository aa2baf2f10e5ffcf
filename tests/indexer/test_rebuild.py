"""``rebuild`` on the embedded store: a pre-alias store is migrated, later rebuilds switch the alias, the old
collection stays until ``--drop-old``, a failed verification changes nothing, and the service reads the new
collection through the alias. (The live swap under load runs on a real server: tests/deploy/test_rebuild_server.py.)
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from indexer.collection import Store, open_store
from indexer.embedding import Embedder
from indexer.payload import point_id
from indexer.pipeline import Indexer
from indexer.rebuild import RebuildError, is_generation_of, new_collection_name, rebuild, verify
from service.settings import ServiceSettings
from tests.conftest import SAMPLES
from tests.indexer.helpers import FIXTURES, run_cli
from tests.service.helpers import ServerThread

MALI = "What did Russia promise Mali?"


def layout(settings: ServiceSettings) -> tuple[list[str], dict[str, str]]:
    """(real collections, aliases) of the embedded store, read while no process holds it."""
    store = open_store(settings)
    try:
        return store.collection_names(), store.aliases()
    finally:
        store.close()


def chunks_of(settings: ServiceSettings, embedder: Embedder) -> int:
    """Chunks the samples give with these settings (a throwaway in-memory-sized store)."""
    probe = settings.qdrant_path.parent / f"probe-{settings.chunk_tokens}"
    ix = Indexer(settings.model_copy(update={"qdrant_path": probe}), embedder=embedder)
    try:
        return ix.ingest_paths([SAMPLES]).chunks_written
    finally:
        ix.close()


@pytest.fixture
def bad_only(tmp_path: Path) -> Path:
    """A folder whose only article is unreadable: an ingest of it stores nothing."""
    folder = tmp_path / "bad"
    folder.mkdir()
    shutil.copy(FIXTURES / "bad" / "binary.txt", folder / "binary.txt")
    return folder


def test_names_of_rebuilt_collections() -> None:
    now = datetime(2026, 5, 14, 10, 15, 30, tzinfo=UTC)
    assert new_collection_name("newsdesk", now, set()) == "newsdesk__20260514T101530Z"
    taken = {"newsdesk__20260514T101530Z", "newsdesk__20260514T101530Z_2"}
    assert new_collection_name("newsdesk", now, taken) == "newsdesk__20260514T101530Z_3"
    assert is_generation_of("newsdesk", "newsdesk__20260514T101530Z_3")
    assert not is_generation_of("newsdesk", "newsdesk")
    assert not is_generation_of("news", "newsdesk__20260514T101530Z")
    assert not is_generation_of("newsdesk", "newsdesk__backup")


def test_migrate_swap_keep_then_drop_old_and_the_service_reads_the_new_collection(
    settings: ServiceSettings, embedder: Embedder, tmp_path: Path
) -> None:
    name = settings.collection
    small = settings.model_copy(update={"chunk_tokens": 64, "chunk_overlap": 8})
    medium = settings.model_copy(update={"chunk_tokens": 128, "chunk_overlap": 16})
    expected_small, expected_medium = chunks_of(small, embedder), chunks_of(medium, embedder)

    # a store made before aliases: a real collection under the configured name
    legacy = Indexer(settings, embedder=embedder)
    legacy_chunks = legacy.ingest_paths([SAMPLES]).chunks_written
    legacy.close()
    assert expected_medium != legacy_chunks != expected_small

    first = rebuild(small, [SAMPLES], verify_queries=[MALI], embedder=embedder)
    assert first.swapped and first.migrated and first.previous == name and first.switch_ms is not None
    assert first.verification.ok and first.verification.chunks == expected_small
    assert [q.kind for q in first.verification.queries] == ["given", "title", "title", "title"]
    assert all(q.found_article for q in first.verification.queries if q.kind == "title")
    collections, aliases = layout(settings)
    assert collections == [first.collection] and aliases == {name: first.collection}
    assert is_generation_of(name, first.collection)

    # the CLI: a plain switch; the old collection stays
    result = run_cli(settings, "rebuild", str(SAMPLES), "--json", "--no-progress", cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    second = json.loads(result.stdout)
    assert second["swapped"] and not second["migrated"] and second["previous"] == first.collection
    assert second["verification"]["chunks"] == legacy_chunks and second["kept"] == [first.collection]
    assert layout(settings) == (sorted([first.collection, second["collection"]]), {name: second["collection"]})

    third = rebuild(medium, [SAMPLES], drop_old=True, embedder=embedder)
    assert third.swapped and third.previous == second["collection"]
    assert third.dropped == sorted([first.collection, second["collection"]])
    assert layout(settings) == ([third.collection], {name: third.collection})

    # ingest and the Store work through the alias as through a collection
    ix = Indexer(medium, embedder=embedder)
    try:
        assert ix.store.exists() and ix.store.resolve() == third.collection
        again = ix.ingest_paths([SAMPLES])
        assert again.chunks_written == 0 and again.count("unchanged") == 11
        assert ix.stats()["chunks"] == expected_medium
        assert ix.stats()["config"]["points_to"] == third.collection
    finally:
        ix.close()

    with ServerThread(medium, embedder) as server, httpx.Client(base_url=server.url, timeout=120) as c:
        assert c.get("/v1/stats").json()["chunks"] == expected_medium
        hits = c.post("/v1/search", json={"query": "Port of Kestrel Bay reopened", "limit": 3}).json()["hits"]
        assert hits and hits[0]["doc_id"] == "harbor-reopens.md"
        answer = c.post("/v1/ask", json={"question": MALI}).json()
        assert answer["found"] and answer["citations"], answer

    # reset through the alias drops the collection behind it (delete_collection of an alias deletes nothing)
    store = open_store(settings)
    try:
        assert store.drop() is True and not store.exists()
    finally:
        store.close()
    assert layout(settings) == ([], {})


def test_a_failed_verification_leaves_the_alias_alone(
    settings: ServiceSettings, embedder: Embedder, bad_only: Path, tmp_path: Path
) -> None:
    name = settings.collection
    good = rebuild(settings, [SAMPLES], embedder=embedder)
    assert good.swapped and not good.migrated and good.previous is None

    result = run_cli(settings, "rebuild", str(bad_only), "--no-progress", cwd=tmp_path, timeout=600)
    assert result.returncode == 1, result.stderr
    assert "verification failed: no document was indexed" in result.stderr
    assert f"alias {name!r} untouched" in result.stderr and "dropped (--keep-failed keeps it)" in result.stderr
    assert layout(settings) == ([good.collection], {name: good.collection})

    kept = rebuild(settings, [bad_only], keep_failed=True, embedder=embedder)
    assert not kept.swapped and kept.kept_failed and kept.switch_ms is None
    assert layout(settings) == (sorted([good.collection, kept.collection]), {name: good.collection})

    # a later --drop-old clears kept failures along with the previous collection
    later = rebuild(settings, [SAMPLES], drop_old=True, embedder=embedder)
    assert later.swapped and later.dropped == sorted([good.collection, kept.collection])


@pytest.fixture
def built(settings: ServiceSettings, embedder: Embedder) -> Iterator[tuple[Store, Indexer]]:
    small = settings.model_copy(update={"chunk_tokens": 64, "chunk_overlap": 8})
    ix = Indexer(small, embedder=embedder)
    yield ix.store, ix
    ix.close()


def test_verify_catches_missing_chunks_and_answers_title_queries(
    built: tuple[Store, Indexer], embedder: Embedder
) -> None:
    store, ix = built
    report = ix.ingest_paths([SAMPLES])
    healthy = verify(store, embedder, report, ["wheat and fertilizers"])
    assert healthy.ok, healthy.problems
    assert (healthy.documents, healthy.chunks, healthy.points) == (11, report.chunks_written, report.chunks_written)
    titles = [q for q in healthy.queries if q.kind == "title"]
    assert len(titles) == 3 and len({q.article for q in titles}) == 3 and all(q.found_article for q in titles)
    assert healthy.queries[0].hits == 10

    longest = max((r for r in report.results), key=lambda r: r.chunks)
    assert longest.doc_id is not None and longest.chunks > 1
    store.delete_ids([point_id(longest.doc_id, longest.chunks - 1)])
    broken = verify(store, embedder, report)
    assert not broken.ok
    assert broken.incomplete == [longest.doc_id]
    assert any(p.startswith(f"chunks: {report.chunks_written - 1} stored") for p in broken.problems), broken.problems


def test_rebuild_refuses_to_migrate_a_collection_another_alias_points_at(
    settings: ServiceSettings, embedder: Embedder
) -> None:
    legacy = Indexer(settings, embedder=embedder)
    legacy.ingest_paths([SAMPLES / "volcano-alert.txt"])
    legacy.store.with_collection("other").point_alias(settings.collection)
    try:
        with pytest.raises(RebuildError, match="alias\\(es\\) other point at"):
            rebuild(settings, [SAMPLES], store=legacy.store, embedder=embedder)
        assert legacy.store.collection_names() == [settings.collection]
    finally:
        legacy.close()


def test_rebuild_refuses_an_embedded_store_in_use(settings: ServiceSettings, tmp_path: Path) -> None:
    holder = open_store(settings)  # stands for a running service
    try:
        result = run_cli(settings, "rebuild", str(SAMPLES), cwd=tmp_path, timeout=120)
    finally:
        holder.close()
    assert result.returncode == 1 and "in use by another process" in result.stderr, result.stderr
    assert layout(settings) == ([], {})
