"""The embedded (local-mode) Qdrant store at 10k / 100k / 300k chunks: startup, RAM and search latency.

What a user of the default setup (no Qdrant server, ``NEWSDESK_QDRANT_PATH``) gets as the collection grows.

Data: the real articles of ../shared/data/news-rtqa-2023 (983 articles, ~9.5k chunks), ingested once with the
real ``Indexer`` (real chunking, payloads and BM25 vectors); bigger stores repeat those points under distinct
article ids (``<id>~<k>``), written straight into the local-mode SQLite file in qdrant-client's own format
(its ``upsert`` costs ~5 ms a point here). Only the dense vectors are synthetic, because embedding 300k chunks
would take hours here: each chunk maps (by a hash of its text and copy number) to one of the real
all-MiniLM-L6-v2 chunk vectors of the eval cache plus Gaussian noise (sigma 0.03, renormalised; see
bench/scale_server.py). Exact in-memory search costs the same whatever the values, so the latencies are those
of real vectors. Queries are real questions (``queries.jsonl``) sent to a real ``python -m service`` process
with the real embedding model. Stores are cached in data/bench/scale/embedded-<n>/.

Per size:

* ``open_s``: ``Store.open`` in this process (local mode loads every point from its SQLite file);
* ``ready_s``: ``python -m service`` started until ``/ready`` answers (store open + model load);
* ``first_search_s``: the first ``POST /v1/search`` after ready (builds the in-memory index, see
  ``service.retrieval.memory_index``), i.e. startup = ready_s + first_search_s;
* ``rss_mb``: the service's resident memory after the searches;
* search p50/p99 over HTTP (``/v1/search``, hybrid, embed included), and the lookup alone
  (``timings_ms.retrieve`` as the service reports it: in-memory dense + BM25 + payload read).

    nice -n 10 .venv/bin/python bench/scale_embedded.py --sizes 10000 100000 300000
"""

from __future__ import annotations

import argparse
import json
import pickle
import shutil
import sqlite3
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from qdrant_client import models  # noqa: E402
from qdrant_client._pydantic_compat import construct  # noqa: E402
from qdrant_client.local.persistence import CollectionPersistence  # noqa: E402
from scale_server import base_vectors, percentiles, query_vectors, uptime  # noqa: E402

from indexer import payload as pl  # noqa: E402
from indexer.articles import InputError, article_from_record  # noqa: E402
from indexer.collection import Store  # noqa: E402
from indexer.pipeline import Indexer  # noqa: E402
from service.settings import ServiceSettings  # noqa: E402
from tests.service.helpers import free_port, service_env, start_service_process, wait_ready  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "news-rtqa-2023"
CACHE = REPO / "data" / "bench" / "scale"
RESULTS = REPO / "bench" / "results" / "scale_embedded.json"


class SynthEmbedder:
    """Stands in for ``Embedder`` at ingest: a real chunk vector (picked by the text's hash) plus noise."""

    dim = 384
    name = "synthetic (real vectors + noise)"

    def __init__(self, base: np.ndarray, sigma: float) -> None:
        self.base, self.sigma = base, sigma

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            h = zlib.crc32(text.encode())
            v = self.base[h % len(self.base)] + np.random.default_rng(h).normal(0, self.sigma, self.dim)
            out[i] = v / np.linalg.norm(v)
        return out


def settings_for(size: int | str) -> ServiceSettings:
    return ServiceSettings(_env_file=None, qdrant_path=CACHE / f"embedded-{size}" / "qdrant", qdrant_url=None,
                           collection="scale", model_cache_dir=REPO / "data" / "models")  # type: ignore[call-arg]


