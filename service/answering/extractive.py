"""The extractive composer: cited answers without a language model, made of the retrieved sentences that
answer the question.

:class:`ExtractiveComposer` (pure apart from embedding) works on the retrieved chunks only:

1. candidates: the sentences of each hit (``indexer.sentences.split_sentences``, the chunker's own boundaries),
   deduplicated across overlapping chunks, pre-ranked lexically and capped at ``MAX_CANDIDATES``;
2. scoring: ``DENSE_W * cos(sentence, question) + LEXICAL_W * weighted question-term coverage
   + TYPE_W * type match + RANK_W * 1/(1 + chunk rank)``; the type match (``question_type.type_match``) says
   how well the sentence holds a candidate of the asked-for type (a year for "when", an age for "at what
   age") near the question's terms, so the sentence stating the fact outranks the article's lead that only
   restates the question; the sentence vectors were stored at ingest (``Hit.sentences``, attached by the
   question pipeline), so only chunks indexed before that have their candidates embedded here, in one batch;
3. "found" gate: the confidence, the best type-free score of a candidate (the type match ranks but does not
   vouch), must reach ``FOUND_THRESHOLD`` (calibrated, see the constant), and every selected sentence's
   article context must mention the question's subjects (capitalised words, not nationality words, months,
   weekdays, US or UK), so a question about a country the articles never mention is not answered with facts
   about another country;
4. selection: the best sentence, then up to ``MAX_SENTENCES - 1`` more within ``SELECT_MARGIN`` of it that are
   not near-duplicates of a chosen one (by cosine, or by the terms they add to the question's); completion: when the question has a detectable type and no chosen
   sentence holds a candidate of it, the best-ranked sentence that does is added if it scores within
   ``COMPLETION_MARGIN``; shown grouped by article, in article order;
5. citations: ``[n]`` after each sentence, numbered by first use, one number per chunk, with the answer span
   (``answer_start``/``answer_end`` within the quote) where a sentence holds a typed candidate. The question
   pipeline re-checks every invariant (``service.answering.citations``) before anything is sent.
"""

from __future__ import annotations

import heapq
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from indexer.payload import Hit
from indexer.sentences import sentence_text, split_sentences
from indexer.sparse import terms
from service.answering import question_type as qt
from service.answering.types import AnswerPiece, Citation, Draft
from service.ports import Encoder

FOUND_THRESHOLD = 0.48
"""Minimum confidence (``Ranking.confidence``) for an answer to be given. Recalibrated for issue 12 with
``bench/calibrate_found.py`` on two constructions: rtqa-evidence-2023, 240 questions, the evidence of half of
them removed, and news-rtqa-2023, 35 answerable vs 114 unanswerable (evidence removed, or no article holds the
gold). Found on answerable / unanswerable questions at 0.44, 0.48, 0.52, 0.56: rtqa .68/.28, .62/.18, .51/.15,
.39/.10; news .97/.35, .91/.28, .91/.21, .83/.18. 0.48 maximises the summed difference (1.07; 0.52: 1.06,
0.44: 1.02); the gold answer is in .78 (rtqa) and .78 (news) of the found answers. No threshold reaches found
>= .80 with <= .10 on unanswerable: at .10 found is .39 (rtqa, 0.56) and .54 (news, 0.64). Per question type
the calibration sets are too small to move it (10-90 questions per type and construction)."""

