"""The citation invariants, enforced on every composer's draft before anything leaves the server."""

from __future__ import annotations

import re
from dataclasses import replace

from indexer.payload import Hit
from service.answering.types import AnswerPiece, Citation, Draft, normalise_space

_MARKER = re.compile(r"\[(\d+)\]")


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


def verify_citations(draft: Draft, hits: list[Hit]) -> Draft:
    """Keep only what obeys the invariants; whatever fails is dropped together with its sentences.

    Kept: a sentence followed by ``[n]`` where exactly one citation has number ``n``, that citation's quote is
    verbatim in the cited chunk at ``char_start - chunk.char_start`` (so it also locates the quote in the
    article), and the sentence is part of the quote. Then unused citations go, and the survivors are
    renumbered 1..k in order of first use.
    """
    hits_by_chunk = {h.chunk_id: h for h in hits}
    count: dict[int, int] = {}
    for c in draft.citations:
        count[c.n] = count.get(c.n, 0) + 1
    valid = {c.n: c for c in draft.citations if count[c.n] == 1 and _citation_ok(c, hits_by_chunk)}
    renumber: dict[int, int] = {}
    kept: list[AnswerPiece] = []
    for piece in draft.pieces:
        c = valid.get(piece.n) if piece.n is not None else None
        if c is None or piece.n is None:
            continue
        text = normalise_space(piece.text)
        if not text or _MARKER.search(text) or text not in normalise_space(c.quote):
            continue
        kept.append(AnswerPiece(text, renumber.setdefault(piece.n, len(renumber) + 1)))
    citations = sorted((replace(valid[old], n=new) for old, new in renumber.items()), key=lambda c: c.n)
    return Draft(kept, citations, draft.score)
