"""Support checking of generated answer sentences against cited passages, and answer splitting into claims."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.embedding import Embedder
from service.answering.support import Claim, SupportChecker, split_claims

HARBOR = (
    "The Port of Kestrel Bay reopened to cargo ships on Friday, eleven days after Storm Halvard tore through the "
    "harbor and sank two tugboats at their moorings. Harbor master Elin Sandvik said the first container ship, "
    "the Nordic Lark, docked at 6 a.m. carrying fertilizer and spare parts for the region's fishing fleet.\n\n"
    "Engineers replaced 40 meters of the north breakwater and cleared roughly 3,000 tonnes of debris from the "
    "main channel, according to the port authority. The closure cost local businesses an estimated 12 million "
    "euros, the regional chamber of commerce said. Fish exporters were hit hardest because their catch could "
    "not leave the island.\n\nSandvik said full capacity would return by the end of April, once a second crane "
    "arrives from Rotterdam."
)
LIBRARY = (
    "The Riverside city council voted 7 to 2 on Monday to double the annual budget for public libraries, raising "
    "it to 4.8 million dollars. Library director Aiko Tanaka said visits rose 18 percent last year, driven by "
    "homework clubs and free digital skills classes for older residents. The new budget takes effect on July 1, "
    "2026."
)


# --- claims -----------------------------------------------------------------------------------------------------
def claims(answer: str) -> list[tuple[str, list[int]]]:
    return [(c.text, c.markers) for c in split_claims(answer)]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("The port reopened on Friday [1]. Two tugboats sank [2].",
         [("The port reopened on Friday.", [1]), ("Two tugboats sank.", [2])]),
        ("The port reopened on Friday. [1] Two tugboats sank. [2][3]",
         [("The port reopened on Friday.", [1]), ("Two tugboats sank.", [2, 3])]),
        ("The port reopened [1][2]. It cost 12 million euros [1, 3].",
         [("The port reopened.", [1, 2]), ("It cost 12 million euros.", [1, 3])]),
        ("The port reopened [1] [2]. It cost 12 million euros.[3]",
         [("The port reopened.", [1, 2]), ("It cost 12 million euros.", [3])]),
        ("The port, which reopened on Friday [1], lost two tugboats [2].",
         [("The port, which reopened on Friday, lost two tugboats.", [1, 2])]),
        ("The council voted 7 to 2 [2-4]. Visits rose [1; 2].",
         [("The council voted 7 to 2.", [2, 3, 4]), ("Visits rose.", [1, 2])]),
        ("Visits rose 18 percent [1][1]. No marker here.",
         [("Visits rose 18 percent.", [1]), ("No marker here.", [])]),
    ],
)
def test_split_claims_markers(answer: str, expected: list[tuple[str, list[int]]]) -> None:
    assert claims(answer) == expected


def test_split_claims_lines_bullets_and_lone_markers() -> None:
    answer = (
        "Here is what the articles say:\n\n"
        "- The port reopened on Friday [1].\n"
        "* Engineers replaced 40 meters of breakwater [2]\n"
        "2. Full capacity returns by April.\n"
        "[3]\n"
        "**Costs:** local businesses lost 12 million euros [1]."
    )
    assert claims(answer) == [
        ("Here is what the articles say:", []),
        ("The port reopened on Friday.", [1]),
        ("Engineers replaced 40 meters of breakwater", [2]),
        ("Full capacity returns by April.", [3]),
        ("Costs: local businesses lost 12 million euros.", [1]),
    ]


def test_split_claims_keeps_words_apart_and_handles_empty() -> None:
    assert claims("It reopened.[1]Then it closed [2].") == [("It reopened.", [1]), ("Then it closed.", [2])]
    assert claims("[1] It reopened.") == [("It reopened.", [1])]
    assert split_claims("") == [] and split_claims("  \n\n") == []
    assert isinstance(split_claims("A b c.")[0], Claim)


# --- support ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def checker(embedder: Embedder) -> SupportChecker:
    return SupportChecker(embedder)


def test_supported_paraphrase_passes_with_a_tight_verbatim_span(checker: SupportChecker) -> None:
    s = checker.check("Cargo ships could use the Port of Kestrel Bay again on Friday, eleven days after the storm.",
                      HARBOR)
    assert s.supported, s
    assert s.missing == ()
    assert s.quote == HARBOR[s.start : s.end]
    assert s.quote.startswith("The Port of Kestrel Bay reopened") and s.quote.endswith("moorings.")


@pytest.mark.parametrize(
    ("sentence", "passage", "missing"),
    [
        ("Engineers replaced 50 meters of the north breakwater, the port authority said.", HARBOR, ("50",)),
        ("The new library budget takes effect on July 1, 2025.", LIBRARY, ("2025",)),
        ("The new library budget takes effect on June 1, 2026.", LIBRARY, ("June",)),
        ("Harbor master Elin Lindqvist said the first container ship docked at 6 a.m.", HARBOR, ("Lindqvist",)),
        ("Library director Aiko Tanaka said visits rose 81 percent last year.", LIBRARY, ("81 percent",)),
        ("The Riverside city council did not vote to double the annual budget for public libraries.", LIBRARY,
         ("not",)),
    ],
)
def test_wrong_number_date_name_or_negation_fails_even_when_close(
    checker: SupportChecker, sentence: str, passage: str, missing: tuple[str, ...]
) -> None:
    s = checker.check(sentence, passage)
    assert not s.supported
    assert s.missing == missing
    assert s.semantic > 0.6 and s.lexical > 0.6  # close in meaning and wording: only the hard rule rejects it
    assert s.quote == passage[s.start : s.end]


def test_normalised_numbers_dates_and_names_are_found(checker: SupportChecker) -> None:
    passage = ("Officials in the U.S. said 5 percent of the 1,000 surveyed residents had left by Jan. 15. "
               "Kevin McCarthy criticised the survey. McCarthy said it was rushed.")
    for sentence in [
        "In the United States, 5% of 1000 surveyed residents had left by January 15, officials said.",
        "Kevin McCarthy said the survey was rushed.",  # full name introduced earlier in the passage
    ]:
        s = checker.check(sentence, passage)
        assert s.missing == (), (sentence, s)
        assert s.supported, (sentence, s)


def test_unrelated_passage_is_not_support(checker: SupportChecker) -> None:
    s = checker.check("Library visits rose 18 percent last year thanks to homework clubs.", HARBOR)
    assert not s.supported
    assert s.quote == HARBOR[s.start : s.end]


def test_span_stays_within_one_sentence_when_one_suffices(checker: SupportChecker) -> None:
    s = checker.check("Fish exporters suffered most, since their catch could not leave the island.", HARBOR)
    assert s.supported
    assert s.quote == "Fish exporters were hit hardest because their catch could not leave the island."
    assert HARBOR[s.start : s.end] == s.quote


def test_span_joins_sentences_when_the_claim_needs_both(checker: SupportChecker) -> None:
    s = checker.check("The Riverside council doubled the library budget, and visits rose 18 percent last year.",
                      LIBRARY)
    assert s.supported, s
    assert "voted 7 to 2" in s.quote and "18 percent" in s.quote
    assert LIBRARY[s.start : s.end] == s.quote


class CountingEncoder:
    def __init__(self, inner: Embedder) -> None:
        self.inner, self.calls = inner, 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return self.inner.encode(texts)


def test_check_many_embeds_once_and_agrees_with_check(embedder: Embedder, checker: SupportChecker) -> None:
    counting = CountingEncoder(embedder)
    batch = SupportChecker(counting, threshold=checker.threshold)
    pairs = [
        ("Engineers cleared about 3,000 tonnes of debris from the main channel.", HARBOR),
        ("Engineers cleared about 3,000 tonnes of debris from the main channel.", LIBRARY),
        ("The council voted 7 to 2 to double the library budget.", LIBRARY),
        ("", HARBOR),
        ("The council voted 7 to 2.", ""),
    ]
    many = batch.check_many(pairs)
    assert counting.calls == 1
    assert [s.supported for s in many] == [True, False, True, False, False]
    for (sentence, passage), s in zip(pairs, many, strict=True):
        one = checker.check(sentence, passage)
        assert (one.start, one.end, one.supported, one.missing) == (s.start, s.end, s.supported, s.missing)
        assert one.score == pytest.approx(s.score, abs=1e-3)
        assert s.quote == passage[s.start : s.end]
    assert batch.check_many([]) == [] and counting.calls == 1
