"""Follow-up rewriting without a language model: detection, what is carried, and in which order."""

from __future__ import annotations

import pytest

from service.answering.followup import (
    MAX_CARRIED,
    MAX_ENTITIES,
    entities,
    is_follow_up,
    key_terms,
    standalone_query,
)

RUSSIA = "What did Russia promise Mali?"


def test_a_first_turn_is_left_alone() -> None:
    r = standalone_query([RUSSIA])
    assert (r.query, r.rewritten, r.carried) == (RUSSIA, False, [])


def test_and_what_about_carries_the_subject() -> None:
    r = standalone_query([RUSSIA, "and what about fertilizers?"])
    assert r.rewritten
    assert r.carried[:2] == ["Russia", "Mali"]  # names first, capitalised for the answer's entity check
    assert "promise" in r.carried
    assert r.query.startswith("What about fertilizers?")  # the leading 'and' is dropped
    assert all(term in r.query for term in r.carried)


def test_the_third_turn_keeps_the_first_turns_subject_most_recent_terms_first() -> None:
    r = standalone_query([RUSSIA, "and what about fertilizers?", "when did he say that?"])
    assert r.rewritten and {"Russia", "Mali"} <= set(r.carried)
    # the previous prepend heuristic would query "and what about fertilizers? when did he say that?": no subject
    assert r.carried.index("fertilizers") < r.carried.index("promise")


@pytest.mark.parametrize(
    "text",
    ["and what about fertilizers?", "What about Leeds?", "who else was there?", "Did they win too?",
     "how big was the fine?", "when did he say that?", "why?", "which river did it cross?"],
)
def test_follow_ups_are_recognised(text: str) -> None:
    assert is_follow_up(text)


@pytest.mark.parametrize(
    "text",
    ["Who proposed doubling the library budget in Riverside?", "Why did NASCAR suspend Chase Elliott?",
     "When did Lavrov visit Bamako?", "Did Lavrov say it in Bamako?"],
)
def test_questions_naming_their_own_subject_are_not_follow_ups(text: str) -> None:
    assert not is_follow_up(text)
    assert standalone_query([RUSSIA, text]) == standalone_query([text])


def test_a_new_name_after_an_opener_keeps_the_old_subject_too() -> None:
    r = standalone_query(["Which club was relegated from the Premier League?", "What about Leeds?"])
    assert r.rewritten and "Premier League" in r.carried and "Leeds" not in r.carried
    assert r.query.startswith("What about Leeds?")


def test_terms_the_turn_already_says_are_not_carried_again() -> None:
    r = standalone_query(["How much did the Riverside library budget rise?", "and the budgets for roads?"])
    assert r.rewritten and "Riverside" in r.carried
    assert "budget" not in r.carried  # 'budgets' is the same term once stemmed


def test_entities() -> None:
    assert entities("When did the Port of Kestrel Bay reopen?") == ["Port of Kestrel Bay"]
    assert entities("What did Sergei Lavrov say about Russia's wheat?") == ["Sergei Lavrov", "Russia"]
    assert entities("Russia will help Mali, Lavrov said.") == ["Russia", "Mali", "Lavrov"]
    assert entities("Scientists said the scientists were right") == []  # a common word opening a sentence
    assert entities("how big was the fine?") == []
    assert entities("Gao, the largest camp, went to Mali's army") == ["Gao", "Mali"]


def test_key_terms_drop_question_words_and_names() -> None:
    assert key_terms("How much did the Riverside council raise the library budget?") == [
        "council", "raise", "library", "budget",
    ]
    assert key_terms("Who won the women's race at Cooper's Hill?") == ["women", "race"]


def test_carried_terms_are_capped() -> None:
    long_turn = ("Did Alpha Beta, Gamma Delta, Epsilon, Zeta, Eta and Theta sign the river harbour "
                 "bridge railway tunnel airport treaty?")
    r = standalone_query([long_turn, "and then?"])
    names = [t for t in r.carried if t[0].isupper()]
    assert len(names) == MAX_ENTITIES and names[0] == "Alpha Beta"
    assert len(r.carried) == MAX_CARRIED


def test_blank_turns_are_ignored_and_no_turn_is_an_error() -> None:
    assert standalone_query(["  ", RUSSIA, ""]).query == RUSSIA
    with pytest.raises(ValueError):
        standalone_query(["", "  "])


def test_nothing_to_carry_leaves_the_turn_as_it_is() -> None:
    r = standalone_query(["why?", "and how?"])
    assert (r.query, r.rewritten, r.carried) == ("and how?", False, [])
