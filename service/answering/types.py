"""The answer's vocabulary, shared by every composer, the verifier, the pipeline and the HTTP layer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from indexer.payload import Hit

NOT_FOUND_ANSWER = "I could not find this in the indexed articles."

_PIECE = re.compile(r"(.+?)\s*\[(\d+)\](?=\s|$)", re.DOTALL)


@dataclass(slots=True)
class Citation:
    n: int
    doc_id: str
    chunk_id: str
    title: str
    url: str | None
    source: str | None
    published_at: str | None
    quote: str
    """Verbatim text of the cited chunk (from the first to the last answer sentence taken from it)."""
    char_start: int
    """Offset of ``quote`` in the cleaned article (not in the chunk)."""
    char_end: int
    answer_start: int | None = None
    """The asked-for fact inside the quote, ``quote[answer_start:answer_end]`` (a year for "when", an age for
    "at what age"), so a UI can bold it; None when the composer marked none."""
    answer_end: int | None = None


@dataclass(frozen=True, slots=True)
class AnswerPiece:
    """One answer sentence and the citation number after it (None for the not-found message, and for a generated
    sentence kept without support when ``NEWSDESK_LLM_UNSUPPORTED=mark``)."""

    text: str
    n: int | None
    unsupported: bool = False

    def render(self) -> str:
        if self.n is not None:
            return f"{self.text} [{self.n}]"
        return f"{self.text} {UNSUPPORTED_MARK}" if self.unsupported else self.text


UNSUPPORTED_MARK = "[unsupported]"


@dataclass(slots=True)
class Verification:
    """What the verifier did to a generated answer (reported with it)."""

    markers_seen: int = 0
    markers_inferred: int = 0
    """Sentences the model left without a marker, attributed to the passage that supports them best."""
    markers_dropped: int = 0
    sentences_removed: int = 0
    sentences_marked: int = 0


@dataclass(slots=True)
class Draft:
    """What a composer proposes; the pipeline verifies it before anything is sent."""

    pieces: list[AnswerPiece]
    citations: list[Citation]
    score: float = 0.0
    """The composer's confidence in its best sentence (the extractive found-gate's score); 0 when none."""
    composer: str = "extractive"
    """Who wrote it (after a fallback: the composer that did)."""
    fallback_reason: str | None = None
    verification: Verification | None = None


@dataclass(slots=True)
class Answer:
    answer: str
    citations: list[Citation]
    found: bool
    timings_ms: dict[str, float]
    hits: list[Hit]
    pieces: list[AnswerPiece] = field(default_factory=list)
    score: float = 0.0
    composer: str = "extractive"
    fallback_reason: str | None = None
    verification: Verification | None = None

    def deltas(self) -> Iterator[str]:
        """The answer sentence by sentence with its ``[n]``; the pieces concatenate to ``answer``."""
        for i, p in enumerate(self.pieces):
            yield ("" if i == 0 else " ") + p.render()


def render(pieces: list[AnswerPiece]) -> str:
    return " ".join(p.render() for p in pieces)


def normalise_space(text: str) -> str:
    return " ".join(text.split())


def parse_pieces(answer: str) -> list[AnswerPiece]:
    """``"sentence [n] sentence [m]"`` back into pieces; text not followed by a marker is not a piece."""
    return [AnswerPiece(normalise_space(m.group(1)), int(m.group(2))) for m in _PIECE.finditer(answer)]