def build_seed(embedder: SynthEmbedder) -> Path:
    """Every article of the corpus once, through the real ``Indexer`` (chunks, payloads, BM25 vectors)."""
    folder = CACHE / "embedded-seed"
    if (folder / "built.json").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    records = []
    for line in (DATA / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            records.append(article_from_record(json.loads(line), "bench"))
        except InputError:
            continue
    indexer = Indexer(settings_for("seed"), embedder=embedder)  # type: ignore[arg-type]
    report = indexer.ingest(records)
    chunks = indexer.stats()["chunks"]
    indexer.close()
    (folder / "built.json").write_text(json.dumps({"articles": len(records), "chunks": chunks,
                                                   "build_s": round(report.seconds, 1)}))
    return folder


def build(size: int, seed: Path, embedder: SynthEmbedder) -> None:
    """A store of ``size`` chunks: the seed's points, then copies of its articles (``<id>~<k>``, their own
    point ids and noisy dense vectors) written straight into the local-mode SQLite file in the client's own
    format (``CollectionPersistence``); going through ``upsert`` costs ~5 ms a point here (hours at 300k)."""
    folder = CACHE / f"embedded-{size}"
    if (folder / "built.json").exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(seed, folder, ignore=shutil.ignore_patterns("built.json", "service.log", ".lock"))
    t0 = time.perf_counter()
    sqlite_path = folder / "qdrant" / "collection" / "scale" / "storage.sqlite"
    con = sqlite3.connect(sqlite_path)
    by_doc: dict[str, list[Any]] = {}
    for (blob,) in con.execute("SELECT point FROM points ORDER BY rowid"):
        point = pickle.loads(blob)
        by_doc.setdefault(point.payload[pl.DOC_ID], []).append(point)
    docs = list(by_doc.values())
    total, copy, articles = sum(len(d) for d in docs), 1, len(docs)
    while total < size:
        rows = []
        for points in docs:
            if total >= size:
                break
            for p in points:
                doc_id = f"{p.payload[pl.DOC_ID]}~{copy}"
                index = p.payload[pl.CHUNK_INDEX]
                pid = pl.point_id(doc_id, index)
                payload = dict(p.payload)
                payload[pl.DOC_ID], payload[pl.CHUNK_ID] = doc_id, pl.chunk_id(doc_id, index)
                vector = dict(p.vector)
                vector[pl.DENSE] = embedder.encode([f"{copy}|{payload[pl.TEXT]}"])[0].tolist()
                new = construct(models.PointStruct, id=pid, vector=vector, payload=payload)
                rows.append((CollectionPersistence.encode_key(pid), sqlite3.Binary(pickle.dumps(new))))
            total += len(points)
            articles += 1
        with con:
            con.executemany("INSERT OR REPLACE INTO points VALUES (?, ?)", rows)
        print(f"  building {size}: {total} chunks", file=sys.stderr, flush=True)
        copy += 1
    con.close()
    (folder / "built.json").write_text(json.dumps({"articles": articles, "chunks": total,
                                                   "build_s": round(time.perf_counter() - t0, 1)}))


def measure(size: int, questions: list[str], requests: int) -> dict[str, Any]:
    settings = settings_for(size)
    built = json.loads((CACHE / f"embedded-{size}" / "built.json").read_text())
    t0 = time.perf_counter()
    store = Store.open(settings)
    open_s = time.perf_counter() - t0
    store.close()
    disk_mb = sum(f.stat().st_size for f in settings.qdrant_path.rglob("*") if f.is_file()) / 2**20

    port = free_port()
    env = service_env(settings, NEWSDESK_PORT=str(port), NEWSDESK_LOG_LEVEL="WARNING")
    t0 = time.perf_counter()
    proc = start_service_process(env, CACHE / f"embedded-{size}" / "service.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, timeout=1800)
        ready_s = time.perf_counter() - t0
        rss_ready = psutil.Process(proc.pid).memory_info().rss / 2**20
        with httpx.Client(base_url=url, timeout=600) as c:
            t1 = time.perf_counter()
            r = c.post("/v1/search", json={"query": questions[0]})
            r.raise_for_status()
            first_s = time.perf_counter() - t1
            for q in questions[1:6]:
                c.post("/v1/search", json={"query": q}).raise_for_status()
            http, retrieve, embed = [], [], []
            for i in range(requests):
                t2 = time.perf_counter()
                r = c.post("/v1/search", json={"query": questions[(i + 6) % len(questions)]})
                http.append((time.perf_counter() - t2) * 1000)
                r.raise_for_status()
                timings = r.json()["timings_ms"]
                retrieve.append(timings["retrieve"])
                embed.append(timings.get("embed", 0.0))
        rss = psutil.Process(proc.pid).memory_info().rss / 2**20
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return {"size": size, "chunks": built["chunks"], "articles": built["articles"], "build_s": built["build_s"],
            "disk_mb": round(disk_mb, 1), "open_s": round(open_s, 2), "ready_s": round(ready_s, 2),
            "first_search_s": round(first_s, 2), "rss_mb_ready": round(rss_ready), "rss_mb": round(rss),
            "http_ms": percentiles(http), "retrieve_ms": percentiles(retrieve), "embed_ms": percentiles(embed),
            "uptime": uptime()}


def measure_in_process(size: int, questions: list[str], requests: int, embedder: Any) -> dict[str, Any]:
    """The same store through the service's own objects in this process (no HTTP, model already loaded):
    ``Store.open``, ``Retriever.for_store`` (the in-memory index, built by the first search), lookups."""
    from service.retrieval import Retriever

    settings = settings_for(size)
    built = json.loads((CACHE / f"embedded-{size}" / "built.json").read_text())
    disk_mb = sum(f.stat().st_size for f in settings.qdrant_path.rglob("*") if f.is_file()) / 2**20
    me = psutil.Process()
    rss0 = me.memory_info().rss / 2**20
    t0 = time.perf_counter()
    store = Store.open(settings)
    open_s = time.perf_counter() - t0
    rss_open = me.memory_info().rss / 2**20
    try:
        retriever = Retriever.for_store(settings, store, embedder)
        t1 = time.perf_counter()
        retriever.search(questions[0])
        first_s = time.perf_counter() - t1
        retrieve, embed = [], []
        for i in range(requests):
            timings = retriever.search(questions[(i + 1) % len(questions)]).timings_ms
            retrieve.append(timings["retrieve"])
            embed.append(timings.get("embed", 0.0))
        rss = me.memory_info().rss / 2**20
    finally:
        store.close()
    return {"size": size, "mode": "in-process", "chunks": built["chunks"], "articles": built["articles"],
            "build_s": built["build_s"], "disk_mb": round(disk_mb, 1), "open_s": round(open_s, 2),
            "first_search_s": round(first_s, 2), "rss_mb_store_open": round(rss_open - rss0),
            "rss_mb_store_and_index": round(rss - rss0), "retrieve_ms": percentiles(retrieve),
            "embed_ms": percentiles(embed), "uptime": uptime()}


def table(results: dict[str, Any]) -> str:
    rows = ["| chunks | disk MB | Store.open s | service ready s | first search s | RSS MB | /v1/search p50 / p99 ms "
            "| lookup p50 / p99 ms | load avg |", "|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in sorted(results.values(), key=lambda r: r["size"]):
        if r.get("mode") == "in-process":
            continue
        load = r["uptime"].split("load average:")[-1].strip()
        rows.append(f"| {r['chunks']:,} | {r['disk_mb']} | {r['open_s']} | {r['ready_s']} | {r['first_search_s']} | "
                    f"{r['rss_mb']} | {r['http_ms']['p50']} / {r['http_ms']['p99']} | "
                    f"{r['retrieve_ms']['p50']} / {r['retrieve_ms']['p99']} | {load} |")
    rows += ["", "In process (service objects, model loaded before; RSS = growth of this process):", "",
             "| chunks | disk MB | Store.open s | first search s (builds the in-memory index) | RSS MB after open "
             "| RSS MB open + index | lookup p50 / p99 ms | embed p50 ms | load avg |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in sorted(results.values(), key=lambda r: r["size"]):
        if r.get("mode") != "in-process":
            continue
        load = r["uptime"].split("load average:")[-1].strip()
        rows.append(f"| {r['chunks']:,} | {r['disk_mb']} | {r['open_s']} | {r['first_search_s']} | "
                    f"{r['rss_mb_store_open']} | {r['rss_mb_store_and_index']} | {r['retrieve_ms']['p50']} / "
                    f"{r['retrieve_ms']['p99']} | {r['embed_ms']['p50']} | {load} |")
    return "\n".join(rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 300_000])
    p.add_argument("--requests", type=int, default=100)
    p.add_argument("--sigma", type=float, default=0.03)
    p.add_argument("--base-cache", default=str(REPO / ".eval-cache" / "embeddings" / "*" / "*.npz"))
    p.add_argument("--in-process", action="store_true",
                   help="measure through the service's objects in this process instead of a service process")
    p.add_argument("--table", action="store_true", help="only print the recorded table")
    args = p.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if not args.table:
        if not DATA.is_dir():
            print(f"{DATA} is absent", file=sys.stderr)
            return 1
        sizes = sorted(args.sizes)
        base = base_vectors(args.base_cache, query_vectors())
        embedder = SynthEmbedder(base, args.sigma)
        seed = build_seed(embedder)
        for size in sizes:
            build(size, seed, embedder)
        questions = [json.loads(line)["text"] for line in (DATA / "queries.jsonl").open(encoding="utf-8")]
        model = None
        if args.in_process:
            from indexer.embedding import Embedder
            model = Embedder(settings_for(sizes[0]))
            model.encode_query("warm up")
        for size in sizes:
            if model is not None:
                r, key = measure_in_process(size, questions, args.requests, model), f"{size}/in-process"
            else:
                r, key = measure(size, questions, args.requests), str(size)
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}  # other sizes may run alongside
            results[key] = r
            RESULTS.write_text(json.dumps(results, indent=2))
            print(json.dumps(r), flush=True)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
