"""BM25-style sparse vectors computed by the project (no model, no server-side inference).

Documents carry BM25's saturated, length-normalised term frequency; Qdrant multiplies in the IDF itself
(``Modifier.IDF`` on the sparse vector), so the index stays correct as documents come and go. Queries carry a
weight of 1 per distinct term. Terms are lower-cased words, English stop words dropped, Snowball-stemmed, and
hashed to a stable 32-bit id: the same text gives the same vector in every process and on every server.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "s",
        "t",
        "don",
        "didn",
        "doesn",
        "isn",
        "wasn",
        "aren",
        "weren",
        "won",
        "wouldn",
        "shouldn",
        "couldn",
        "hasn",
        "haven",
        "hadn",
        "ll",
        "re",
        "ve",
        "d",
        "m",
        "o",
        "y",
        "also",
        "said",
        "says",
        "say",
    ]
)


@dataclass(frozen=True, slots=True)
class SparseVec:
    indices: list[int]
    values: list[float]


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def terms(text: str) -> list[str]:
    """Analysed terms of ``text`` in order (lower-cased, stop words out, stemmed)."""
    words = [w.replace("’", "'").lower() for w in _WORD.findall(text)]
    words = [w.removesuffix("'s") for w in words]
    return _stemmer().stemWords([w for w in words if w not in STOPWORDS and len(w) < 40])


@lru_cache(maxsize=200_000)
def term_id(term: str) -> int:
    return zlib.crc32(term.encode("utf-8"))


class SparseEncoder:
    def __init__(self, k1: float = 1.2, b: float = 0.75, avg_doc_terms: float = 180.0) -> None:
        self.k1, self.b, self.avg = k1, b, avg_doc_terms

    def encode_document(self, text: str) -> SparseVec:
        counts = self._counts(text)
        length = sum(counts.values())
        norm = self.k1 * (1 - self.b + self.b * length / self.avg)
        items = sorted(counts.items())
        return SparseVec([i for i, _ in items], [tf * (self.k1 + 1) / (tf + norm) for _, tf in items])

    def encode_query(self, text: str) -> SparseVec:
        ids = sorted(self._counts(text))
        return SparseVec(ids, [1.0] * len(ids))

    @staticmethod
    def _counts(text: str) -> Counter[int]:
        return Counter(term_id(t) for t in terms(text))
