"""Chunking with the real cl100k tokenizer: limits, sentence ends, overlap, exact character spans."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

from indexer.articles import Article, InputError, article_from_record
from indexer.chunking import Chunk, Chunker, get_encoding
from indexer.readers import discover, read_sources
from indexer.sentences import split_sentences
from tests.conftest import SAMPLES
from tests.indexer.helpers import write_articles

ENC = get_encoding("cl100k_base")


def real_tokens(text: str) -> int:
    return len(ENC.encode_ordinary(text))


def check_chunks(text: str, chunks: list[Chunk], max_tokens: int, overlap: int) -> None:
    """Every invariant the rest of the system relies on; fails with the offending chunk."""
    assert chunks, "no chunks for a non-empty text"
    sentences = split_sentences(text)
    starts = {s.start for s in sentences}
    ends = {s.end for s in sentences}
    long_sentences = [s for s in sentences if real_tokens(text[s.start : s.end]) > max_tokens]
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert c.text == text[c.char_start : c.char_end]
        assert c.tokens == real_tokens(c.text) <= max_tokens, c
        inside_long = any(s.start <= c.char_start < s.end or s.start < c.char_end <= s.end for s in long_sentences)
        if not inside_long:  # only a sentence over the limit on its own may be cut
            assert c.char_start in starts, c
            assert c.char_end in ends, c
    for a, b in pairwise(chunks):
        assert a.char_start < b.char_start and a.char_end < b.char_end  # always advancing
        if b.char_start < a.char_end:
            shared = text[b.char_start : a.char_end]
            shared_sentences = [s for s in sentences if b.char_start <= s.start and s.end <= a.char_end]
            assert sum(real_tokens(text[s.start : s.end]) for s in shared_sentences) <= overlap, shared
        else:
            assert b.char_start >= a.char_end
    # nothing is lost: every sentence lies inside some chunk (long ones across consecutive chunks)
    covered = sorted((c.char_start, c.char_end) for c in chunks)
    reach = covered[0][0]
    assert reach == sentences[0].start
    for start, end in covered:
        assert start <= reach or text[reach:start].strip() == "", (reach, start)
        reach = max(reach, end)
    assert reach == sentences[-1].end


def short_sentence_text(sentences: int) -> str:
    return " ".join(f"Sentence number {i} reports {i * 3} new cases in ward {i % 7}." for i in range(sentences))


@pytest.mark.parametrize(("max_tokens", "overlap"), [(256, 32), (64, 16), (40, 0)])
def test_invariants_on_generated_and_sample_articles(tmp_path: Path, max_tokens: int, overlap: int) -> None:
    write_articles(tmp_path / "gen", 4, paragraphs=12)
    files, _ = discover([SAMPLES, tmp_path / "gen"])
    chunker = Chunker(max_tokens, overlap)
    multi = 0
    for article in read_sources(files):
        assert isinstance(article, Article)
        chunks = chunker.chunk(article.text)
        check_chunks(article.text, chunks, max_tokens, overlap)
        multi += len(chunks) > 1
    assert multi >= 4


def test_overlap_is_present_and_within_budget_when_sentences_are_short() -> None:
    text = short_sentence_text(120)
    chunker = Chunker(64, 16)
    chunks = chunker.chunk(text)
    assert len(chunks) > 5
    check_chunks(text, chunks, 64, 16)
    for a, b in pairwise(chunks):
        assert b.char_start < a.char_end, (a, b)  # each sentence here is ~13 tokens: one fits the budget
        assert real_tokens(text[b.char_start : a.char_end]) <= 16


def test_no_overlap_when_the_budget_is_zero() -> None:
    text = short_sentence_text(60)
    chunks = Chunker(48, 0).chunk(text)
    check_chunks(text, chunks, 48, 0)
    assert all(b.char_start > a.char_end for a, b in pairwise(chunks))


def test_sentence_over_the_limit_is_cut_at_token_boundaries_and_nothing_else_is() -> None:
    run_on = " ".join(f"word{i} and" for i in range(400))  # one ~1200-token sentence, no full stop
    text = f"The report opens calmly. {run_on} it ends here.\n\nA closing sentence follows. And one more."
    chunks = Chunker(256, 32).chunk(text)
    check_chunks(text, chunks, 256, 32)
    assert len(chunks) >= 5
    assert chunks[-1].text.endswith("And one more.")
    assert any(c.tokens == 256 for c in chunks)  # the long sentence is cut into full-size pieces


def test_paragraph_break_always_ends_a_sentence() -> None:
    text = "Heading without a full stop\n\nThe body starts here. It has two sentences"
    spans = split_sentences(text)
    assert [text[s.start : s.end] for s in spans] == [
        "Heading without a full stop", "The body starts here.", "It has two sentences",
    ]


@pytest.mark.shared
def test_invariants_on_the_longest_real_articles(shared_data: Path) -> None:
    records = []
    with (shared_data / "news-rtqa-2023" / "corpus.jsonl").open(encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    records.sort(key=lambda r: len(r["text"]), reverse=True)
    chunker = Chunker(256, 32)
    checked = 0
    for record in records[:6] + records[400:406]:
        try:
            article = article_from_record(record)
        except InputError:
            continue
        check_chunks(article.text, chunker.chunk(article.text), 256, 32)
        checked += 1
    assert checked >= 10
