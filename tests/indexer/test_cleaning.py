"""Boilerplate removal on real, externally written articles: footers and blurbs go, story sentences stay."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from indexer.articles import Article
from indexer.cleaning import clean_text, normalise
from indexer.readers import SourceFile, read_file

pytestmark = pytest.mark.shared

SEED_FOOTERS = ("Photo credit", "©2023 Thomson Reuters", "Source link")

# whole blurb lines as they occur in news-rtqa-2023 (CNN sign-ups, The Week's data-processing notice, ad widget)
BLURBS = [
    "Get CNN Health's weekly newsletter Sign up here to get The Results Are In with Dr. Sanjay Gupta",
    "Sign up for CNN’s Wonder Theory science newsletter.",
    "A version of this story first appeared in CNN Business’ Before the Bell newsletter.",
    "This story is part of CNN Business’ Nightcap newsletter.",
    "We will use the details you have shared to manage your registration.",
    "We will use the details you have shared to manage your newsletter subscription.",
    "We will use the information you have shared for carefully considered and specific purposes",
    "If you wish to object to the use of your data in this way, please tick here.",
    "'We' includes The Week and other Future Publishing Limited brands",
    "Would you like to receive The WeekDay newsletter ?",
    "1. How relevant is this ad to you?",
]

# story sentences that mention a photo or a newsletter in passing (doc id -> sentence)
STORY_SENTENCES = {
    "a9f639a3149e1c2f": "Comedian Kathy Griffin tweeted a photo of herself with Marshall.",
    "ff71065a567b6b18": "Videos and photos posted to social media show people crammed together, standing shoulder "
    "to shoulder in the narrow street.",
    "159bc9db8cf8d621": "Photos from the aftermath show people gathering on the riverbank beside the mangled metal "
    "walkway, which hung at a sharp angle into the water.",
    "200f0ba904e736e8": "After leaving Sports Illustrated in 2020, he began publishing his podcast and newsletter.",
    "9b9835f2644d2672": "Frank wrote in a newsletter.",
}

GETTY_CAPTION = re.compile(r"^.{20,300}/Getty Images\.?$")


def _lines(text: str) -> list[str]:
    """Non-empty lines after the cleaner's own normalisation (NFC, zero-width spaces out, newlines unified)."""
    return [line.strip() for line in normalise(text).split("\n") if line.strip()]


@pytest.fixture(scope="module")
def corpus(shared_data: Path) -> dict[str, str]:
    path = shared_data / "news-rtqa-2023" / "corpus.jsonl"
    with path.open(encoding="utf-8") as fh:
        return {r["_id"]: r["text"] for r in map(json.loads, fh)}


@pytest.fixture(scope="module")
def cleaned(corpus: dict[str, str]) -> dict[str, str]:
    return {doc_id: clean_text(text) for doc_id, text in corpus.items()}


def test_seed_article_keeps_every_story_line_and_loses_its_footer(shared_data: Path) -> None:
    seeds = sorted((shared_data / "seed").glob("*.txt"))
    if not seeds:
        pytest.skip("no seed article")
    raw = seeds[0].read_text(encoding="utf-8")
    [article] = list(read_file(SourceFile(seeds[0], seeds[0])))
    assert isinstance(article, Article), article
    raw_lines = _lines(raw)
    title, body = raw_lines[0], raw_lines[1:]
    assert article.title == title
    footers = [line for line in body if line.startswith(SEED_FOOTERS)]
    assert len(footers) == len(SEED_FOOTERS)
    story = [line for line in body if line not in footers]
    assert len(story) >= 8
    for line in story:  # every story paragraph, verbatim
        assert line in article.text, line
    for footer in SEED_FOOTERS:
        assert footer not in article.text
    assert "all rights reserved" not in article.text.lower()
    assert article.text.startswith("MOSCOW (Reuters) – Russian Foreign Minister Sergei Lavrov said on Tuesday")


def test_known_blurbs_are_removed_from_every_article_that_has_them(
    corpus: dict[str, str], cleaned: dict[str, str]
) -> None:
    hits = 0
    for blurb in BLURBS:
        having = [d for d, text in corpus.items() if blurb in text]
        assert having, f"blurb no longer in the data set: {blurb}"
        for doc_id in having:
            assert blurb not in cleaned[doc_id], (doc_id, blurb)
        hits += len(having)
    assert hits > 80


def test_getty_caption_lines_are_removed(corpus: dict[str, str], cleaned: dict[str, str]) -> None:
    with_captions = 0
    for doc_id, text in corpus.items():
        captions = [line for line in _lines(text) if GETTY_CAPTION.match(line)]
        with_captions += bool(captions)
        # a line-level check: long photo-gallery lines (kept) can quote a caption inside them
        left = set(_lines(cleaned[doc_id]))
        for caption in captions:
            assert caption not in left, (doc_id, caption)
    assert with_captions >= 2


def test_story_sentences_that_mention_photos_or_newsletters_are_kept(
    corpus: dict[str, str], cleaned: dict[str, str]
) -> None:
    for doc_id, sentence in STORY_SENTENCES.items():
        assert sentence in corpus[doc_id]
        assert sentence in cleaned[doc_id], (doc_id, sentence)


def test_cleaning_only_drops_whole_lines(corpus: dict[str, str], cleaned: dict[str, str]) -> None:
    """Nothing is rewritten: every cleaned line is a line of the original, and most of the text survives."""
    kept_chars = total_chars = 0
    for doc_id, text in corpus.items():
        original = set(_lines(text))
        for line in _lines(cleaned[doc_id]):
            assert line in original, (doc_id, line)
        kept_chars += len(cleaned[doc_id])
        total_chars += len(text)
    assert kept_chars / total_chars > 0.95
