"""``--prune`` must not delete a document whose JSONL line could not be read in this run: its id is unknown, so
every document stored from that file is kept, and the run says so.

Readers mark such a line ``Skipped`` with its file (``Skipped.source_file``); every stored point names its file
(payload ``source_file``, written back without re-embedding for documents stored before it existed), and the
pipeline reports the documents it would have pruned from that file as ``kept``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.embedding import Embedder
from indexer.pipeline import Indexer
from indexer.settings import IndexerSettings
from tests.indexer.helpers import read_points


def line(doc_id: str, text: str) -> str:
    return json.dumps({"id": doc_id, "title": f"Story {doc_id}", "text": text}) + "\n"


@pytest.mark.parametrize("legacy", [False, True], ids=["payload-names-file", "stored-before-source_file"])
def test_prune_keeps_every_document_of_a_file_with_an_unreadable_line(
    tmp_path: Path, settings: IndexerSettings, embedder: Embedder, legacy: bool
) -> None:
    folder = tmp_path / "feeds"
    folder.mkdir()
    feed, other = folder / "feed.jsonl", folder / "other.jsonl"
    a = line("a", "The ferry adds two evening crossings from June.")
    b = line("b", "The bakery on Mill Street reopened after a fire.")
    c = line("c", "The library extended its opening hours.")
    feed.write_text(a + b + c, encoding="utf-8")
    other.write_text(line("gone", "A story whose file is deleted before the second run."), encoding="utf-8")
    indexer = Indexer(settings, embedder=embedder)
    try:
        indexer.ingest_paths([folder])
        if legacy:  # a collection written before payloads named their file: kept by origin instead
            indexer.store.delete_payload(["source_file"])
        # line 2 is cut off in an edit (its id can no longer be read); other.jsonl is deleted on purpose
        feed.write_text(a + b[:30] + "\n" + c, encoding="utf-8")
        other.unlink()
        report = indexer.ingest_paths([folder], prune=True)
        stored = {p.payload["doc_id"]: p.payload for p in read_points(indexer.store, False)}
    finally:
        indexer.close()
    # without a file in its payload, "gone" may have come from the unreadable file too: kept until it is fixed
    assert set(stored) == ({"a", "b", "c", "gone"} if legacy else {"a", "b", "c"})
    assert sorted((r.doc_id, r.status) for r in report.results if r.status in ("deleted", "kept")) == [
        ("b", "kept"), ("gone", "kept" if legacy else "deleted"),
    ]
    kept = next(r for r in report.results if r.status == "kept")
    assert str(feed.resolve()) in (kept.error or "")
    # unchanged documents (re)gain the file they were read from, without being re-embedded
    assert stored["a"]["source_file"] == stored["c"]["source_file"] == str(feed.resolve())
    assert report.count("unchanged") == 2 and report.chunks_written == 0
