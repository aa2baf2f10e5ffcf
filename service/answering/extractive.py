"""The extractive composer: cited answers without a language model, made of the retrieved sentences that
answer the question.

:class:`ExtractiveComposer` (pure apart from embedding) works on the retrieved chunks only:

1. candidates: the sentences of each hit (``indexer.sentences.split_sentences``, the chunker's own boundaries),
   deduplicated across overlapping chunks, pre-ranked lexically and capped at ``MAX_CANDIDATES``;
2. scoring: ``DENSE_W * cos(sentence, question) + LEXICAL_W * weighted question-term coverage
   + RANK_W * 1/(1 + chunk rank)``; the candidate sentences are embedded in one batch (they are short);
3. "found" gate: the best score must reach ``FOUND_THRESHOLD`` (calibrated, see the constant), and every
   selected sentence's article context must mention the question's named entities (capitalised words), so a
   question about a country the articles never mention is not answered with facts about another country;
4. selection: the best sentence, then up to ``MAX_SENTENCES - 1`` more within ``SELECT_MARGIN`` of it that are
   not near-duplicates of a chosen one; shown grouped by article, in article order;
5. citations: ``[n]`` after each sentence, numbered by first use, one number per chunk. The question
   pipeline re-checks every invariant (``service.answering.citations``) before anything is sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from indexer.payload import Hit
from indexer.sentences import split_sentences
from indexer.sparse import terms
from service.answering.types import AnswerPiece, Citation, Draft
from service.ports import Encoder

FOUND_THRESHOLD = 0.48
"""Minimum score of the best sentence for an answer to be given. Calibrated with
``bench/calibrate_found.py --set rtqa-evidence-2023 --questions 240`` (120 questions with their evidence
indexed, 120 with it removed): at 0.48 found-rate 0.57 answerable vs 0.20 unanswerable, gold answer in 74% of
the found answers; 0.42 gave 0.66 vs 0.32, 0.54 gave 0.45 vs 0.12 (0.46-0.50 maximise the difference)."""

DENSE_W = 0.55
LEXICAL_W = 0.35
RANK_W = 0.10
SELECT_MARGIN = 0.12
"""A sentence after the first is used only if it scores within this distance of the best one."""
MAX_SENTENCES = 3
MAX_CANDIDATES = 40
"""Candidate sentences scored lexically per question."""
MAX_EMBEDDED = 8
"""Of those, the best (by the cheap pre-score) embedded in one batch: ~0.2 ms per token on this CPU, the
dominant cost of composing, hence small."""
DUPLICATE_COSINE = 0.88
DUPLICATE_TERM_OVERLAP = 0.7
MIN_SENTENCE_CHARS = 20
MAX_SENTENCE_CHARS = 600
ENTITY_COVERAGE = 0.5
"""Share of the question's named entities that a sentence's article context must exceed."""
ENTITY_WEIGHT = 2.0
"""Question terms from capitalised words count this much more than other terms in the lexical score."""

# words that shape a question but never appear in its answer
_FILLER = frozenset(terms("many much name week weeks recently reportedly according kind type"))
_QUESTION_WORDS = frozenset({"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "name"})
_CAPITALISED = re.compile(r"[A-Z][\w'’.&-]*")
_MARKER = re.compile(r"\[(\d+)\]")


# --- question analysis ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Question:
    text: str
    terms: frozenset[str]
    entities: frozenset[str]
    """Terms of the question's capitalised words (proper nouns, acronyms), minus question words."""

    @classmethod
    def parse(cls, text: str) -> Question:
        all_terms = frozenset(terms(text)) - _FILLER
        entity_words: list[str] = []
        for sentence in re.split(r"(?<=[.?!])\s+", text.strip()):
            for i, match in enumerate(_CAPITALISED.finditer(sentence)):
                word = match.group(0).strip(".'’-")
                if word.lower() in _QUESTION_WORDS:
                    continue
                # the first word of a sentence is capitalised anyway; keep it only if it is an acronym
                if i == 0 and match.start() == 0 and not word.isupper():
                    continue
                entity_words.append(word)
        entities = frozenset(terms(" ".join(entity_words))) & all_terms
        return cls(text, all_terms, entities)

    def weight(self, term: str) -> float:
        return ENTITY_WEIGHT if term in self.entities else 1.0


def has_term(term: str, bag: frozenset[str]) -> bool:
    """Exact term, or a short derived form (Mali/Malian, Russia/Russian, Ukrain/Ukrainian)."""
    if term in bag:
        return True
    if len(term) < 4:
        return False
    return any(t.startswith(term) and len(t) - len(term) <= 3 for t in bag)


# --- candidates -------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Candidate:
    hit_index: int
    hit: Hit
    start: int
    """Offset in the chunk text."""
    end: int
    text: str
    terms: frozenset[str]
    lexical: float = 0.0
    score: float = 0.0

    @property
    def abs_start(self) -> int:
        return self.hit.char_start + self.start


