"""The embedded store at 10k / 100k chunks on both engines in one run: Qdrant Edge (the default now) and
qdrant-client's local mode (the default before), for open time, memory, hybrid lookup latency and recall.

Data: **real vectors plus perturbed copies**. The first ``--base-articles`` articles of
../shared/data/news-rtqa-2023 are ingested once with the real ``Indexer`` and the real embedding model (real
chunks, payloads, all-MiniLM-L6-v2 dense vectors and BM25 vectors; cached in data/bench/scale-edge/base). A
store of N points repeats those points under distinct article ids (``<id>~<k>``, own point ids) with the dense
vector perturbed (``normalise(v + N(0, 0.03^2 I))``, seeded: a copy keeps cosine ~0.86 with its original, see
bench/scale_server.py) and the same payload and sparse vector. Queries are the real questions of the set
(``queries.jsonl``), embedded with the real model.

Per engine and size, in a fresh child process (so memory is what opening that store costs):

* ``open_s``: opening the store (Edge: ``EdgeStore.open`` + first touch of the shard; local mode:
  ``QdrantClient(path=...)``, which loads every point);
* ``rss_open_mb`` / ``rss_mb``: the child's resident memory after opening, and after the lookups, minus the
  child's RSS before opening (Python + the libraries imported);
* ``hybrid_ms``: one hybrid lookup as the service makes it for the default fusion: dense and BM25 candidate
  lists (50 each, hit payloads) in one batch call; ``hybrid_filtered_ms`` the same with a date-range filter
  (``published_after`` the set's median date: about half the points); p50 / p99 over ``--queries`` questions;
* ``hybrid_ids_only_ms`` (Edge): the same two searches without payloads, i.e. the engine's search alone;
* ``recall_at_10``: Edge's HNSW dense top 10 against exact search (``SearchParams(exact=True)``) of the same
  shard; local mode is exact by construction;
* Edge's build: ``upsert_s`` and ``optimize_s`` (``optimize()`` after the ingest: HNSW build, blocking).

    nice -n 10 .venv/bin/python bench/scale_edge.py --sizes 10000 100000 --local-sizes 10000

Writes bench/results/scale_edge.json (merged by engine/size) and bench/results/scale_edge.md (the table).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATA = REPO.parent / "shared" / "data" / "news-rtqa-2023"
CACHE = REPO / "data" / "bench" / "scale-edge"
RESULTS = REPO / "bench" / "results" / "scale_edge.json"
TABLE = REPO / "bench" / "results" / "scale_edge.md"
SIGMA = 0.03
CANDIDATES = 50


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def cpu_model() -> str:
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered), 2),
            "p99": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2), "n": len(ordered)}


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def settings_for(path: Path, collection: str = "scale") -> Any:
    from indexer.settings import IndexerSettings

    return IndexerSettings(_env_file=None, qdrant_path=path, qdrant_url=None, collection=collection,  # type: ignore[call-arg]
                           model_cache_dir=REPO / "data" / "models")


# --- data ---------------------------------------------------------------------------------------------------------
def base_points(articles: int) -> list[Any]:
    """The real points of the first ``articles`` articles (ingested once, cached as an Edge store)."""
    from indexer.articles import InputError, article_from_record
    from indexer.collection import open_store
    from indexer.pipeline import Indexer

    folder = CACHE / f"base-{articles}"
    settings = settings_for(folder / "qdrant")
    if not (folder / "built.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        records = []
        for line in (DATA / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[:articles]:
            try:
                records.append(article_from_record(json.loads(line), "bench"))
            except InputError:
                continue
        ix = Indexer(settings)
        report = ix.ingest(records)
        ix.close()
        (folder / "built.json").write_text(json.dumps({"articles": len(records), "chunks": report.chunks_written,
                                                       "build_s": round(report.seconds, 1)}))
    store = open_store(settings)
    try:
        return list(store.scan_points(with_vectors=True))
    finally:
        store.close()


def queries(limit: int) -> tuple[np.ndarray, list[Any]]:
    from indexer.embedding import Embedder
    from indexer.sparse import SparseEncoder

    path = CACHE / "queries.npz"
    texts = [json.loads(line)["text"] for line in (DATA / "queries.jsonl").read_text().splitlines() if line.strip()]
    texts = texts[:limit]
    if path.exists() and int(np.load(path)["n"]) == len(texts):
        dense = np.load(path)["dense"]
    else:
        dense = Embedder(settings_for(CACHE / "unused")).encode(texts).astype(np.float32)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez(path, dense=dense, n=len(texts))
    enc = SparseEncoder()
    return dense, [enc.encode_query(t) for t in texts]


def synth(base: list[Any], size: int) -> Any:
    """``size`` points: the base points, then perturbed copies under new article ids (a generator of batches)."""
    from indexer import payload as pl
    from indexer.collection import PointData

    made, copy = 0, 0
    while made < size:
        rng = np.random.default_rng(copy)
        batch = []
        for p in base:
            if made >= size:
                break
            payload = dict(p.payload)
            dense = np.asarray(p.dense, dtype=np.float32)
            if copy:
                doc_id = f"{payload[pl.DOC_ID]}~{copy}"
                payload[pl.DOC_ID] = doc_id
                payload[pl.CHUNK_ID] = pl.chunk_id(doc_id, payload[pl.CHUNK_INDEX])
                dense = dense + rng.normal(0.0, SIGMA, dense.shape).astype(np.float32)
                dense /= np.linalg.norm(dense)
            pid = pl.point_id(payload[pl.DOC_ID], payload[pl.CHUNK_INDEX])
            batch.append(PointData(pid, dense.tolist(), p.sparse, payload))
            made += 1
        yield batch
        copy += 1


def build_edge(base: list[Any], size: int) -> dict[str, Any]:
    from indexer.backends.edge import EdgeStore

    folder = CACHE / f"edge-{size}"
    if (folder / "built.json").exists():
        return json.loads((folder / "built.json").read_text())
    shutil.rmtree(folder, ignore_errors=True)
    settings = settings_for(folder / "qdrant")
    store = EdgeStore.open(settings)
    store.ensure(settings, len(base[0].dense))
    t0 = time.perf_counter()
    for batch in synth(base, size):
        store.upsert(batch, 512)
    upsert_s = time.perf_counter() - t0
    report = store.optimize()
    built = {"points": store.count(), "upsert_s": round(upsert_s, 1), "optimize_s": round(report.seconds, 1),
             "segments": report.details.get("segments")}
    store.close()
    (folder / "built.json").write_text(json.dumps(built))
    return built


def build_local(base: list[Any], size: int) -> dict[str, Any]:
    from qdrant_client import QdrantClient, models

    from indexer.backends import server_converters as sc
    from indexer.payload import DENSE, SPARSE

    folder = CACHE / f"local-{size}"
    if (folder / "built.json").exists():
        return json.loads((folder / "built.json").read_text())
    shutil.rmtree(folder, ignore_errors=True)
    client = QdrantClient(path=str(folder / "qdrant"))
    client.create_collection("scale", vectors_config={DENSE: models.VectorParams(size=len(base[0].dense),
                                                                               distance=models.Distance.COSINE)},
                             sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)})
    t0 = time.perf_counter()
    for batch in synth(base, size):
        client.upsert("scale", points=[sc.to_point(p) for p in batch])
    built = {"points": client.count("scale").count, "upsert_s": round(time.perf_counter() - t0, 1)}
    client.close()
    (folder / "built.json").write_text(json.dumps(built))
    return built


# --- measuring (in a child process) ------------------------------------------------------------------------------
def measure_edge(size: int, qdense: np.ndarray, qsparse: list[Any], median_date: str) -> dict[str, Any]:
    import qdrant_edge as qe

    from indexer.backends.edge import EdgeStore
    from indexer.collection import SearchFilters
    from indexer.payload import DENSE, SPARSE

    before = rss_mb()
    t0 = time.perf_counter()
    store = EdgeStore.open(settings_for(CACHE / f"edge-{size}" / "qdrant"))
    shard = store._need()
    open_s = time.perf_counter() - t0
    rss_open = rss_mb() - before
    flt = SearchFilters(published_after=median_date)
    for i in range(5):  # warm-up
        store.query_both(qdense[i].tolist(), qsparse[i], CANDIDATES, None)
    hybrid, filtered = [], []
    for i in range(len(qdense)):
        t = time.perf_counter()
        store.query_both(qdense[i].tolist(), qsparse[i], CANDIDATES, None)
        hybrid.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        store.query_both(qdense[i].tolist(), qsparse[i], CANDIDATES, flt)
        filtered.append((time.perf_counter() - t) * 1000)
    ids_only = []  # the engine's search alone: the same two lists without payloads
    for i in range(len(qdense)):
        reqs = [qe.QueryRequest(limit=CANDIDATES, query=qe.Query.Nearest(qdense[i].tolist(), using=DENSE)),
                qe.QueryRequest(limit=CANDIDATES, query=qe.Query.Nearest(
                    qe.SparseVector(list(qsparse[i].indices), list(qsparse[i].values)), using=SPARSE))]
        t = time.perf_counter()
        shard.query_batch(qe.QueryBatchRequest(reqs))
        ids_only.append((time.perf_counter() - t) * 1000)
    hits = 0
    n_recall = min(len(qdense), 100)
    for i in range(n_recall):
        q = qe.Query.Nearest(qdense[i].tolist(), using=DENSE)
        approx = {str(p.id) for p in shard.query(qe.QueryRequest(limit=10, query=q))}
        exact = {str(p.id) for p in shard.query(qe.QueryRequest(limit=10, query=q,
                                                                 params=qe.SearchParams(exact=True)))}
        hits += len(approx & exact)
    info = shard.info()
    out = {"open_s": round(open_s, 3), "rss_open_mb": round(rss_open), "rss_mb": round(rss_mb() - before),
           "hybrid_ms": percentiles(hybrid), "hybrid_filtered_ms": percentiles(filtered),
           "hybrid_ids_only_ms": percentiles(ids_only),
           "recall_at_10": round(hits / (10 * n_recall), 4), "segments": info.segments_count}
    store.close()
    return out


def measure_local(size: int, qdense: np.ndarray, qsparse: list[Any], median_date: str) -> dict[str, Any]:
    from qdrant_client import QdrantClient, models

    from indexer.backends import server_converters as sc
    from indexer.collection import SearchFilters
    from indexer.payload import DENSE, HIT_FIELDS, SPARSE

    before = rss_mb()
    t0 = time.perf_counter()
    client = QdrantClient(path=str(CACHE / f"local-{size}" / "qdrant"))
    client.count("scale")
    open_s = time.perf_counter() - t0
    rss_open = rss_mb() - before
    flt = sc.to_filter(SearchFilters(published_after=median_date))

    def lookup(i: int, f: Any) -> None:
        reqs = [models.QueryRequest(query=v, using=u, limit=CANDIDATES, filter=f, with_payload=HIT_FIELDS)
                for v, u in ((qdense[i].tolist(), DENSE), (sc.to_query_vector(qsparse[i]), SPARSE))]
        client.query_batch_points("scale", requests=reqs)

    hybrid, filtered = [], []
    for i in range(len(qdense)):
        t = time.perf_counter()
        lookup(i, None)
        hybrid.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        lookup(i, flt)
        filtered.append((time.perf_counter() - t) * 1000)
    out = {"open_s": round(open_s, 3), "rss_open_mb": round(rss_open), "rss_mb": round(rss_mb() - before),
           "hybrid_ms": percentiles(hybrid), "hybrid_filtered_ms": percentiles(filtered), "recall_at_10": 1.0}
    client.close()
    return out


def child(engine: str, size: int, nq: int) -> None:
    qdense, qsparse = queries(nq)
    median_date = json.loads((CACHE / "median_date.json").read_text())["date"]
    fn = measure_edge if engine == "edge" else measure_local
    print(json.dumps(fn(size, qdense, qsparse, median_date)))


def table(results: dict[str, Any]) -> str:
    rows = ["| engine | points | build: upsert s / optimize s | open s | RSS after open / after lookups MB "
            "| hybrid lookup p50 / p99 ms | filtered p50 / p99 ms | search alone (no payloads) p50 / p99 ms "
            "| HNSW recall@10 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key in sorted(results, key=lambda k: (results[k]["engine"], results[k]["size"])):
        r = results[key]
        build = f"{r['build']['upsert_s']} / {r['build'].get('optimize_s', '-')}"
        ids = r.get("hybrid_ids_only_ms") or {"p50": "-", "p99": "-"}
        rows.append(f"| {r['engine']} | {r['size']:,} | {build} | {r['open_s']} | {r['rss_open_mb']} / {r['rss_mb']} "
                    f"| {r['hybrid_ms']['p50']} / {r['hybrid_ms']['p99']} "
                    f"| {r['hybrid_filtered_ms']['p50']} / {r['hybrid_filtered_ms']['p99']} "
                    f"| {ids['p50']} / {ids['p99']} | {r['recall_at_10']} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--local-sizes", type=int, nargs="*", default=[10_000],
                        help="sizes also measured on local mode (it loads every point: 100k takes minutes)")
    parser.add_argument("--base-articles", type=int, default=300)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.queries)
        return
    from indexer.payload import PUBLISHED_AT

    base = base_points(args.base_articles)
    dates = [p.payload.get(PUBLISHED_AT) for p in base if p.payload.get(PUBLISHED_AT)]
    (CACHE / "median_date.json").write_text(json.dumps({"date": sorted(dates)[len(dates) // 2]}))
    queries(args.queries)  # embedded once, in this process
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    jobs = [("edge", s) for s in args.sizes] + [("local", s) for s in args.local_sizes]
    for engine, size in jobs:
        print(f"{engine} {size}: building", file=sys.stderr, flush=True)
        built = build_edge(base, size) if engine == "edge" else build_local(base, size)
        print(f"{engine} {size}: measuring ({built})", file=sys.stderr, flush=True)
        out = subprocess.run([sys.executable, __file__, "--child", engine, str(size), "--queries", str(args.queries)],
                             capture_output=True, text=True, cwd=REPO, env=os.environ.copy())
        if out.returncode:
            raise SystemExit(f"{engine} {size} failed:\n{out.stderr[-2000:]}")
        measured = json.loads(out.stdout.strip().splitlines()[-1])
        results[f"{engine}/{size}"] = {"engine": engine, "size": size, "base_points": len(base),
                                       "build": built, **measured, "cpu": cpu_model(), "uptime": uptime()}
        print(json.dumps(results[f"{engine}/{size}"]), flush=True)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1))
    TABLE.write_text(table(results) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
