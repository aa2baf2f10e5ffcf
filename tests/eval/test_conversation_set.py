"""The conversation set is well formed and its gold ids are the ids the indexer gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.conversations import DEFAULT_SET, load_threads
from indexer.articles import Article
from indexer.readers import discover, read_sources
from tests.conftest import SAMPLES


def test_threads_have_two_or_three_turns_each_with_gold() -> None:
    threads = load_threads(DEFAULT_SET)
    assert len(threads) >= 24 and len({t.id for t in threads}) == len(threads)
    corpora = [t.corpus for t in threads]
    assert set(corpora) == {"samples", "news-rtqa-2023"}
    assert min(corpora.count("samples"), corpora.count("news-rtqa-2023")) >= 12
    for t in threads:
        assert 2 <= len(t.turns) <= 3, t.id
        assert all(turn.text.strip() and turn.gold for turn in t.turns), t.id


def test_sample_gold_ids_are_indexer_doc_ids() -> None:
    files, _ = discover([SAMPLES])
    ids = {a.doc_id for a in read_sources(files) if isinstance(a, Article)}
    gold = {d for t in load_threads(DEFAULT_SET) if t.corpus == "samples" for turn in t.turns for d in turn.gold}
    assert gold and gold <= ids, gold - ids


@pytest.mark.shared
def test_news_gold_ids_are_corpus_ids(shared_data: Path) -> None:
    with (shared_data / "news-rtqa-2023" / "corpus.jsonl").open(encoding="utf-8") as f:
        ids = {json.loads(line)["_id"] for line in f if line.strip()}
    threads = [t for t in load_threads(DEFAULT_SET) if t.corpus == "news-rtqa-2023"]
    gold = {d for t in threads for turn in t.turns for d in turn.gold}
    assert gold and gold <= ids, gold - ids
