"""The citation invariants, enforced by the question pipeline on every composer's draft before anything is sent."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from indexer.payload import Hit
from service.answering.types import AnswerPiece, Citation, Draft, normalise_space

_MARKER = re.compile(r"\[(\d+)\]")


class SupportCheck(Protocol):
    """Decides whether a sentence that is not a copy of its quote is supported by it (``support.SupportChecker``)."""

    def supported_many(self, pairs: Sequence[tuple[str, str]]) -> list[bool]: ...


def _citation_ok(c: Citation, hits_by_chunk: dict[str, Hit]) -> bool:
    hit = hits_by_chunk.get(c.chunk_id)
    if hit is None or hit.doc_id != c.doc_id or not c.quote.strip():
        return False
    offset = c.char_start - hit.char_start
    return (
        offset >= 0
        and c.char_end - c.char_start == len(c.quote)
        and hit.text[offset : offset + len(c.quote)] == c.quote
    )


def verify_citations(draft: Draft, hits: list[Hit], support: SupportCheck | None = None) -> Draft:
    """Keep only what obeys the invariants; whatever fails is dropped together with its sentences.

    Kept: a sentence followed by ``[n]`` where exactly one citation has number ``n``, that citation's quote is
    verbatim in the cited chunk at ``char_start - chunk.char_start`` (so it also locates the quote in the
    article), and the sentence is part of the quote (extractive) or, checked by ``support``, supported by it
    (generated). Sentences explicitly marked unsupported pass without a citation. Then unused citations go,
    and the survivors are renumbered 1..k in order of first use.
    """
    hits_by_chunk = {h.chunk_id: h for h in hits}
    count: dict[int, int] = {}
    for c in draft.citations:
        count[c.n] = count.get(c.n, 0) + 1
    valid = {c.n: c for c in draft.citations if count[c.n] == 1 and _citation_ok(c, hits_by_chunk)}

    candidates: list[tuple[AnswerPiece, Citation | None, bool]] = []  # piece, its citation, copied from it
    for piece in draft.pieces:
        text = normalise_space(piece.text)
        if piece.n is None:
            if piece.unsupported and text:
                candidates.append((AnswerPiece(text, None, True), None, False))
            continue
        c = valid.get(piece.n)
        if c is None or not text or _MARKER.search(text):
            continue
        candidates.append((AnswerPiece(text, piece.n), c, text in normalise_space(c.quote)))
    to_check = [(p.text, c.quote) for p, c, copied in candidates if c is not None and not copied]
    verdicts = iter(support.supported_many(to_check) if support and to_check else [False] * len(to_check))

    renumber: dict[int, int] = {}
    kept: list[AnswerPiece] = []
    for piece, c, copied in candidates:
        if c is not None and not copied and not next(verdicts):
            continue
        if piece.n is None:
            kept.append(piece)
        else:
            kept.append(AnswerPiece(piece.text, renumber.setdefault(piece.n, len(renumber) + 1)))
    citations = sorted((replace(valid[old], n=new) for old, new in renumber.items()), key=lambda c: c.n)
    removed = sum(1 for p in draft.pieces if p.n is not None) - sum(1 for p in kept if p.n is not None)
    verification = draft.verification
    if verification is not None and removed:
        verification = replace(verification, sentences_removed=verification.sentences_removed + removed)
    return replace(draft, pieces=kept, citations=citations, verification=verification)