def _candidates(question: Question, hits: list[Hit]) -> list[_Candidate]:
    seen: set[tuple[str, int]] = set()
    out: list[_Candidate] = []
    total_weight = sum(question.weight(t) for t in question.terms) or 1.0
    for rank, hit in enumerate(hits):
        for span in split_sentences(hit.text):
            raw = hit.text[span.start : span.end]
            if not MIN_SENTENCE_CHARS <= len(raw) <= MAX_SENTENCE_CHARS or _MARKER.search(raw):
                continue
            key = (hit.doc_id, hit.char_start + span.start)
            if key in seen:  # chunks overlap: the same article sentence in two chunks
                continue
            seen.add(key)
            s_terms = frozenset(terms(raw))
            if len(s_terms) < 3:
                continue
            matched = sum(question.weight(t) for t in question.terms if has_term(t, s_terms))
            out.append(_Candidate(rank, hit, span.start, span.end, " ".join(raw.split()), s_terms,
                                  lexical=matched / total_weight))
    # cheap pre-rank (lexical, the chunk's own dense score, rank) so only the most promising are embedded
    out.sort(key=_prescore, reverse=True)
    return out[:MAX_CANDIDATES]


def _prescore(c: _Candidate) -> float:
    chunk_dense = c.hit.dense_score if c.hit.dense_score is not None else 0.0
    return LEXICAL_W * c.lexical + DENSE_W * chunk_dense + RANK_W / (1 + c.hit_index)


def _context_terms(hits: list[Hit]) -> dict[str, frozenset[str]]:
    """Terms of each article's title and every retrieved chunk of it (for the entity check)."""
    text: dict[str, list[str]] = {}
    for h in hits:
        text.setdefault(h.doc_id, [h.title]).append(h.text)
    return {doc: frozenset(terms(" ".join(parts))) for doc, parts in text.items()}


def _redundant(c: _Candidate, vec: np.ndarray, chosen: list[tuple[_Candidate, np.ndarray]]) -> bool:
    for other, other_vec in chosen:
        if float(vec @ other_vec) >= DUPLICATE_COSINE:
            return True
        small = min(len(c.terms), len(other.terms)) or 1
        if len(c.terms & other.terms) / small >= DUPLICATE_TERM_OVERLAP:
            return True
    return False


# --- composing --------------------------------------------------------------------------------------------------
class ExtractiveComposer:
    """Answers with the best-scoring retrieved sentences, each cited; no model besides the encoder."""

    name = "extractive"

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder

    def compose(self, question: str, hits: list[Hit], query_vector: list[float] | None = None,
                on_token: Callable[[str], None] | None = None) -> Draft:
        """The cited sentences that answer ``question`` from ``hits`` (best first); no pieces when none does."""
        q = Question.parse(question)
        candidates = _candidates(q, hits)[:MAX_EMBEDDED] if q.terms else []
        if not candidates:
            return Draft([], [])
        qvec = (np.asarray(query_vector, dtype=np.float32) if query_vector is not None
                else self.encoder.encode_query(question))
        vecs = self.encoder.encode([c.text for c in candidates])
        dense = vecs @ qvec
        for c, cos in zip(candidates, dense, strict=True):
            c.score = DENSE_W * float(cos) + LEXICAL_W * c.lexical + RANK_W / (1 + c.hit_index)
        order = sorted(range(len(candidates)), key=lambda i: candidates[i].score, reverse=True)
        context = _context_terms(hits)

        def covers_entities(c: _Candidate) -> bool:
            # strictly more than half of them: "France ... Chile" needs both; one of three names may be absent
            # (short passages often say "the 24-year-old" where the question names him)
            bag = context[c.hit.doc_id] | c.terms
            if not q.entities:
                return True
            return sum(has_term(e, bag) for e in q.entities) > len(q.entities) * ENTITY_COVERAGE

        chosen: list[tuple[_Candidate, np.ndarray]] = []
        best = candidates[order[0]].score
        if best >= FOUND_THRESHOLD:  # read at call time: bench/calibrate_found.py sweeps it
            for i in order:
                c = candidates[i]
                if c.score < best - SELECT_MARGIN or len(chosen) >= MAX_SENTENCES:
                    break
                if not covers_entities(c) or _redundant(c, vecs[i], chosen):
                    continue
                chosen.append((c, vecs[i]))
        if not chosen:
            return Draft([], [], best)
        pieces, citations = _cite([c for c, _ in chosen])
        return Draft(pieces, citations, best)


def _cite(chosen: list[_Candidate]) -> tuple[list[AnswerPiece], list[Citation]]:
    """Order the sentences (articles by their best sentence, then position) and number the chunks."""
    doc_rank: dict[str, int] = {}
    for c in chosen:
        doc_rank.setdefault(c.hit.doc_id, len(doc_rank))
    ordered = sorted(chosen, key=lambda c: (doc_rank[c.hit.doc_id], c.abs_start))
    spans: dict[str, tuple[Hit, int, int]] = {}
    numbers: dict[str, int] = {}
    pieces: list[AnswerPiece] = []
    for c in ordered:
        cid = c.hit.chunk_id
        n = numbers.setdefault(cid, len(numbers) + 1)
        hit, lo, hi = spans.get(cid, (c.hit, c.start, c.end))
        spans[cid] = (hit, min(lo, c.start), max(hi, c.end))
        pieces.append(AnswerPiece(c.text, n))
    citations = []
    for cid, n in numbers.items():
        hit, lo, hi = spans[cid]
        citations.append(
            Citation(n=n, doc_id=hit.doc_id, chunk_id=hit.chunk_id, title=hit.title, url=hit.url,
                     source=hit.source, published_at=hit.published_at, quote=hit.text[lo:hi],
                     char_start=hit.char_start + lo, char_end=hit.char_start + hi)
        )
    return pieces, citations
