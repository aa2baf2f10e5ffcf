"""BEIR-layout evaluation sets: ``corpus.jsonl``, ``queries.jsonl``, ``qrels/test.tsv``.

A set is read as plain records (the indexer's ``article_from_record`` accepts BEIR records as they are). A quick
subset (``--limit N``) keeps the first N judged queries and indexes only what they need: their gold documents
plus a fixed-seed sample of distractors, so a CI run is small but still has something to get wrong.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DISTRACTOR_SEED = 1234


@dataclass
class Query:
    qid: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def answers(self) -> list[str]:
        """Gold answer strings (``metadata.answers``; MultiHop-RAG's yes/no ``answer`` is not one)."""
        return [str(a) for a in self.metadata.get("answers") or [] if str(a).strip()]

    @property
    def facts(self) -> list[str]:
        return [str(f) for f in self.metadata.get("facts") or [] if str(f).strip()]


@dataclass
class Dataset:
    name: str
    corpus: list[dict[str, Any]]
    queries: list[Query]
    qrels: dict[str, dict[str, int]]

    @property
    def judged(self) -> list[Query]:
        """Queries with at least one relevant document: the ones every metric is computed over."""
        return [q for q in self.queries if any(s > 0 for s in self.qrels.get(q.qid, {}).values())]

    def corpus_hash(self) -> str:
        h = hashlib.sha256()
        for rec in self.corpus:
            h.update(json.dumps(rec, sort_keys=True, ensure_ascii=False).encode("utf-8"))
            h.update(b"\n")
        return h.hexdigest()[:16]

    def subset(self, limit: int | None, distractors: int = 150) -> Dataset:
        """First ``limit`` judged queries, their gold documents and ``distractors`` random other documents."""
        if not limit:
            return self
        queries = self.judged[:limit]
        qids = {q.qid for q in queries}
        qrels = {q: d for q, d in self.qrels.items() if q in qids}
        gold = {d for docs in qrels.values() for d, s in docs.items() if s > 0}
        others = sorted(str(r["_id"]) for r in self.corpus if str(r["_id"]) not in gold)
        keep = gold | set(random.Random(DISTRACTOR_SEED).sample(others, min(distractors, len(others))))
        corpus = [r for r in self.corpus if str(r["_id"]) in keep]
        return Dataset(f"{self.name}[:{limit}]", corpus, queries, qrels)


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    return qrels


def load_dataset(directory: Path) -> Dataset:
    directory = Path(directory)
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"{directory} is not a BEIR-layout set: {name} is missing")
    corpus = _jsonl(directory / "corpus.jsonl")
    queries = [Query(str(r["_id"]), str(r["text"]), r.get("metadata") or {}) for r in _jsonl(directory / "queries.jsonl")]
    return Dataset(directory.name, corpus, queries, load_qrels(directory / "qrels" / "test.tsv"))
