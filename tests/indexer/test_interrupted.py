"""A killed or Ctrl-C'd ingest, run again, ends in exactly the state of an uninterrupted run."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexer.embedding import Embedder
from indexer.payload import DENSE
from indexer.pipeline import Indexer
from indexer.settings import IndexerSettings
from tests.indexer.helpers import (
    StderrLines,
    cli_command,
    cli_env,
    read_points,
    run_cli,
    wait_for_rows,
    write_articles,
)

ARTICLES = 40


@pytest.fixture(scope="module")
def articles(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("interrupt") / "articles"
    return folder, write_articles(folder, ARTICLES, paragraphs=6)


@pytest.fixture(scope="module")
def small_chunks(base_settings: IndexerSettings) -> IndexerSettings:
    """Small chunks and batches: many flushes (one every 64 chunks), so a run can be stopped half-way."""
    return base_settings.model_copy(update={"chunk_tokens": 64, "chunk_overlap": 16, "embed_batch_size": 8})


State = dict[str, tuple[Any, ...]]


def snapshot(
    settings: IndexerSettings, embedder: Embedder | None = None, complete: bool = True
) -> tuple[State, dict[str, np.ndarray]]:
    """Every point's bookkeeping; with ``complete`` also asserts that no document is half-written (a run stopped
    mid-batch may leave one: local mode commits point by point; the next run redoes it)."""
    ix = Indexer(settings, embedder=embedder)
    try:
        points = read_points(ix.store)
        stats = ix.stats()
    finally:
        ix.close()
    if complete:
        assert stats["incomplete_documents"] == []
    state = {
        p.id: (p.payload["doc_id"], p.payload["chunk_index"], p.payload["chunk_count"], p.payload["doc_hash"],
               p.payload["text"], p.payload["char_start"], p.payload["char_end"])
        for p in points
    }
    assert len(state) == len(points)  # no duplicate ids
    dense = {p.id: np.asarray(p.vectors[DENSE], dtype=np.float32) for p in points}
    return state, dense


@pytest.fixture(scope="module")
def reference(
    small_chunks: IndexerSettings, embedder: Embedder, articles: tuple[Path, list[str]],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[State, dict[str, np.ndarray]]:
    """The state after one uninterrupted run."""
    settings = small_chunks.model_copy(update={"qdrant_path": tmp_path_factory.mktemp("reference") / "q"})
    ix = Indexer(settings, embedder=embedder)
    try:
        report = ix.ingest_paths([articles[0]])
    finally:
        ix.close()
    assert report.count("indexed") == ARTICLES
    state, dense = snapshot(settings)
    assert len(state) > 4 * 64  # several flushes
    return state, dense


def assert_same_final_state(
    settings: IndexerSettings, reference: tuple[State, dict[str, np.ndarray]], doc_ids: list[str]
) -> None:
    want_state, want_dense = reference
    state, dense = snapshot(settings)
    assert state == want_state
    assert sorted({v[0] for v in state.values()}) == doc_ids
    for doc_id in doc_ids:  # every document complete: chunk_count points, positions 0..n-1
        rows = sorted(v[1:3] for v in state.values() if v[0] == doc_id)
        assert rows == [(i, len(rows)) for i in range(len(rows))]
    for pid, vec in want_dense.items():
        assert float(vec @ dense[pid]) > 0.999


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_interrupted_ingest_then_rerun_equals_an_uninterrupted_run(
    stop: signal.Signals, small_chunks: IndexerSettings, articles: tuple[Path, list[str]],
    reference: tuple[State, dict[str, np.ndarray]], tmp_path: Path,
) -> None:
    folder, doc_ids = articles
    settings = small_chunks.model_copy(update={"qdrant_path": tmp_path / "q"})
    total = len(reference[0])
    proc = subprocess.Popen(
        cli_command("ingest", "--progress-interval", "0", str(folder)), env=cli_env(settings), cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        # Ctrl-C as a terminal delivers it: a runner that starts the tests in the background (`cmd &` in a
        # non-interactive shell) has SIGINT ignored, the child inherits that, and Python then never raises
        # KeyboardInterrupt (the run ends 0 untouched)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines = StderrLines(proc)
    try:
        wait_for_rows(proc, lines, minimum=1)
        proc.send_signal(stop)
        proc.wait(timeout=60)
        stderr = lines.text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if stop == signal.SIGINT:
        assert proc.returncode == 130, stderr
        assert "Traceback" not in stderr
        assert stderr.strip().splitlines()[-1].startswith("interrupted: what was written is consistent")
    else:
        assert proc.returncode == -signal.SIGKILL
    partial, _ = snapshot(settings, complete=False)
    assert 0 < len(partial) < total, "the run was not stopped half-way"

    rerun = run_cli(settings, "ingest", "--no-progress", "--json", str(folder), cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert '"unchanged": 0' not in rerun.stdout  # the documents finished before the stop are not redone
    assert_same_final_state(settings, reference, doc_ids)


def test_a_half_written_document_is_redone(
    small_chunks: IndexerSettings, embedder: Embedder, articles: tuple[Path, list[str]],
    reference: tuple[State, dict[str, np.ndarray]], tmp_path: Path,
) -> None:
    """The two states a stop can leave behind: a document missing its last chunks, and one whose chunks carry
    two content hashes (new chunks upserted, stale ones not yet deleted)."""
    folder, doc_ids = articles
    settings = small_chunks.model_copy(update={"qdrant_path": tmp_path / "q"})
    ix = Indexer(settings, embedder=embedder)
    try:
        ix.ingest_paths([folder])
        truncated, mixed = doc_ids[3], doc_ids[7]
        points = read_points(ix.store, with_vectors=False)
        last = max((p for p in points if p.payload["doc_id"] == truncated), key=lambda p: p.payload["chunk_index"])
        ix.store.delete_ids([last.id])
        first = next(p for p in points if p.payload["doc_id"] == mixed)
        ix.store.set_payload([first.id], {"doc_hash": "an-older-version"})
        assert sorted(ix.stats()["incomplete_documents"]) == sorted([truncated, mixed])
        report = ix.ingest_paths([folder])
    finally:
        ix.close()
    assert sorted(r.doc_id or "" for r in report.results if r.status == "replaced") == sorted([truncated, mixed])
    assert report.count("unchanged") == ARTICLES - 2
    assert_same_final_state(settings, reference, doc_ids)
