"""A three-node Qdrant cluster (distributed mode, on loopback) keeps answering when one peer dies.

The collection is created by the real Indexer with shard_number=3, replication_factor=2 from ServiceSettings, so every
shard lives on two peers. Peer 3 (``nodes[2]``) is the one killed: Newsdesk talks to one URL (peer 1, as in
compose.yaml), so killing that one would test client-side failover, which Newsdesk does not have; killing a peer
behind it tests what the cluster promises, that every shard still has a live replica. A write while it is down
then makes its replicas stale, so the restart has to go through real recovery before they are Active again.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from qdrant_client import QdrantClient, models

from indexer.backends.server import ServerStore
from indexer.embedding import Embedder
from indexer.payload import DENSE, SPARSE
from indexer.pipeline import Indexer
from indexer.sparse import SparseEncoder
from service.settings import ServiceSettings
from tests.deploy.conftest import REPO, unique_collection
from tests.qdrant_server import QdrantCluster, require_binary

pytestmark = [pytest.mark.cluster, pytest.mark.server, pytest.mark.timeout(240)]

QUESTIONS = {
    "Why was the alert level for Mount Teravo raised?": "volcano-alert.txt",
    "When did the Port of Kestrel Bay reopen after the storm?": "harbor-reopens.md",
    "How much more money will the public libraries get?": "library-funding.md",
}
# long enough for ~15 chunks: points are hashed to shards, and the dead peer holds 2 of the 3, so a write this
# size reaches one of its replicas with near certainty (a one-chunk write misses them one time in three)
NEW_ARTICLE = "Hot-air balloon festival grounded by fog\n\n" + "\n\n".join(
    f"Report {i}: the annual hot-air balloon festival in Veldmoor stayed grounded as thick fog covered the "
    f"valley for the {i}th hour. Organisers said the 120 balloons would try to launch again at dawn."
    for i in range(100)
)
NEW_QUESTION = "Why were the balloons at the Veldmoor festival grounded?"
T = TypeVar("T")


def ranked(client: QdrantClient, settings: ServiceSettings, embedder: Embedder) -> dict[tuple[str, str], list[str]]:
    """(mode, question) -> doc_ids of the top chunks, for dense and for BM25 separately."""
    sparse = SparseEncoder(settings.bm25_k1, settings.bm25_b, settings.sparse_avg_doc_tokens)
    out: dict[tuple[str, str], list[str]] = {}
    for question in [*QUESTIONS, NEW_QUESTION]:
        q = sparse.encode_query(question)
        queries: dict[str, Any] = {
            DENSE: embedder.encode_query(question).tolist(),
            SPARSE: models.SparseVector(indices=q.indices, values=q.values),
        }
        for using, query in queries.items():
            points = client.query_points(
                settings.collection, query=query, using=using, limit=3, with_payload=["doc_id"]
            ).points
            out[(using, question)] = [str((p.payload or {})["doc_id"]) for p in points]
    return out


def retry(action: Callable[[], T], accept: Callable[[T], bool], seconds: float) -> T:
    """``action()`` until ``accept`` holds (errors count as not yet); the last error or result when time is up."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            result = action()
            if accept(result) or time.monotonic() > deadline:
                return result
        except Exception:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.25)


def replica_states(url: str, collection: str) -> dict[tuple[int, int], str]:
    """(shard_id, peer_id) -> state of every replica, as the peer at ``url`` sees the cluster."""
    with urllib.request.urlopen(f"{url}/collections/{collection}/cluster", timeout=5) as resp:
        info = json.loads(resp.read())["result"]
    states = {(s["shard_id"], info["peer_id"]): s["state"] for s in info["local_shards"]}
    states.update({(s["shard_id"], s["peer_id"]): s["state"] for s in info["remote_shards"]})
    return states


def peer_id(url: str) -> int:
    with urllib.request.urlopen(f"{url}/cluster", timeout=5) as resp:
        return int(json.loads(resp.read())["result"]["peer_id"])


