"""Sentence boundaries with character spans.

Shared by the chunker (chunks never cut a sentence) and the answer composer (answers quote whole sentences), so
both agree on what a sentence is. Paragraph breaks always end a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "gen", "gov", "sen", "rep", "rev", "lt", "col",
    "capt", "cmdr", "sgt", "maj", "pres", "sec", "atty", "supt", "dept", "univ", "inc", "ltd", "co", "corp",
    "no", "nos", "vs", "v", "etc", "approx", "est", "fig", "al", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec", "ft", "mph", "a.m", "p.m", "u.s", "u.k", "u.n", "e.g", "i.e",
}
# a candidate end: terminal punctuation, optional closing quotes/brackets, then whitespace
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_NEXT_START = re.compile(r"\s+[\"'“‘(\[]*[A-Z0-9À-Þ]")
_WORD_BEFORE = re.compile(r"([A-Za-z.]+)$")


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int


def _is_abbreviation(text: str, dot_pos: int) -> bool:
    match = _WORD_BEFORE.search(text[max(0, dot_pos - 24) : dot_pos])
    if not match:
        return False
    word = match.group(1).lower().strip(".")
    if word in _ABBREVIATIONS:
        return True
    # single initials ("J. Smith") and dotted acronyms ("U.S.")
    return len(word) == 1 or bool(re.fullmatch(r"(?:[a-z]\.)+[a-z]", word))


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Spans of the sentences in ``text[start:end]``, trimmed of surrounding whitespace, in order."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    for para in re.finditer(r"[^\n]+", text[start:end]):
        p_start, p_end = start + para.start(), start + para.end()
        cursor = p_start
        for match in _END.finditer(text, p_start, p_end):
            cut = match.end()
            if not _NEXT_START.match(text, cut, p_end):
                continue
            if text[match.start()] == "." and match.end() - match.start() == 1 and _is_abbreviation(
                text, match.start()
            ):
                continue
            _append(spans, text, cursor, cut)
            cursor = cut
        _append(spans, text, cursor, p_end)
    return spans


def sentence_text(text: str, span: Span) -> str:
    """The sentence as it is embedded and quoted in answers: its words joined by single spaces. The indexer
    stores the vector of exactly this string (``indexer.pipeline``), the answer composer scores it."""
    return " ".join(text[span.start : span.end].split())


def _append(spans: list[Span], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append(Span(start, end))
