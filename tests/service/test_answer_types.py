"""The extractive composer answers the question's type: the sentence stating the asked-for fact (a year for
"when", an age for "at what age") wins over the article's lead, and the citation marks the fact in its quote.

Hand-made hits, the real embedding model (the scores under test mix its cosine with the lexical features)."""

from __future__ import annotations

import pytest

from indexer.embedding import Embedder
from service.answering import Draft, ExtractiveComposer
from service.answering import extractive as ex
from service.answering.citations import verify_citations
from service.retrieval import Hit

VOLCANO_Q = "Before the latest eruption, when had the world's largest active volcano last erupted?"
VOLCANO = (
    "Mauna Loa, the world's largest active volcano, is erupting for the first time in nearly 40 years. "
    "Lava fountains lit up the night sky over Hawaii's Big Island on Monday, officials said. "
    "It last erupted in 1984, when lava flows came within a few miles of the city of Hilo."
)
AGE_Q = "At what age did the actress Cindy Williams die?"
AGE = (
    "Actress Cindy Williams, who starred in the sitcom “Laverne & Shirley,” has died, her family said on "
    "Monday. Williams died in Los Angeles on Wednesday at age 75 after a short illness, her children said. "
    "She was best known for playing Shirley Feeney opposite Penny Marshall."
)


def _hit(doc_id: str, title: str, text: str, char_start: int = 0, rank: int = 0) -> Hit:
    return Hit(doc_id=doc_id, chunk_id=f"{doc_id}#{rank}", score=1.0 / (1 + rank), title=title, url=None,
               source=None, published_at=None, text=text, char_start=char_start, char_end=char_start + len(text))


@pytest.fixture(scope="module")
def composer(embedder: Embedder) -> ExtractiveComposer:
    return ExtractiveComposer(embedder)


def _ranked(composer: ExtractiveComposer, question: str, hits: list[Hit]) -> list[ex.Candidate]:
    return composer.rank(question, hits).candidates


def _marked(draft: Draft) -> list[str]:
    return [c.quote[c.answer_start : c.answer_end] for c in draft.citations
            if c.answer_start is not None and c.answer_end is not None]


def test_volcano_the_sentence_with_the_year_wins_over_the_lead(composer: ExtractiveComposer) -> None:
    hits = [_hit("volcano", "Mauna Loa erupts", VOLCANO, char_start=250)]
    ranked = _ranked(composer, VOLCANO_Q, hits)
    assert "1984" in ranked[0].text
    lead = next(c for c in ranked if c.text.startswith("Mauna Loa"))
    # the lead matches more of the question's words; without the type feature it would win
    assert lead.lexical > ranked[0].lexical
    assert lead.score - ex.TYPE_W * lead.typed > ranked[0].score - ex.TYPE_W * ranked[0].typed
    draft = composer.compose(VOLCANO_Q, hits)
    # the found-gate's confidence is the best match of a sentence to the question, whatever its type
    assert draft.score == pytest.approx(max(c.relevance for c in ranked))
    # shown in article order: the lead may come along (it is within the margin), the year is there
    assert any("1984" in p.text for p in draft.pieces)
    assert _marked(draft) == ["1984"]
    c = draft.citations[0]
    assert VOLCANO[c.char_start - 250 : c.char_end - 250] == c.quote
    # the pipeline's verifier keeps it, span and all
    checked = verify_citations(draft, hits)
    assert checked.citations and checked.citations[0].answer_start == c.answer_start


def test_age_sentence_wins_over_the_death_announcement(composer: ExtractiveComposer) -> None:
    hits = [_hit("williams", "Cindy Williams dies", AGE)]
    ranked = _ranked(composer, AGE_Q, hits)
    assert "age 75" in ranked[0].text
    death = next(c for c in ranked if c.text.startswith("Actress"))
    assert death.lexical >= ranked[0].lexical
    draft = composer.compose(AGE_Q, hits)
    assert any("age 75" in p.text for p in draft.pieces)
    assert _marked(draft) == ["75"]


def test_completion_adds_the_sentence_with_the_fact(composer: ExtractiveComposer,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # without the type feature the lead alone is chosen; the completion step still adds the year
    monkeypatch.setattr(ex, "TYPE_W", 0.0)
    monkeypatch.setattr(ex, "SELECT_MARGIN", 0.0)
    hits = [_hit("volcano", "Mauna Loa erupts", VOLCANO)]
    draft = composer.compose(VOLCANO_Q, hits)
    texts = [p.text for p in draft.pieces]
    assert len(texts) == 2 and texts[0].startswith("Mauna Loa") and "1984" in texts[1]
    assert _marked(draft) == ["1984"]
    # beyond the completion margin it is not added
    monkeypatch.setattr(ex, "COMPLETION_MARGIN", 0.0)
    draft = composer.compose(VOLCANO_Q, hits)
    assert [p.text[:9] for p in draft.pieces] == ["Mauna Loa"] and _marked(draft) == []


def test_untyped_questions_mark_nothing_and_rank_as_before(composer: ExtractiveComposer) -> None:
    q = "What did the family of Cindy Williams say about her illness?"
    hits = [_hit("williams", "Cindy Williams dies", AGE)]
    ranked = _ranked(composer, q, hits)
    assert {c.typed for c in ranked} == {ex.qt.NEUTRAL}
    draft = composer.compose(q, hits)
    assert draft.citations and all(c.answer_start is None and c.answer_end is None for c in draft.citations)


def test_span_offsets_hold_across_sentences_of_one_chunk(composer: ExtractiveComposer) -> None:
    # two sentences of one chunk in one citation: the span is relative to the quote, which starts earlier
    text = ("The Kestrel ferry will carry 420 passengers from May onwards, the operator said. "
            "The Kestrel ferry service first sailed in 1996 and was paused in 2020.")
    hits = [_hit("ferry", "Kestrel ferry", text, char_start=40)]
    draft = composer.compose("In what year did the Kestrel ferry service first sail?", hits)
    assert draft.citations
    c = draft.citations[0]
    assert c.answer_start is not None and c.answer_end is not None
    assert 0 <= c.answer_start < c.answer_end <= len(c.quote)
    assert c.quote[c.answer_start : c.answer_end] == "1996"
