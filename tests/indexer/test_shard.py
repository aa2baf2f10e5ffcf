"""``python -m indexer ingest --shard I/N``: N processes split one input list between them by document id, so
they can write to one Qdrant server at once; together they index every document exactly once."""

from __future__ import annotations

import argparse
import json
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from indexer.cli import in_shard, parse_shard, shard_of
from indexer.readers import Skipped
from indexer.settings import IndexerSettings
from tests.indexer.helpers import cli_command, cli_env, read_points, run_cli, write_articles
from tests.qdrant_server import qdrant_server_url  # noqa: F401  (session fixture)


def test_parse_shard_accepts_i_of_n_and_rejects_the_rest() -> None:
    assert parse_shard("1/1") == (1, 1)
    assert parse_shard("3/4") == (3, 4)
    for bad in ("0/4", "5/4", "2", "a/b", "1/2/3", "-1/2"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_shard(bad)


def test_every_document_id_lands_in_exactly_one_shard_and_shards_are_balanced() -> None:
    ids = [f"batch{i % 7}/story-{i:05d}.txt" for i in range(4000)]
    for count in (1, 2, 4):
        owners = [[k for k in range(1, count + 1) if shard_of(doc, count) == k] for doc in ids]
        assert all(len(o) == 1 for o in owners)
        sizes = Counter(o[0] for o in owners)
        assert sorted(sizes) == list(range(1, count + 1))
        assert max(sizes.values()) - min(sizes.values()) < 0.1 * len(ids) / count, sizes
    # stable: the same id goes to the same shard in every process (no salted hash())
    assert shard_of("batch0/story-00000.txt", 4) == shard_of("batch0/story-00000.txt", 4)
    assert [shard_of(f"d{i}", 3) for i in range(6)] == [shard_of(f"d{i}", 3) for i in range(6)]


def test_an_unreadable_input_without_an_id_is_reported_by_one_shard_only() -> None:
    item = Skipped("feed.jsonl:17", "not JSON")
    assert sum(in_shard(item, (k, 3)) for k in (1, 2, 3)) == 1


def test_shard_with_prune_is_refused_before_anything_is_opened(settings: IndexerSettings, tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 2)
    result = run_cli(settings, "ingest", str(tmp_path / "in"), "--shard", "1/2", "--prune", cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "--prune cannot be combined with --shard" in result.stderr
    assert not settings.qdrant_path.exists()


@pytest.fixture
def server_settings(settings: IndexerSettings, qdrant_server_url: str) -> Iterator[IndexerSettings]:  # noqa: F811
    s = settings.model_copy(update={"qdrant_url": qdrant_server_url, "collection": f"shard-{uuid.uuid4().hex[:8]}"})
    yield s
    client = QdrantClient(url=qdrant_server_url, check_compatibility=False)
    client.delete_collection(s.collection)
    client.close()


@pytest.mark.server
def test_three_shard_processes_at_once_index_every_document_exactly_once(
    server_settings: IndexerSettings, tmp_path: Path
) -> None:
    ids = write_articles(tmp_path / "in", 12, paragraphs=3)
    env = cli_env(server_settings, NEWSDESK_QDRANT_URL=str(server_settings.qdrant_url))
    procs = [
        subprocess.Popen(cli_command("ingest", str(tmp_path / "in"), "--shard", f"{k}/3", "--json", "--no-progress"),
                         env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for k in (1, 2, 3)
    ]
    summaries = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        summaries.append(json.loads(out.strip().splitlines()[-1]))
    expected = [sum(1 for d in ids if shard_of(d, 3) == k) for k in (1, 2, 3)]
    assert [s["indexed"] for s in summaries] == expected
    points = read_points(server_settings, with_vectors=False)
    per_doc = Counter(p.payload["doc_id"] for p in points)
    assert sorted(per_doc) == ids
    for p in points:  # every document complete: as many points as its chunk count says
        assert per_doc[p.payload["doc_id"]] == p.payload["chunk_count"]
    assert sum(s["chunks_written"] for s in summaries) == len(points)
