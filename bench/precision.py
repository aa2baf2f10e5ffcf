"""Embedding precision: what int8 (and bf16 where the CPU has it) costs and gains against f32 and PyTorch.

One interleaved run (round by round, so a busy machine slows every variant alike), the f32 export in the same run:

- raw encode, chunks/s: PyTorch, OpenVINO f32, OpenVINO int8 (and bf16 on CPUs that compute it) on the same chunks
  (news-rtqa chunks where ``../shared/data`` is present, else the samples');
- one query of 24 tokens, ms (``Embedder.encode_query``, the path a search takes);
- cosine of each precision's vectors to f32 on up to ``--cosine-chunks`` chunks: the samples', the fixtures' and,
  where present, news-rtqa's (for measuring only: the int8 model is calibrated on samples and fixtures alone);
- with ``--eval`` and ``../shared/data``: retrieval quality per precision through the eval harness
  (``python -m eval run --dataset ../shared/data/rtqa-evidence-2023 --limit 100 --distractors 150 --config
  default``, with ``NEWSDESK_EMBED_PRECISION`` set; eval caches an index per precision in ``.eval-cache``).

    python bench/precision.py --rounds 3 --eval

Prints a markdown table and writes ``bench/results/precision.json`` with the CPU model and flags (``lscpu``), the
load average before and after and each embedder's ``runtime_info()`` (the precision actually run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.machine import machine_info, one_line  # noqa: E402
from indexer.articles import Article, InputError, article_from_record  # noqa: E402
from indexer.chunking import build_chunker  # noqa: E402
from indexer.embedding import Embedder  # noqa: E402
from indexer.precision import cpu_kind  # noqa: E402
from indexer.readers import discover, read_sources  # noqa: E402
from indexer.settings import IndexerSettings  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
OUT = REPO / "bench" / "results" / "precision.json"
QUERY = ("Which teams did the NFL send to the Super Bowl in Phoenix, and who performed at the halftime show this "
         "year after the storm")


def lscpu() -> dict[str, Any]:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):  # pragma: no cover
        return {}
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    flags = set(fields.get("Flags", "").split())
    return {"model_name": fields.get("Model name", "").strip(),
            "avx2": "avx2" in flags, "avx512_bf16": "avx512_bf16" in flags,
            "amx": sorted(f for f in flags if f.startswith("amx")), "vnni": sorted(f for f in flags if "vnni" in f)}


def project_chunks(settings: IndexerSettings) -> list[str]:
    chunker = build_chunker(settings)
    files, _ = discover([REPO / "samples", REPO / "tests" / "fixtures"])
    out: list[str] = []
    for art in read_sources(files):
        if isinstance(art, Article):
            prefix = f"{art.title}\n" if art.title else ""
            out += [prefix + c.text for c in chunker.chunk(art.text, prefix)]
    return out


def news_chunks(settings: IndexerSettings, limit: int) -> list[str]:
    corpus = SHARED / "news-rtqa-2023" / "corpus.jsonl"
    if not corpus.is_file() or limit <= 0:
        return []
    chunker = build_chunker(settings)
    out: list[str] = []
    with corpus.open(encoding="utf-8") as f:
        for line in f:
            try:
                art = article_from_record(json.loads(line))
            except InputError:
                continue
            out += [f"{art.title}\n{c.text}" for c in chunker.chunk(art.text, f"{art.title}\n")]
            if len(out) >= limit:
                break
    return out[:limit]


def query_of(embedder: Embedder, tokens: int) -> str:
    """QUERY cut to ``tokens`` wordpieces of the model's tokenizer (special tokens included)."""
    tok = embedder.model.tokenizer
    ids = tok(QUERY, add_special_tokens=False)["input_ids"][: tokens - 2]
    return str(tok.decode(ids))


