"""The generated composer's own checks, without a model: evidence selection, claim verification, not-found.

(The model itself is exercised in tests/llm/ against a real llama.cpp server.)"""

from __future__ import annotations

import pytest

from indexer.embedding import Embedder
from indexer.payload import Hit
from service.answering.extractive import ExtractiveComposer
from service.answering.generated import GeneratedComposer, _says_not_found, select_evidence
from service.answering.support import SupportChecker
from service.settings import ServiceSettings

SOLAR = ("The Sol Arena solar farm in the Varga desert began feeding electricity into the national grid on Thursday. "
         "The 320-megawatt plant covers 600 hectares and is expected to supply about 90,000 homes.")
PORT = ("The Port of Kestrel Bay reopened to cargo ships on Friday, eleven days after Storm Halvard. "
        "The closure cost local businesses an estimated 12 million euros.")


def _hit(doc: str, text: str, start: int = 40) -> Hit:
    return Hit(doc_id=doc, chunk_id=f"{doc}#0", score=1.0, title=doc, url=None, source=None, published_at=None,
               text=text, char_start=start, char_end=start + len(text))


@pytest.fixture(scope="module")
def composer(embedder: Embedder) -> GeneratedComposer:
    settings = ServiceSettings(_env_file=None, llm_base_url="http://127.0.0.1:9/v1")  # never called here
    return GeneratedComposer(settings, SupportChecker(embedder), ExtractiveComposer(embedder))


def test_evidence_spans_are_exact_chunk_text_within_the_budget() -> None:
    hits = [_hit("solar", SOLAR), _hit("port", PORT)]
    evidence = select_evidence("How many homes will the solar farm supply?", hits, budget_tokens=40)
    assert evidence and evidence[0].hit.doc_id == "solar" and "90,000 homes" in evidence[0].text
    for e in evidence:
        assert e.text == e.hit.text[e.start : e.end]
    assert [e.n for e in evidence] == list(range(1, len(evidence) + 1))
    assert len(select_evidence("solar farm homes", hits, budget_tokens=10_000)) == 2


def test_supported_sentences_keep_a_verbatim_quote_and_the_rest_goes(composer: GeneratedComposer) -> None:
    hits = [_hit("solar", SOLAR), _hit("port", PORT)]
    evidence = select_evidence("How many homes will the solar farm supply?", hits, budget_tokens=10_000)
    reply = ("The solar farm is expected to supply about 90,000 homes [1]. "
             "The plant covers 900 hectares [1]. The port reopened on Friday [7].")
    draft = composer.verify(reply, evidence)
    assert [p.text for p in draft.pieces] == ["The solar farm is expected to supply about 90,000 homes."]
    (c,) = draft.citations
    assert c.doc_id == "solar" and "90,000 homes" in c.quote
    assert SOLAR[c.char_start - 40 : c.char_end - 40] == c.quote  # located in the chunk, hence the article
    v = draft.verification
    assert v is not None and (v.markers_seen, v.markers_dropped, v.sentences_removed) == (3, 2, 2)


def test_an_unmarked_sentence_is_attributed_to_the_passage_that_supports_it(composer: GeneratedComposer) -> None:
    evidence = select_evidence("When did the port reopen?", [_hit("solar", SOLAR), _hit("port", PORT)], 10_000)
    draft = composer.verify("The Port of Kestrel Bay reopened to cargo ships on Friday.", evidence)
    assert [c.doc_id for c in draft.citations] == ["port"]
    assert draft.verification is not None and draft.verification.markers_inferred == 1


@pytest.mark.parametrize(("reply", "says"), [
    ("NOT FOUND", True), ("Not found.", True), ("  not found - the passages do not say", True),
    ("The port was not found to be damaged [1].", False), ("It reopened on Friday [1].", False),
])
def test_not_found_replies(reply: str, says: bool) -> None:
    assert _says_not_found(reply) is says
