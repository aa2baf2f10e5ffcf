"""What ends up in the embedded Qdrant store, and how re-ingest, change, prune, delete and locking behave."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from indexer.articles import Article
from indexer.embedding import Embedder
from indexer.payload import DENSE, SPARSE, point_id
from indexer.pipeline import Indexer
from indexer.readers import discover, read_sources
from indexer.settings import IndexerSettings
from tests.conftest import SAMPLES
from tests.indexer.helpers import StoredPoint, read_points, run_cli, write_articles


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """The sample articles plus two generated multi-chunk ones."""
    folder = tmp_path / "corpus"
    shutil.copytree(SAMPLES, folder)
    write_articles(folder / "long", 2, paragraphs=14)
    return folder


@pytest.fixture
def indexer(settings: IndexerSettings, embedder: Embedder) -> Iterator[Indexer]:
    ix = Indexer(settings, embedder=embedder)
    yield ix
    ix.close()


def articles_of(folder: Path) -> dict[str, Article]:
    files, _ = discover([folder])
    return {a.doc_id: a for a in read_sources(files) if isinstance(a, Article)}


def by_doc(points: list[StoredPoint]) -> dict[str, list[StoredPoint]]:
    out: dict[str, list[StoredPoint]] = {}
    for p in points:
        out.setdefault(p.payload["doc_id"], []).append(p)
    return out


def test_points_carry_both_vectors_and_the_full_payload(
    indexer: Indexer, corpus: Path, embedder: Embedder, settings: IndexerSettings
) -> None:
    report = indexer.ingest_paths([corpus])
    articles = articles_of(corpus)
    assert report.count("indexed") == len(articles) == 13  # 11 samples + 2 generated
    points = read_points(indexer.store)
    docs = by_doc(points)
    assert set(docs) == set(articles)
    assert max(len(v) for v in docs.values()) >= 3  # the generated articles span several chunks
    texts = [f"{p.payload['title']}\n{p.payload['text']}" for p in points]
    expected = embedder.encode(texts)
    for p, want in zip(points, expected, strict=True):
        a = articles[p.payload["doc_id"]]
        n = p.payload["chunk_index"]
        assert p.id == point_id(a.doc_id, n)
        dense = np.asarray(p.vectors[DENSE], dtype=np.float32)
        assert dense.shape == (embedder.dim,)
        assert abs(float(np.linalg.norm(dense)) - 1.0) < 1e-3
        assert float(dense @ want) > 0.999  # the stored vector is the embedding of title + chunk text
        sparse = p.vectors[SPARSE]
        assert len(sparse.indices) == len(sparse.values) > 0 and min(sparse.values) > 0
        pl = p.payload
        assert pl["text"] == a.text[pl["char_start"] : pl["char_end"]]
        assert pl["chunk_id"] == f"{a.doc_id}#{n}"
        assert pl["chunk_count"] == len(docs[a.doc_id])
        assert (pl["title"], pl["source"], pl["published_at"], pl["url"], pl["author"]) == (
            a.title, a.source, a.published_at, a.url, a.author,
        )
        assert pl["metadata"] == a.metadata
        assert pl["origin"] == str(corpus.resolve())
    for doc_points in docs.values():
        assert [p.payload["chunk_index"] for p in doc_points] == list(range(len(doc_points)))
        assert len({p.payload["doc_hash"] for p in doc_points}) == 1
    solar = docs["solar-farm.html"][0].payload
    assert (solar["source"], solar["published_at"][:10]) == ("Energy Wire", "2026-01-22")
    assert docs["wire-rail-strike"][0].payload["metadata"] == {"section": "business"}


def test_point_ids_are_deterministic_across_stores(
    corpus: Path, settings: IndexerSettings, embedder: Embedder, tmp_path: Path
) -> None:
    ids = []
    for store in ("a", "b"):
        ix = Indexer(settings.model_copy(update={"qdrant_path": tmp_path / store}), embedder=embedder)
        try:
            ix.ingest_paths([corpus])
            ids.append([(p.id, p.payload["chunk_id"]) for p in read_points(ix.store, False)])
        finally:
            ix.close()
    assert ids[0] == ids[1] and len(ids[0]) > 8


def test_reingest_of_unchanged_files_writes_nothing(indexer: Indexer, corpus: Path, settings: IndexerSettings) -> None:
    first = indexer.ingest_paths([corpus])
    before = read_points(indexer.store)
    again = indexer.ingest_paths([corpus])
    assert again.count("unchanged") == first.count("indexed") == 13
    assert again.chunks_written == 0 and again.embed_seconds == 0.0
    after = read_points(indexer.store)
    assert [(p.id, p.payload) for p in after] == [(p.id, p.payload) for p in before]  # indexed_at too


def test_changed_article_replaces_all_its_chunks(indexer: Indexer, corpus: Path, settings: IndexerSettings) -> None:
    indexer.ingest_paths([corpus])
    long_doc = "long/batch0/story-000.txt"
    old = by_doc(read_points(indexer.store, False))[long_doc]
    assert len(old) >= 3
    others_before = [(p.id, p.payload) for p in read_points(indexer.store, False)
                     if p.payload["doc_id"] != long_doc]
    path = corpus / long_doc
    path.write_text("Short now\n\nThe story was cut to a single paragraph after an editor's review.\n")
    report = indexer.ingest_paths([corpus])
    assert [(r.doc_id, r.status, r.chunks) for r in report.results if r.status != "unchanged"] == [
        (long_doc, "replaced", 1)
    ]
    points = read_points(indexer.store, False)
    new = by_doc(points)[long_doc]
    assert [(p.payload["chunk_index"], p.payload["chunk_count"]) for p in new] == [(0, 1)]
    assert new[0].payload["title"] == "Short now"
    assert new[0].payload["doc_hash"] != old[0].payload["doc_hash"]
    assert not {p.id for p in old[1:]} & {p.id for p in points}  # no stale chunk survives
    assert [(p.id, p.payload) for p in points if p.payload["doc_id"] != long_doc] == others_before
    stats = indexer.stats()
    assert stats["incomplete_documents"] == []
    assert stats["chunks"] == len(points)


def test_prune_removes_documents_whose_files_are_gone_only_under_that_root(
    indexer: Indexer, corpus: Path, settings: IndexerSettings, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    write_articles(other, 1, paragraphs=2)
    indexer.ingest_paths([corpus])
    indexer.ingest_paths([other])
    (corpus / "volcano-alert.txt").unlink()
    (corpus / "wire.jsonl").unlink()
    without_prune = indexer.ingest_paths([corpus])
    assert without_prune.count("deleted") == 0
    assert "volcano-alert.txt" in by_doc(read_points(indexer.store, False))
    report = indexer.ingest_paths([corpus], prune=True)
    assert sorted(r.doc_id or "" for r in report.results if r.status == "deleted") == [
        "volcano-alert.txt", "wire-museum-theft", "wire-rail-strike",
    ]
    remaining = set(by_doc(read_points(indexer.store, False)))
    assert remaining == set(articles_of(corpus)) | set(articles_of(other))


def test_delete_and_stats(indexer: Indexer, corpus: Path, settings: IndexerSettings) -> None:
    assert indexer.stats()["exists"] is False
    indexer.ingest_paths([corpus])
    points = read_points(indexer.store, False)
    stats = indexer.stats()
    assert (stats["documents"], stats["chunks"], stats["incomplete_documents"]) == (13, len(points), [])
    assert stats["config"]["dense"] == {"size": 384, "distance": "Cosine"}
    assert stats["settings"]["embed_precision"] == settings.effective_precision() != "auto"  # what ran
    long_chunks = len(by_doc(points)["long/batch1/story-001.txt"])
    removed = indexer.delete(["long/batch1/story-001.txt", "volcano-alert.txt", "never-ingested"])
    assert removed == {"long/batch1/story-001.txt": long_chunks, "volcano-alert.txt": 1, "never-ingested": 0}
    stats = indexer.stats()
    assert (stats["documents"], stats["chunks"]) == (11, len(points) - long_chunks - 1)
    assert "volcano-alert.txt" not in by_doc(read_points(indexer.store, False))
    assert indexer.reset() is True
    assert indexer.stats()["exists"] is False


def test_a_second_opener_of_the_embedded_store_gets_a_clear_error(
    indexer: Indexer, settings: IndexerSettings, tmp_path: Path
) -> None:
    # (the same check in-process would leak qdrant-client's half-opened .lock file: tested across processes,
    # which is the real situation: a running service holds the store and someone runs the CLI)
    result = run_cli(settings, "stats", cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: the embedded Qdrant store at {settings.qdrant_path}")
    assert "in use by another process" in lines[0]


def test_article_is_rebuilt_from_its_stored_chunks(indexer: Indexer, corpus: Path) -> None:
    """The page opens a citation inside its whole article: the chunks laid at their offsets give back the cleaned
    article, so a citation's char_start/char_end index into it."""
    from indexer.payload import article_text

    indexer.ingest_paths([corpus])
    articles = articles_of(corpus)
    multi = [d for d in articles if len(indexer.store.document_chunks(d)) >= 3]
    assert multi  # the generated long articles
    for doc_id, article in articles.items():
        chunks = indexer.store.document_chunks(doc_id)
        rebuilt = article_text(chunks)
        assert len(rebuilt) == len(article.text)
        # identical but for whitespace the chunker left between chunks
        assert [i for i, (a, b) in enumerate(zip(rebuilt, article.text, strict=True)) if a != b and not b.isspace()] == []
        for c in chunks:
            assert rebuilt[c.char_start:c.char_end] == c.text
    assert indexer.store.document_chunks("no-such-doc") == []