def search_through_service(settings: ServiceSettings, embedder: Embedder, question: str) -> list[str] | None:
    """doc_ids from POST /v1/search of the real app, or None while the service is not in the tree."""
    if not (REPO / "service" / "app.py").is_file():
        return None
    from litestar.testing import TestClient

    from service.app import create_app

    with TestClient(create_app(settings, embedder=embedder)) as http:
        resp = http.post("/v1/search", json={"query": question, "limit": 3})
        assert resp.status_code == 200, resp.text
        return [hit["doc_id"] for hit in resp.json()["hits"]]


def test_cluster_survives_a_dead_peer_and_recovers_it(
    base_settings: ServiceSettings, embedder: Embedder, samples_dir: Path, tmp_path: Path
) -> None:
    started = time.monotonic()
    binary = require_binary()
    articles = tmp_path / "articles"
    shutil.copytree(samples_dir, articles)
    with QdrantCluster(3, binary=binary, workdir=tmp_path / "cluster") as cluster:
        first, _, victim = cluster.nodes
        settings = base_settings.model_copy(update={
            "qdrant_url": first.url, "collection": unique_collection("cluster"),
            "shard_number": 3, "replication_factor": 2, "write_consistency_factor": 1,
        })
        indexer = Indexer(settings, embedder=embedder)
        try:
            report = indexer.ingest_paths([articles])
            assert report.count("indexed") >= 5 and not report.skipped, report.summary()
            config = indexer.store.config()
            assert (config["shard_number"], config["replication_factor"]) == (3, 2)
            states = replica_states(first.url, settings.collection)
            assert len(states) == 6 and set(states.values()) == {"Active"}, states
            assert {peer for _, peer in states} == {peer_id(n.url) for n in cluster.nodes}

            baseline = ranked(indexer.store.client, settings, embedder)
            for question, doc in QUESTIONS.items():
                assert baseline[(DENSE, question)][0] == doc
                assert baseline[(SPARSE, question)][0] == doc

            # --- one peer dies ---------------------------------------------------------------------------------
            victim_id = peer_id(victim.url)
            victim.kill()
            during = retry(lambda: ranked(indexer.store.client, settings, embedder), lambda r: r == baseline, 15)
            assert during == baseline, "answers changed while a peer was down"
            via_service = search_through_service(settings, embedder, next(iter(QUESTIONS)))
            if via_service is not None:
                assert via_service[0] == next(iter(QUESTIONS.values()))

            # a write while it is down: its replicas miss it and must be recovered on return
            (articles / "balloon-festival.txt").write_text(NEW_ARTICLE)
            written = indexer.ingest_paths([articles])
            assert written.count("indexed") == 1 and written.chunks_written >= 10, written.summary()
            assert indexer.stats()["incomplete_documents"] == []
            expected = ranked(indexer.store.client, settings, embedder)
            # replicas on the dead peer that missed the write are marked Dead
            marked = retry(
                lambda: replica_states(first.url, settings.collection),
                lambda s: any(v == "Dead" for (_, p), v in s.items() if p == victim_id), 15,
            )
            assert "Dead" in {v for (_, p), v in marked.items() if p == victim_id}, marked
            assert expected[(SPARSE, NEW_QUESTION)][0] == "balloon-festival.txt"

            # --- it comes back, with the same storage and ports --------------------------------------------------
            victim.start()
            victim.wait_ready(60)
            cluster.wait_peers(3)
            assert peer_id(victim.url) == victim_id, "the restarted peer joined as a new one"
            settled = retry(
                lambda: replica_states(first.url, settings.collection),
                lambda s: len(s) == 6 and set(s.values()) == {"Active"}, 60,
            )
            assert len(settled) == 6 and set(settled.values()) == {"Active"}, settled
            own = retry(
                lambda: {k: v for k, v in replica_states(victim.url, settings.collection).items() if k[1] == victim_id},
                lambda s: len(s) == 2 and set(s.values()) == {"Active"}, 30,
            )
            assert len(own) == 2 and set(own.values()) == {"Active"}, own

            # every peer now answers the same, the write included
            for node in cluster.nodes:
                client = QdrantClient(url=node.url, check_compatibility=False, timeout=10)
                try:
                    assert ServerStore(client, settings.collection).count() == indexer.stats()["chunks"], node.name
                    assert ranked(client, settings, embedder) == expected, node.name
                finally:
                    client.close()
        finally:
            indexer.close()
    assert time.monotonic() - started < 180
