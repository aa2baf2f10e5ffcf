"""The composer's candidate pre-rank types only the sentences that can still make the cut (issue 13: the type
match is most of composing's cost), and must pick exactly what typing every sentence picks."""

from __future__ import annotations

import pytest

from indexer.payload import Hit
from service.answering import extractive as ex
from service.answering import question_type as qt
from tests.conftest import SAMPLES

QUESTIONS = [
    "What did Russia promise Mali?",
    "When did the French troops leave Mali?",
    "How many people visited the library last year?",
    "Who is the mayor of the harbor town?",
    "Why was the volcano alert raised?",
    "Which company builds the solar farm?",
]


def _hits() -> list[Hit]:
    """Every sample article cut into 600-character chunks, scored in a fixed decreasing order."""
    hits: list[Hit] = []
    for path in sorted(SAMPLES.glob("*.md")) + sorted(SAMPLES.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for k, start in enumerate(range(0, len(text), 600)):
            chunk = text[start : start + 600]
            n = len(hits)
            hits.append(Hit(doc_id=path.name, chunk_id=f"{path.name}#{k}", score=1.0 - n / 100, title=path.stem,
                            url=None, source=None, published_at=None, text=chunk, char_start=start,
                            char_end=start + len(chunk), dense_score=0.6 - (n % 7) / 20))
    return hits


def _typing_everything(question: ex.Question, hits: list[Hit], limit: int) -> list[tuple[str, int, float]]:
    everything = ex._candidates(question, hits, limit=10_000)
    for c in everything:  # the pruned path may have skipped some: type them all
        c.typed = qt.type_match(question.text, ex._raw(c))
    ranked = sorted(enumerate(everything), key=lambda ic: (-ex._prescore(ic[1]), ic[0]))
    return [(c.hit.chunk_id, c.start, c.typed) for _, c in ranked[:limit]]


@pytest.mark.parametrize("limit", [1, 3, 8, 40])
def test_pruned_pre_rank_equals_typing_every_sentence(limit: int) -> None:
    hits = _hits()
    assert len(hits) > 10
    for text in QUESTIONS:
        q = ex.Question.parse(text)
        got = [(c.hit.chunk_id, c.start, c.typed) for c in ex._candidates(q, hits, limit)]
        assert got == _typing_everything(q, hits, limit), text


def test_pruning_skips_sentences_that_cannot_make_the_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = qt.type_match

    def counting(question: str, sentence: str) -> float:
        calls.append(sentence)
        return real(question, sentence)

    monkeypatch.setattr(qt, "type_match", counting)
    hits = _hits()
    q = ex.Question.parse(QUESTIONS[0])
    everything = len(ex._candidates(q, hits, limit=10_000))
    calls.clear()
    ex._candidates(q, hits, limit=3)
    assert 3 <= len(calls) < everything