DENSE_W = 0.55
LEXICAL_W = 0.35
RANK_W = 0.10
TYPE_W = 0.30
"""Weight of ``question_type.type_match`` (in [0, 1]). ``bench/compose_sweep.py`` on news-rtqa-2023 (82
questions, threshold off): gold answer in the answer .512 at 0, .610 at 0.175 (``TYPE_WEIGHT * LEXICAL_W``, the
weight measured next to term coverage alone), .646 / .634 / .646 at 0.25 / 0.30 / 0.35; on rtqa-evidence-2023
(988 short passages, where the sentence hardly matters) .416 at 0 to .412 at 0.35. Questions without a
detectable type get ``NEUTRAL`` for every sentence (a constant)."""
SELECT_MARGIN = 0.18
"""A sentence after the first is used only if it scores within this distance of the best one (news-rtqa-2023:
gold .585 at 0.12, .634 at 0.18, no gain at 0.22-0.24; answers average 2.6 sentences instead of 2.2)."""
COMPLETION_MARGIN = 0.24
"""The completion sentence (the best-ranked one holding a candidate of the asked type, added when no chosen
sentence holds one) must score within this distance of the best sentence."""
MAX_SENTENCES = 3
MAX_CANDIDATES = 40
"""Candidate sentences scored lexically per question."""
MAX_SCORED = 8
"""Of those, the best (by the cheap pre-score) scored by cosine (vectors stored at ingest: a dot product each).
Scoring more costs nothing now but answers worse: news-rtqa-2023 full set (82 answerable, 78 unanswerable),
``bench/compose_sweep.py --grid MAX_SCORED=8,16,40``: gold in answer .585 / .573 / .573, found on unanswerable
.436 / .474 / .487 (more candidates, more chances for a confident wrong sentence). Capping sentences per article
at 2 (cites a relevant article .707 vs .695) lost gold (.573)."""
MAX_EMBEDDED = 8
"""Of the candidates whose chunk carries no stored vectors (indexed before they were stored), the best (by the
cheap pre-score) embedded in one batch: ~0.2 ms per token on this CPU, the dominant cost of composing, hence
small; the others are dropped."""
DUPLICATE_COSINE = 0.88
DUPLICATE_TERM_OVERLAP = 0.7
MIN_SENTENCE_CHARS = 20
MAX_SENTENCE_CHARS = 600
ENTITY_COVERAGE = 0.5
"""Share of the question's subjects (named entities) that a sentence's article context must exceed. Swept with
``bench/calibrate_found.py --entity``: at threshold 0.48 it costs answerable and unanswerable questions alike
(rtqa: off .72/.22, 0.34 .67/.20, 0.5 .62/.18, 0.67 .60/.17; news: .91 answerable at every value, .30 to .26
unanswerable), so it stays at 0.5, the value that keeps a question about a country the articles never mention
unanswered."""
ENTITY_WEIGHT = 2.0
"""Question terms from capitalised words count this much more than other terms in the lexical score."""

