"""The extractive composer with a learned reader: the project's cross-encoder (``service.answering.scorer``)
chooses the sentence that states the answer, and its calibrated probability decides whether there is one.

1. candidates: every quotable sentence of the retrieved chunks (``extractive.sentence_candidates``), pre-ranked
   by ``cos(stored sentence vector, query vector) + question-term coverage``: a dot product each, no model
   call; the best ``candidates`` (``NEWSDESK_ANSWER_CANDIDATES``) go on;
2. reading: the cross-encoder scores (question, title + sentence) for those, in one batch; its calibrated
   probability orders them;
3. found gate: the best probability must reach the calibrated threshold (``scorer_model/calibration.json``,
   chosen on held-out SQuAD articles by ``eval.export_scorer``), and the sentence's article must mention the
   question's subjects (``Ranking.covers_entities``, as in the rules composer);
4. concise: the best sentence; a second only when it too more likely than not states the answer
   (probability >= max(threshold, 0.5)) and does not repeat the first (syndicated copies, overlapping chunks);
5. citations as in the rules composer (``extractive._cite``), with the asked-for span marked.

The rules composer (``ExtractiveComposer``, ``NEWSDESK_ANSWER_SCORER=rules``) stays as the baseline that
evals compare against in the same run.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from indexer.payload import Hit
from service.answering.extractive import (
    Candidate,
    Question,
    Ranking,
    _cite,
    _context_terms,
    sentence_candidates,
)
from service.answering.scorer import AnswerScorer, passage_text
from service.answering.types import Draft

DEFAULT_CANDIDATES = 16
SECOND_SENTENCE_PROBABILITY = 0.5
"""A second sentence is added only when the scorer finds it more likely than not to state the answer too."""
DUPLICATE_COSINE = 0.88


class LearnedComposer:
    """Answers with the sentence the cross-encoder rates most likely to state the answer, cited."""

    name = "extractive"

    def __init__(self, scorer: AnswerScorer, candidates: int = DEFAULT_CANDIDATES) -> None:
        self.scorer = scorer
        self.candidates = candidates

    def rank(self, question: str, hits: list[Hit], query_vector: list[float] | None = None) -> Ranking:
        """The pre-ranked candidates of ``hits``, scored by the cross-encoder (``score``: calibrated
        probability), best first."""
        q = Question.parse(question)
        pool = sentence_candidates(q, hits) if q.terms else []
        qvec = np.asarray(query_vector, dtype=np.float32) if query_vector is not None else None
        stored: dict[str, dict[tuple[int, int], np.ndarray]] = {}
        for c in pool:
            if c.hit.sentences is not None and c.hit.chunk_id not in stored:
                stored[c.hit.chunk_id] = c.hit.sentences.by_span()
            c.vector = stored.get(c.hit.chunk_id, {}).get((c.start, c.end))
            if c.vector is not None and qvec is not None:
                c.cosine = float(c.vector @ qvec)
            else:  # a chunk indexed before sentence vectors were stored: its own dense score stands in
                c.cosine = c.hit.dense_score if c.hit.dense_score is not None else 0.0
            c.relevance = c.cosine + c.lexical
        pool.sort(key=lambda c: (-c.relevance, c.hit_index))
        top = pool[: self.candidates]
        if top:
            probs = self.scorer.probabilities(question, [passage_text(c.hit.title, c.text) for c in top])
            for c, p in zip(top, probs, strict=True):
                c.score = float(p)
            top.sort(key=lambda c: -c.score)
        return Ranking(q, top, _context_terms(hits))

    def compose(self, question: str, hits: list[Hit], query_vector: list[float] | None = None,
                on_token: Callable[[str], None] | None = None) -> Draft:
        ranking = self.rank(question, hits, query_vector)
        ranked = ranking.candidates
        if not ranked:
            return Draft([], [])
        confidence = ranked[0].score
        threshold = self.scorer.found_threshold
        chosen: list[Candidate] = []
        if confidence >= threshold:
            for c in ranked:
                if not ranking.covers_entities(c):
                    continue
                if not chosen:
                    chosen.append(c)
                    continue
                if c.score < max(threshold, SECOND_SENTENCE_PROBABILITY):
                    break
                if not _repeats(c, chosen[0]):
                    chosen.append(c)
                    break
        if not chosen:
            return Draft([], [], confidence)
        pieces, citations = _cite(question, chosen)
        return Draft(pieces, citations, confidence)


def _repeats(c: Candidate, other: Candidate) -> bool:
    """Near-duplicate sentences (overlapping chunks of syndicated text): by stored vectors, else by terms."""
    if c.vector is not None and other.vector is not None:
        return float(c.vector @ other.vector) >= DUPLICATE_COSINE
    return len(c.terms & other.terms) / max(1, min(len(c.terms), len(other.terms))) >= 0.7
