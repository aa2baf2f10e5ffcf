"""Milliseconds per question to compose, this extractive composer against another version of it, interleaved.

    git show eebe2a7:service/answering/extractive.py > /tmp/extractive_before.py
    .venv/bin/python bench/compose_cost.py --dataset ../shared/data/news-rtqa-2023 --other /tmp/extractive_before.py

Both compose the same retrieved hits (the cached eval index of ``python -m eval run --dataset SET --config
default``, ``top_k`` 8) with the same uncached embedder, question by question and in alternating order, so a
loaded machine slows both alike. ``--other`` is a copy of ``service/answering/extractive.py`` from another
commit, loaded as a separate module. Reported: p50, p90 and mean compose ms of each (the pipeline's ``compose``
stage without the verifier), and the share spent embedding.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.configs import resolve
from eval.datasets import load_dataset
from eval.index import DEFAULT_CACHE, CachingEmbedder, index_key
from indexer.collection import open_store
from indexer.embedding import Embedder
from service.answering import extractive
from service.retrieval import Retriever
from service.settings import ServiceSettings


class _Timed:
    """The embedder, counting the time spent in it."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.seconds = 0.0

    def encode_query(self, text: str) -> Any:
        return self.embedder.encode_query(text)

    def encode(self, texts: list[str], batch_size: int | None = None) -> Any:
        t = time.perf_counter()
        try:
            return self.embedder.encode(texts)
        finally:
            self.seconds += time.perf_counter() - t


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location("extractive_other", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", type=Path, required=True)
    ap.add_argument("--other", type=Path, required=True, help="another version of service/answering/extractive.py")
    ap.add_argument("--limit", type=int, default=None, help="first N questions only")
    args = ap.parse_args()

    dataset = load_dataset(args.dataset)
    settings = resolve(["default"])[0].settings(ServiceSettings.from_env())
    path = next((DEFAULT_CACHE / "indexes").glob(f"*-{index_key(dataset, settings)}"), None)
    if path is None:
        raise SystemExit(f"no cached index for {dataset.name}: run `python -m eval run` on it first")
    local = settings.model_copy(update={"qdrant_path": path / "qdrant", "qdrant_url": None, "collection": "eval"})
    store = open_store(local)
    cached = CachingEmbedder(settings, DEFAULT_CACHE)
    retriever = Retriever(local, store, cached)
    plain = Embedder(settings)
    composers = {"this": extractive.ExtractiveComposer(_Timed(plain)),  # type: ignore[arg-type]
                 "other": _load(args.other).ExtractiveComposer(_Timed(plain))}
    ms: dict[str, list[float]] = {name: [] for name in composers}
    questions = dataset.queries[: args.limit] if args.limit else dataset.queries
    composers["this"].compose("warm up", retriever.search("warm up", limit=8).hits)
    for i, q in enumerate(questions):
        result = retriever.search(q.text, limit=8)
        for name in (("this", "other") if i % 2 == 0 else ("other", "this")):
            t = time.perf_counter()
            composers[name].compose(q.text, result.hits, result.query_vector)
            ms[name].append((time.perf_counter() - t) * 1000)
    store.close()
    print(f"{dataset.name}: {len(questions)} questions, compose ms (uncached embedder, interleaved)")
    print("| composer | p50 | p90 | mean | embedding share |")
    print("|---|---:|---:|---:|---:|")
    for name, values in ms.items():
        embed = composers[name].encoder.seconds * 1000 / max(sum(values), 1e-9)
        print(f"| {name} ({'this checkout' if name == 'this' else args.other}) | {statistics.median(values):.1f} | "
              f"{sorted(values)[int(len(values) * 0.9)]:.1f} | {statistics.mean(values):.1f} | {embed:.0%} |")


if __name__ == "__main__":
    main()
