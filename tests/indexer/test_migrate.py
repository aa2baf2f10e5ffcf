"""``python -m indexer migrate``: a store written by qdrant-client's local mode (the embedded engine before Qdrant
Edge) is detected by every command, copied into Edge without re-embedding, verified point by point, and answers
the same questions afterwards; nothing is deleted before the copy is verified."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from qdrant_client import QdrantClient, models

from indexer.backends.edge import is_local_mode_folder
from indexer.collection import LocalModeStoreError, StoredPoint, open_store
from indexer.embedding import Embedder
from indexer.migrate import MigrationError, migrate, payload_hash
from indexer.payload import DENSE, SPARSE
from indexer.pipeline import Indexer
from service.retrieval.retriever import Retriever
from service.settings import ServiceSettings
from tests.conftest import SAMPLES
from tests.indexer.helpers import read_points, run_cli

REAL = "test__20260101T000000Z"
QUESTIONS = ["What did Russia promise Mali?", "When did the Port of Kestrel Bay reopen after the storm?",
             "How much more money will the public libraries get?"]


def write_local_mode_store(path: Path, alias: str, points: list[StoredPoint], dim: int) -> None:
    """The layout the previous Newsdesk wrote with qdrant-client's local mode: a collection with the two named
    vectors, reached through an alias (as ``rebuild`` left it)."""
    client = QdrantClient(path=str(path))
    try:
        client.create_collection(
            REAL, vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)})
        client.upsert(REAL, points=[models.PointStruct(
            id=p.id, payload=p.payload, vector={
                DENSE: p.dense or [],
                SPARSE: models.SparseVector(indices=p.sparse.indices if p.sparse else [],
                                            values=p.sparse.values if p.sparse else [])})
            for p in points])
        client.update_collection_aliases(change_aliases_operations=[models.CreateAliasOperation(
            create_alias=models.CreateAlias(collection_name=REAL, alias_name=alias))])
    finally:
        client.close()


def ranked(settings: ServiceSettings, embedder: Embedder) -> list[list[str]]:
    store = open_store(settings)
    try:
        retriever = Retriever(settings, store, embedder)
        return [[h.chunk_id for h in retriever.search(q, limit=5).hits] for q in QUESTIONS]
    finally:
        store.close()


def test_a_local_mode_store_migrates_verified_and_answers_the_same(
    settings: ServiceSettings, embedder: Embedder, tmp_path: Path
) -> None:
    source = settings.model_copy(update={"qdrant_path": tmp_path / "source"})
    ix = Indexer(source, embedder=embedder)
    try:
        ix.ingest_paths([SAMPLES])
        points = list(ix.store.scan_points(with_vectors=True))
    finally:
        ix.close()
    expected = ranked(source, embedder)
    write_local_mode_store(settings.qdrant_path, settings.collection, points, embedder.dim)
    assert is_local_mode_folder(settings.qdrant_path)

    # every other command points at migrate, in one line, and touches nothing
    stats = run_cli(settings, "stats", cwd=tmp_path, timeout=120)
    assert stats.returncode == 1 and "Traceback" not in stats.stderr
    lines = stats.stderr.strip().splitlines()
    assert len(lines) == 1 and "python -m indexer migrate" in lines[0] and "local mode" in lines[0]
    with pytest.raises(LocalModeStoreError):
        open_store(settings)

    result = run_cli(settings, "migrate", "--json", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [(c["name"], c["points"], c["verified"]) for c in report["collections"]] == [
        (REAL, len(points), len(points))]
    assert report["aliases"] == {settings.collection: REAL}
    assert not is_local_mode_folder(settings.qdrant_path)

    copied = {p.id: p for p in read_points(settings)}
    assert set(copied) == {p.id for p in points}
    for p in points:
        assert payload_hash(copied[p.id].payload) == payload_hash(p.payload)
    assert ranked(settings, embedder) == expected  # same questions, same chunks, same order

    again = run_cli(settings, "migrate", cwd=tmp_path, timeout=120)
    assert again.returncode == 1 and "nothing to migrate" in again.stderr


def test_a_failed_verification_deletes_nothing(
    settings: ServiceSettings, embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = settings.model_copy(update={"qdrant_path": tmp_path / "source"})
    ix = Indexer(source, embedder=embedder)
    try:
        ix.ingest_paths([SAMPLES / "harbor-reopens.md"])
        points = list(ix.store.scan_points(with_vectors=True))
    finally:
        ix.close()
    write_local_mode_store(settings.qdrant_path, settings.collection, points, embedder.dim)
    before = sorted(str(p.relative_to(settings.qdrant_path)) for p in settings.qdrant_path.rglob("*"))

    import indexer.migrate as mig

    monkeypatch.setattr(mig, "payload_hash", lambda payload: json.dumps(sorted(payload)) + str(id(payload)))
    with pytest.raises(MigrationError, match="different payload"):
        migrate(settings)
    after = sorted(str(p.relative_to(settings.qdrant_path)) for p in settings.qdrant_path.rglob("*"))
    assert set(before) <= set(after) and is_local_mode_folder(settings.qdrant_path)
    monkeypatch.undo()
    result = migrate(settings)  # the retry starts the copy over
    assert [c.verified for c in result.collections] == [len(points)]