# words that shape a question but never appear in its answer
_FILLER = frozenset(terms("many much name week weeks recently reportedly according kind type"))
_QUESTION_WORDS = frozenset({"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "name"})
_CAPITALISED = re.compile(r"[A-Z][\w'’.&-]*")
_NOT_SUBJECTS = frozenset(terms(" ".join(sorted(qt.DESCRIPTIVE_NAME_WORDS)) + " US UK"))
"""Capitalised words that qualify a question's subject rather than name it ("UK ministers", "a Dutch donor",
"US presidents", "on Sunday", "in September"): a passage that answers seldom repeats them, so the entity gate
ignores them."""
_MARKER = re.compile(r"\[(\d+)\]")
log = logging.getLogger(__name__)


# --- question analysis ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Question:
    text: str
    terms: frozenset[str]
    entities: frozenset[str]
    """Terms of the question's capitalised words (proper nouns, acronyms), minus question words."""
    subjects: frozenset[str] = frozenset()
    """The entities the gate checks: ``entities`` minus nationality, month and weekday words."""

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
        return cls(text, all_terms, entities, entities - _NOT_SUBJECTS)

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
class Candidate:
    """One sentence of a retrieved chunk and its features; ``score`` once ranked (``ExtractiveComposer.rank``)."""

    hit_index: int
    hit: Hit
    start: int
    """Offset in the chunk text."""
    end: int
    text: str
    terms: frozenset[str]
    lexical: float = 0.0
    typed: float = 0.0
    """``question_type.type_match`` of the sentence (``NEUTRAL`` when the question has no detectable type)."""
    cosine: float = 0.0
    relevance: float = 0.0
    """``DENSE_W * cosine + LEXICAL_W * lexical + RANK_W / (1 + hit_index)``: how well the sentence matches the
    question, whatever it states; the found-gate's confidence is the best of these."""
    score: float = 0.0
    """``relevance + TYPE_W * typed``: the ranking, which also asks for a candidate of the asked-for type."""
    vector: np.ndarray | None = None

    @property
    def abs_start(self) -> int:
        return self.hit.char_start + self.start


def _candidates(question: Question, hits: list[Hit], limit: int = MAX_CANDIDATES) -> list[Candidate]:
    """The ``limit`` best sentences of ``hits`` by the cheap pre-score (``_prescore``), best first (ties in
    sentence order). The type match, the costly feature, is computed only for sentences that can still enter the
    top ``limit``: sentences are visited by their type-free pre-score, and once even a perfect type match
    (``type_match`` <= 1) could not lift the next one past the current ``limit``-th best, the rest are skipped:
    the same result as typing every sentence, at a fraction of the cost on long articles."""
    out = sentence_candidates(question, hits)
    untyped = [_prescore(c) for c in out]  # typed is 0 here
    order = sorted(range(len(out)), key=lambda i: untyped[i], reverse=True)
    kept: list[tuple[float, int]] = []  # (pre-score, position in sentence order) of the typed ones
    best: list[float] = []  # min-heap of the ``limit`` best pre-scores so far: best[0] is the bar to pass
    for i in order:
        if len(best) >= limit and untyped[i] + TYPE_W + 1e-9 < best[0]:
            break
        c = out[i]
        c.typed = qt.type_match(question.text, _raw(c))
        score = _prescore(c)
        kept.append((score, i))
        if len(best) < limit:
            heapq.heappush(best, score)
        elif score > best[0]:
            heapq.heapreplace(best, score)
    kept.sort(key=lambda k: (-k[0], k[1]))
    return [out[i] for _, i in kept[:limit]]


def sentence_candidates(question: Question, hits: list[Hit]) -> list[Candidate]:
    """Every quotable sentence of ``hits`` once (chunks overlap), in hit and sentence order, with its weighted
    question-term coverage (``lexical``); sentences under ``MIN_SENTENCE_CHARS`` or over
    ``MAX_SENTENCE_CHARS``, holding a ``[n]`` marker or fewer than 3 terms are left out."""
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
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
            out.append(Candidate(rank, hit, span.start, span.end, sentence_text(hit.text, span), s_terms,
                                  lexical=matched / total_weight))
    return out


def _prescore(c: Candidate) -> float:
    chunk_dense = c.hit.dense_score if c.hit.dense_score is not None else 0.0
    return LEXICAL_W * c.lexical + TYPE_W * c.typed + DENSE_W * chunk_dense + RANK_W / (1 + c.hit_index)


def _raw(c: Candidate) -> str:
    return c.hit.text[c.start : c.end]


def _context_terms(hits: list[Hit]) -> dict[str, frozenset[str]]:
    """Terms of each article's title and every retrieved chunk of it (for the entity check)."""
    text: dict[str, list[str]] = {}
    for h in hits:
        text.setdefault(h.doc_id, [h.title]).append(h.text)
    return {doc: frozenset(terms(" ".join(parts))) for doc, parts in text.items()}


def _redundant(c: Candidate, chosen: list[Candidate], question: Question) -> bool:
    """Near-duplicate of a chosen sentence: by cosine, or by the terms each adds to the question's own (two
    sentences that restate the question alike differ by their facts: "... wants to bring the *dodo* back")."""
    new = c.terms - question.terms
    for other in chosen:
        if float(c.vector @ other.vector) >= DUPLICATE_COSINE:  # type: ignore[operator]
            return True
        other_new = other.terms - question.terms
        if not new:
            return True  # adds nothing to the question's words
        if other_new and len(new & other_new) / min(len(new), len(other_new)) >= DUPLICATE_TERM_OVERLAP:
            return True
    return False


# --- composing --------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Ranking:
    """What ``ExtractiveComposer.rank`` found: the question, its scored candidates (best first) and the terms of
    each retrieved article (title and retrieved chunks), for the entity gate."""

    question: Question
    candidates: list[Candidate]
    context: dict[str, frozenset[str]]

    @property
    def confidence(self) -> float:
        """The found-gate's score: the best ``relevance`` of a candidate (0 without candidates). The type match
        ranks, but does not vouch: on the calibration sets a sentence of the asked-for type is about as common
        among the unanswerable questions' best sentences as among the answerable ones'."""
        return max((c.relevance for c in self.candidates), default=0.0)

    def entity_share(self, c: Candidate) -> float:
        """Share of the question's subjects (named entities) in ``c``'s article context (1.0 when it has none)."""
        subjects = self.question.subjects
        if not subjects:
            return 1.0
        bag = self.context[c.hit.doc_id] | c.terms
        return sum(has_term(e, bag) for e in subjects) / len(subjects)

    def covers_entities(self, c: Candidate) -> bool:
        # strictly more than half of them: "France ... Chile" needs both; one of three names may be absent
        # (short passages often say "the 24-year-old" where the question names him)
        return not self.question.subjects or self.entity_share(c) > ENTITY_COVERAGE


class ExtractiveComposer:
    """Answers with the best-scoring retrieved sentences, each cited; no model besides the encoder."""

    name = "extractive"

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.encoded = 0
        """Sentences this composer had to embed itself (their chunks carried no stored vectors)."""
        self._warned = False

    def rank(self, question: str, hits: list[Hit], query_vector: list[float] | None = None) -> Ranking:
        """The embedded candidate sentences of ``hits``, scored and sorted best first (none without terms)."""
        q = Question.parse(question)
        candidates = self._with_vectors(_candidates(q, hits, MAX_SCORED)) if q.terms else []
        if candidates:
            qvec = (np.asarray(query_vector, dtype=np.float32) if query_vector is not None
                    else self.encoder.encode_query(question))
            for c in candidates:
                vec = c.vector
                assert vec is not None
                c.cosine = float(vec @ qvec)
                c.relevance = DENSE_W * c.cosine + LEXICAL_W * c.lexical + RANK_W / (1 + c.hit_index)
                c.score = c.relevance + TYPE_W * c.typed
            candidates.sort(key=lambda c: c.score, reverse=True)
        return Ranking(q, candidates, _context_terms(hits))

    def _with_vectors(self, candidates: list[Candidate]) -> list[Candidate]:
        """The candidates (pre-ranked) that have a sentence vector, in order: every one whose vector was stored
        at ingest (``Hit.sentences``, same splitter, same text), and of the others (chunks indexed before the
        vectors were stored) the first ``MAX_EMBEDDED``, embedded here in one batch."""
        stored: dict[str, dict[tuple[int, int], np.ndarray]] = {}
        todo: list[Candidate] = []
        for c in candidates:
            if c.hit.sentences is not None and c.hit.chunk_id not in stored:
                stored[c.hit.chunk_id] = c.hit.sentences.by_span()
            c.vector = stored.get(c.hit.chunk_id, {}).get((c.start, c.end))
            if c.vector is None and len(todo) < MAX_EMBEDDED:
                todo.append(c)
        if todo:
            if not self._warned and any(c.hit.sentences is None for c in todo):
                self._warned = True
                log.warning("the collection has chunks indexed without sentence vectors: each ask embeds their "
                            "candidate sentences per request; re-index them (python -m indexer rebuild PATH...) to make "
                            "asks faster")
            self.encoded += len(todo)
            for c, vec in zip(todo, self.encoder.encode([c.text for c in todo]), strict=True):
                c.vector = vec
        return [c for c in candidates if c.vector is not None]

    def compose(self, question: str, hits: list[Hit], query_vector: list[float] | None = None,
                on_token: Callable[[str], None] | None = None) -> Draft:
        """The cited sentences that answer ``question`` from ``hits`` (best first); no pieces when none does."""
        ranking = self.rank(question, hits, query_vector)
        ranked = ranking.candidates
        if not ranked:
            return Draft([], [])
        best = ranked[0].score
        confidence = ranking.confidence
        chosen: list[Candidate] = []
        if confidence >= FOUND_THRESHOLD:  # read at call time: bench/calibrate_found.py sweeps it
            for c in ranked:
                if c.score < best - SELECT_MARGIN or len(chosen) >= MAX_SENTENCES:
                    break
                if ranking.covers_entities(c) and not _redundant(c, chosen, ranking.question):
                    chosen.append(c)
        if chosen and not any(qt.answer_span(question, _raw(c)) for c in chosen):
            # none of them states a candidate of the asked type ("when": a date): add the best-ranked that does
            k = qt.first_with_answer(question, [_raw(c) for c in ranked])
            if k is not None:
                c = ranked[k]
                close = c.score >= best - COMPLETION_MARGIN
                if close and ranking.covers_entities(c) and not _redundant(c, chosen, ranking.question):
                    chosen = [*chosen[: MAX_SENTENCES - 1], c]
        if not chosen:
            return Draft([], [], confidence)
        pieces, citations = _cite(question, chosen)
        return Draft(pieces, citations, confidence)


def _cite(question: str, chosen: list[Candidate]) -> tuple[list[AnswerPiece], list[Citation]]:
    """Order the sentences (articles by their best sentence, then position), number the chunks and mark each
    citation's answer span: that of its sentence with the best type match (offsets within the quote)."""
    doc_rank: dict[str, int] = {}
    for c in chosen:
        doc_rank.setdefault(c.hit.doc_id, len(doc_rank))
    ordered = sorted(chosen, key=lambda c: (doc_rank[c.hit.doc_id], c.abs_start))
    spans: dict[str, tuple[Hit, int, int]] = {}
    numbers: dict[str, int] = {}
    answers: dict[str, tuple[float, int, int]] = {}  # chunk -> (type match, start, end in the chunk text)
    pieces: list[AnswerPiece] = []
    for c in ordered:
        cid = c.hit.chunk_id
        n = numbers.setdefault(cid, len(numbers) + 1)
        hit, lo, hi = spans.get(cid, (c.hit, c.start, c.end))
        spans[cid] = (hit, min(lo, c.start), max(hi, c.end))
        pieces.append(AnswerPiece(c.text, n))
        span = qt.answer_span(question, _raw(c))
        if span is not None and (cid not in answers or c.typed > answers[cid][0]):
            answers[cid] = (c.typed, c.start + span[0], c.start + span[1])
    citations = []
    for cid, n in numbers.items():
        hit, lo, hi = spans[cid]
        marked = answers.get(cid)
        citations.append(
            Citation(n=n, doc_id=hit.doc_id, chunk_id=hit.chunk_id, title=hit.title, url=hit.url,
                     source=hit.source, published_at=hit.published_at, quote=hit.text[lo:hi],
                     char_start=hit.char_start + lo, char_end=hit.char_start + hi,
                     answer_start=marked[1] - lo if marked else None, answer_end=marked[2] - lo if marked else None)
        )
    return pieces, citations