def cosine_stats(mine: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    c = np.sum(mine * ref, axis=1)
    return {"min": round(float(c.min()), 4), "p1": round(float(np.percentile(c, 1)), 4),
            "mean": round(float(c.mean()), 4), "n": len(c)}


def run_eval(precision: str, limit: int, distractors: int) -> dict[str, Any]:
    dataset = SHARED / "rtqa-evidence-2023"
    with tempfile.TemporaryDirectory(prefix="precision-eval-") as out:
        env = {**os.environ, "NEWSDESK_EMBED_PRECISION": precision,
               "NEWSDESK_MODEL_CACHE_DIR": str(REPO / "data" / "models")}
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "eval", "run", "--dataset", str(dataset), "--limit", str(limit),
                               "--distractors", str(distractors), "--config", "default", "--no-baselines",
                               "--out", out], cwd=REPO, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            return {"error": done.stderr[-2000:]}
        result = json.loads(next(Path(out).glob("*.json")).read_text())
    row = result["rows"][0]
    return {"metrics": {k: round(v, 4) for k, v in row["metrics"].items() if isinstance(v, float)},
            "seconds": round(time.perf_counter() - t0, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--chunks", type=int, default=128, help="chunks per timed encode")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--queries", type=int, default=30, help="timed query encodes per round and variant")
    ap.add_argument("--cosine-chunks", type=int, default=1000)
    ap.add_argument("--eval", action="store_true", help="also the eval harness per precision (needs ../shared/data)")
    ap.add_argument("--eval-limit", type=int, default=100)
    ap.add_argument("--eval-distractors", type=int, default=150)
    args = ap.parse_args()
    machine_before = machine_info()
    base = IndexerSettings(_env_file=None, model_cache_dir=REPO / "data" / "models")  # type: ignore[call-arg]
    precisions = ["f32", "int8"] + (["bf16"] if cpu_kind() == "bf16" else [])
    variants: dict[str, Embedder] = {"torch": Embedder(base.model_copy(update={"embed_backend": "torch"}))}
    for p in precisions:
        variants[f"openvino-{p}"] = Embedder(base.model_copy(update={"embed_precision": p}))
    own = project_chunks(base)
    news = news_chunks(base, max(0, args.cosine_chunks - len(own)))
    timed = (news or own * (1 + args.chunks // max(1, len(own))))[: args.chunks]
    query = query_of(variants["openvino-f32"], 24)
    tokens = len(variants["openvino-f32"].model.tokenizer(query)["input_ids"])

    chunks_s: dict[str, list[float]] = {n: [] for n in variants}
    query_ms: dict[str, list[float]] = {n: [] for n in variants}
    for _ in range(args.rounds):
        for name, emb in variants.items():
            emb.encode(timed[:8])  # warm-up
            t0 = time.perf_counter()
            emb.encode(timed)
            chunks_s[name].append(len(timed) / (time.perf_counter() - t0))
            emb.encode_query(query)
            for _ in range(args.queries):
                t0 = time.perf_counter()
                emb.encode_query(query)
                query_ms[name].append((time.perf_counter() - t0) * 1000)

    cos_texts = (own + news)[: args.cosine_chunks]
    ref = variants["openvino-f32"].encode(cos_texts)
    cos = {name: cosine_stats(emb.encode(cos_texts), ref) for name, emb in variants.items()
           if name not in ("torch", "openvino-f32")}  # torch vs OpenVINO f32: tests/indexer/test_backends.py
    quality: dict[str, Any] = {}
    if args.eval and (SHARED / "rtqa-evidence-2023").is_dir():
        for p in precisions:
            quality[p] = run_eval(p, args.eval_limit, args.eval_distractors)
    machine_after = machine_info()

    torch_rate = max(chunks_s["torch"])
    f32_ms = statistics.median(query_ms["openvino-f32"])
    rows = []
    for name in variants:
        p = name.removeprefix("openvino-") if name != "torch" else "f32"
        q = quality.get(p, {}).get("metrics", {}) if name != "torch" else {}
        f32q = quality.get("f32", {}).get("metrics", {})
        rows.append({
            "variant": name, "precision_run": variants[name].precision,
            "chunks_per_s": round(max(chunks_s[name]), 1),
            "x_torch": round(max(chunks_s[name]) / torch_rate, 2),
            "query_ms_p50": round(statistics.median(query_ms[name]), 2),
            "x_f32_query": round(f32_ms / statistics.median(query_ms[name]), 2),
            "cosine_to_f32": cos.get(name),
            "ndcg@10": q.get("ndcg@10"),
            "ndcg@10_delta": round(q["ndcg@10"] - f32q["ndcg@10"], 4) if "ndcg@10" in q and "ndcg@10" in f32q else None,
        })
    cpu = lscpu()
    print(f"{cpu.get('model_name')}; avx2={cpu.get('avx2')} avx512_bf16={cpu.get('avx512_bf16')} "
          f"amx={cpu.get('amx')} vnni={cpu.get('vnni')}; {one_line(machine_before)}")
    print(f"{len(timed)} chunks ({'news-rtqa' if news else 'samples'}) x {args.rounds} rounds, best round; query "
          f"{tokens} tokens, p50 of {args.queries * args.rounds}; cosine on {len(cos_texts)} chunks "
          f"({len(own)} samples+fixtures, {len(cos_texts) - len(own)} news-rtqa)")
    print("| variant | runs | chunks/s | x torch | query ms p50 | cosine to f32 min / p1 / mean | nDCG@10 (delta) |")
    print("|---|---|---:|---:|---:|---|---|")
    for r in rows:
        c = r["cosine_to_f32"]
        cs = f"{c['min']:.4f} / {c['p1']:.4f} / {c['mean']:.4f}" if c else "-"
        nd = f"{r['ndcg@10']:.3f} ({r['ndcg@10_delta']:+.3f})" if r["ndcg@10"] is not None else "-"
        print(f"| {r['variant']} | {r['precision_run']} | {r['chunks_per_s']} | {r['x_torch']} | {r['query_ms_p50']} "
              f"| {cs} | {nd} |")
    load = (machine_before["load_avg"][0], machine_after["load_avg"][0])
    print(f"load average (1 min) before {load[0]:.2f}, after {load[1]:.2f}; {machine_before['usable_cpus']} CPUs")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "lscpu": cpu, "machine_before": machine_before, "machine_after": machine_after, "rows": rows,
        "quality": quality, "timed_chunks": len(timed), "timed_source": "news-rtqa" if news else "samples",
        "query_tokens": tokens, "rounds": args.rounds, "chunks_per_s_rounds": chunks_s,
        "runtime": {n: e.runtime_info() for n, e in variants.items()},
    }, indent=1))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
