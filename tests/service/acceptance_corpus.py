"""The acceptance corpus for "What did Russia promise Mali?": reusable by the function-level and HTTP tests.

The seed article (Reuters, Lavrov in Mali) plus its hard distractors, every news-rtqa-2023 article that
mentions Mali, Wagner or Lavrov, plus ``RANDOM_OTHERS`` other news-rtqa-2023 articles drawn with a fixed seed.
The articles are written to a JSONL file in a temp folder (never into the project) and indexed by the real
Indexer.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from indexer.embedding import Embedder
from indexer.pipeline import Indexer
from service.settings import ServiceSettings

RANDOM_OTHERS = 40
RANDOM_SEED = 20230207
DISTRACTOR = re.compile(r"\b(Mali|Malian|Wagner|Lavrov)\b")
QUESTION = "What did Russia promise Mali?"


@dataclass(frozen=True)
class AcceptanceCorpus:
    paths: list[Path]
    """What to ingest: the seed file and the JSONL of news-rtqa articles."""
    seed_doc_id: str
    distractor_ids: list[str]
    other_ids: list[str]


def build_acceptance_corpus(shared_data: Path, workdir: Path) -> AcceptanceCorpus:
    seed = sorted((shared_data / "seed").glob("*.txt"))[0]
    with (shared_data / "news-rtqa-2023" / "corpus.jsonl").open(encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    distractors = [r for r in records if DISTRACTOR.search(f"{r.get('title', '')}\n{r['text']}")]
    rest = [r for r in records if not DISTRACTOR.search(f"{r.get('title', '')}\n{r['text']}")]
    others = random.Random(RANDOM_SEED).sample(rest, RANDOM_OTHERS)
    workdir.mkdir(parents=True, exist_ok=True)
    jsonl = workdir / "news-rtqa-subset.jsonl"
    with jsonl.open("w", encoding="utf-8") as out:
        for r in distractors + others:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
    return AcceptanceCorpus(
        paths=[seed, jsonl],
        seed_doc_id=seed.name,
        distractor_ids=[r["_id"] for r in distractors],
        other_ids=[r["_id"] for r in others],
    )


def index_acceptance_corpus(settings: ServiceSettings, embedder: Embedder, shared_data: Path, workdir: Path) -> tuple[
    Indexer, AcceptanceCorpus
]:
    """Build and index the corpus into ``settings``' store; the caller closes the returned Indexer."""
    corpus = build_acceptance_corpus(shared_data, workdir)
    indexer = Indexer(settings, embedder=embedder)
    report = indexer.ingest_paths(corpus.paths)
    indexed = {r.doc_id for r in report.results if r.status in ("indexed", "replaced", "unchanged")}
    # a random article may be all boilerplate (skipped by the reader); the seed and distractors may not
    missing = [d for d in [corpus.seed_doc_id, *corpus.distractor_ids] if d not in indexed]
    if missing:
        raise RuntimeError(f"acceptance corpus: not indexed: {missing}")
    return indexer, corpus
