"""Boilerplate removal on real, externally written articles: footers and blurbs go, story sentences stay.

Cleaning cuts whole SENTENCES inside a paragraph (see indexer.cleaning); the figures per shared set are in
``bench/cleaning_report.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from indexer.articles import Article, article_from_record
from indexer.cleaning import clean_text, normalise
from indexer.readers import SourceFile, read_file
from indexer.sentences import split_sentences

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

# a caption sentence, then a credit of at most four words before the agency chain, on one line
CAPTION_THEN_CREDIT = re.compile(
    r"^(?P<caption>.{20,300}?[.!?\"”])\s+(?P<credit>[^\s/]+(?: [^\s/]+){0,3}(?:/[^/]{1,40})*/Getty Images)$"
)

# gold evidence paragraphs of rtqa-evidence-2023 whose last sentence is a newsletter sign-up: the line-level
# cleaner dropped them whole ("article text is empty once boilerplate is removed")
EVIDENCE = {
    "ev-20230728_1": (
        "The face coverings are made of UV-resistant material and are designed to protect the wearer’s head, face "
        "and neck from sun exposure.",
        "For more odd and unexpected news, sign up to the Tall Tales newsletter.",
    ),
    "ev-20231208_6": (
        "The brie-style cheese, available in some Asda stores this Christmas, has an \"exotic aroma\" of \"old "
        "feet\", according to makers Highland Fine Cheeses.",
        "For more stories from the stranger side of life, sign up to The Week's Tall Tales newsletter.",
    ),
}


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


def test_getty_credits_are_removed_and_the_caption_before_them_kept(
    corpus: dict[str, str], cleaned: dict[str, str]
) -> None:
    pairs = 0
    for doc_id, text in corpus.items():
        for line in _lines(text):
            match = CAPTION_THEN_CREDIT.match(line)
            if not match:
                continue
            pairs += 1
            left = set(_lines(cleaned[doc_id]))
            assert match["caption"] in cleaned[doc_id], (doc_id, match["caption"])
            assert line not in left, (doc_id, line)  # the credit is cut from the caption's line
    assert pairs >= 20


def test_story_sentences_that_mention_photos_or_newsletters_are_kept(
    corpus: dict[str, str], cleaned: dict[str, str]
) -> None:
    for doc_id, sentence in STORY_SENTENCES.items():
        assert sentence in corpus[doc_id]
        assert sentence in cleaned[doc_id], (doc_id, sentence)


def test_cleaning_only_drops_whole_sentences(corpus: dict[str, str], cleaned: dict[str, str]) -> None:
    """Nothing is rewritten: every cleaned sentence is in the original, and most of the text survives."""
    kept_chars = total_chars = 0
    for doc_id, text in corpus.items():
        original = normalise(text)
        out = cleaned[doc_id]
        for span in split_sentences(out):
            assert out[span.start : span.end] in original, (doc_id, out[span.start : span.end])
        kept_chars += len(out)
        total_chars += len(text)
    assert kept_chars / total_chars > 0.99


def test_a_story_paragraph_sharing_its_line_with_a_signup_is_kept(shared_data: Path) -> None:
    """The two gold evidence records keep their fact and lose exactly their sign-up sentence."""
    with (shared_data / "rtqa-evidence-2023" / "corpus.jsonl").open(encoding="utf-8") as fh:
        records = {r["_id"]: r for r in map(json.loads, fh)}
    for doc_id, (fact, signup) in EVIDENCE.items():
        assert records[doc_id]["text"] == f"{fact} {signup}"
        article = article_from_record(records[doc_id])
        assert article.text == fact
    # and no evidence paragraph is lost to cleaning any more
    assert all(clean_text(r["text"]) for r in records.values())


def test_a_long_paragraph_mentioning_sign_up_is_kept_whole(corpus: dict[str, str]) -> None:
    paragraph = next(line for line in _lines(corpus["fc57ad332c2a367c"]) if "84 Lumber’s Hiring Page" in line)
    assert len(paragraph) == 374
    assert paragraph in clean_text(corpus["fc57ad332c2a367c"])
