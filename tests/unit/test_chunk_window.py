"""Chunks within the embedding model's window (issue 12): what is embedded (title + chunk) fits the model's
max_seq_length in its own tokenizer, the cl100k limits still hold, and nothing is lost.

Uses the packaged all-MiniLM-L6-v2 tokenizer (a hard dependency): 256 positions, 254 for text.
"""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

from indexer.articles import Article, InputError, article_from_record
from indexer.chunking import (
    MIN_WINDOW_BUDGET,
    Chunker,
    TokenWindow,
    build_chunker,
    get_encoding,
    model_window,
)
from indexer.embedding import resolve_model_path
from indexer.readers import discover, read_sources
from indexer.settings import DEFAULT_EMBED_MODEL, IndexerSettings
from tests.conftest import SAMPLES

ENC = get_encoding("cl100k_base")


@pytest.fixture(scope="module")
def window() -> TokenWindow:
    w = model_window(resolve_model_path(DEFAULT_EMBED_MODEL))
    assert w is not None
    return w


def dense_text(sentences: int) -> str:
    """News English whose wordpieces outnumber its cl100k tokens (contractions, curly quotes, dashes)."""
    return " ".join(
        f"“It’s extraordinary,” official {i} said — “we’ve never seen anything like it, and they’re "
        f"saying it isn’t over.” The administration's officials haven't acknowledged what's happening."
        for i in range(sentences)
    )


def check(text: str, prefix: str, chunks: list, w: TokenWindow, max_tokens: int = 256) -> None:
    assert chunks
    for c in chunks:
        assert c.text == text[c.char_start : c.char_end]
        assert c.tokens == len(ENC.encode_ordinary(c.text)) <= max_tokens
        assert w.count(prefix + c.text) <= w.max_tokens, (w.count(prefix + c.text), c)
    for a, b in pairwise(chunks):
        assert a.char_start < b.char_start and a.char_end < b.char_end
        assert b.char_start <= a.char_end or text[a.char_end : b.char_start].strip() == ""  # nothing skipped
    assert text[: chunks[0].char_start].strip() == "" and text[chunks[-1].char_end :].strip() == ""


def test_the_packaged_model_window_is_read_from_its_files(window: TokenWindow) -> None:
    assert window.max_seq_length == 256
    assert window.specials == 2  # [CLS] and [SEP]
    assert window.max_tokens == 254


def test_without_the_window_dense_chunks_overflow_and_with_it_none_does(window: TokenWindow) -> None:
    text, prefix = dense_text(60), "Grid operator reports reactor trips across the south\n"
    plain = Chunker(256, 32).chunk(text)
    assert max(window.count(prefix + c.text) for c in plain) > window.max_tokens  # the test can fail
    fitted = Chunker(256, 32, window=window).chunk(text, prefix)
    check(text, prefix, fitted, window)
    assert len(fitted) > len(plain)
    # chunks still end at sentence ends (no sentence here is over either limit on its own)
    assert all(c.text.endswith((".", ".”")) for c in fitted)


def test_a_longer_title_leaves_less_room(window: TokenWindow) -> None:
    text = dense_text(60)
    short = Chunker(256, 32, window=window).chunk(text, "Reactors\n")
    long_prefix = "Reactor trips " * 20 + "\n"
    long = Chunker(256, 32, window=window).chunk(text, long_prefix)
    check(text, long_prefix, long, window)
    assert len(long) > len(short)


def test_an_absurd_title_still_leaves_the_minimum_budget(window: TokenWindow) -> None:
    text = dense_text(20)
    prefix = "headline " * 400 + "\n"
    chunks = Chunker(256, 32, window=window).chunk(text, prefix)
    assert chunks and all(window.count(c.text) <= MIN_WINDOW_BUDGET for c in chunks)


def test_a_run_on_sentence_is_cut_to_fit_the_window(window: TokenWindow) -> None:
    run_on = " ".join(f"Zaporizhzhia{i} KhNPP-{i}" for i in range(300))  # no full stop; ~8 wordpieces a pair
    text = f"It begins calmly. {run_on} and ends.\n\nA closing sentence follows."
    prefix = "Title\n"
    chunks = Chunker(256, 32, window=window).chunk(text, prefix)
    check(text, prefix, chunks, window)
    assert chunks[-1].text.endswith("A closing sentence follows.")
    assert max(window.count(prefix + c.text) for c in chunks) >= window.max_tokens - 12  # pieces are full-size


def test_the_estimate_is_the_tokenizer_count_on_real_articles(window: TokenWindow, tmp_path: Path) -> None:
    files, _ = discover([SAMPLES])
    checked = 0
    for article in read_sources(files):
        assert isinstance(article, Article)
        for c in Chunker(256, 32, window=window).chunk(article.text, f"{article.title}\n"):
            assert window.estimate(c.text) == window.count(c.text)
            checked += 1
    assert checked >= 8


def test_without_the_setting_chunks_are_exactly_the_cl100k_ones(window: TokenWindow) -> None:
    text = dense_text(40)
    off = build_chunker(IndexerSettings(_env_file=None, chunk_fit_model=False))  # type: ignore[call-arg]
    on = build_chunker(IndexerSettings(_env_file=None))  # type: ignore[call-arg]
    assert off.window is None and on.window is not None and on.window.max_tokens == 254
    assert off.chunk(text, "A title\n") == Chunker(256, 32).chunk(text)


def test_a_hub_named_model_takes_the_window_of_the_loaded_model(window: TokenWindow) -> None:
    class Loaded:  # what window_of_model reads from a SentenceTransformer
        max_seq_length = 128

        class tokenizer:
            backend_tokenizer = window.tokenizer

    settings = IndexerSettings(_env_file=None, embed_model="some-org/not-a-local-folder")  # type: ignore[call-arg]
    chunker = build_chunker(settings, lambda: Loaded())
    assert chunker.window is not None and chunker.window.max_tokens == 126
    assert build_chunker(settings).window is None  # nothing to read it from: cl100k only


@pytest.mark.shared
def test_every_news_chunk_fits_with_its_title(window: TokenWindow, shared_data: Path) -> None:
    with (shared_data / "news-rtqa-2023" / "corpus.jsonl").open(encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    records.sort(key=lambda r: len(r["text"]), reverse=True)
    chunker = Chunker(256, 32, window=window)
    checked = 0
    for record in records[:4] + records[300:320]:
        try:
            article = article_from_record(record)
        except InputError:
            continue
        prefix = f"{article.title}\n" if article.title else ""
        check(article.text, prefix, chunker.chunk(article.text, prefix), window)
        checked += 1
    assert checked >= 20
