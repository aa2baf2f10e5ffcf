"""The model rewriter's guard rails: what counts as a query, and the rule standing in when the model fails.

The model itself is exercised in tests/llm/test_followup_rewrite.py; here a scripted client plays the server's
part so that each failure (timeout, unreachable, a reply that is not a query) is produced on purpose.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import openai
import pytest

from service.answering.followup import standalone_query
from service.answering.rewrite import ModelRewriter, clean_reply
from service.settings import ServiceSettings

TURNS = ["What did Russia promise Mali?", "and what about fertilizers?"]


@pytest.mark.parametrize(("reply", "expected"), [
    ("What did Russia promise Mali about fertilizers?", "What did Russia promise Mali about fertilizers?"),
    ("Query: What did Russia promise Mali about fertilizers?", "What did Russia promise Mali about fertilizers?"),
    ('"Russia Mali fertilizers promise"', "Russia Mali fertilizers promise"),
    ("", None),
    ("NOT FOUND", None),
    ("Russia promised Mali wheat and petroleum products.", None),  # an answer: no word of the follow-up is left
    ("Which fertilizer deals did Russia offer Mali?", "Which fertilizer deals did Russia offer Mali?"),
    ("Did Russia offer Mali anything else?", "Did Russia offer Mali anything else?"),  # a question: kept
    ("What about fertilizers in Mali?\nEarlier questions:\n1. ...", "What about fertilizers in Mali?"),  # the first line
    ("fertilizers " * 80, None),
])
def test_clean_reply(reply: str, expected: str | None) -> None:
    assert clean_reply(reply, TURNS) == expected


class _Client:
    """Stands in for ``openai.OpenAI``: answers ``reply`` or raises ``error``, and counts the calls."""

    def __init__(self, reply: str = "", error: Exception | None = None) -> None:
        self.calls = 0
        self.reply, self.error = reply, error
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self.create))

    def create(self, **_: Any) -> Any:
        self.calls += 1
        if self.error:
            raise self.error
        return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=self.reply))])


def _rewriter(client: _Client) -> ModelRewriter:
    settings = ServiceSettings(_env_file=None, llm_base_url="http://127.0.0.1:9/v1")  # type: ignore[call-arg]
    return ModelRewriter(settings, client)  # type: ignore[arg-type]


def test_the_models_query_is_used() -> None:
    client = _Client("What did Russia promise Mali about fertilizers?")
    rewrite = _rewriter(client).rewrite(TURNS)
    assert (rewrite.query, rewrite.by, client.calls) == ("What did Russia promise Mali about fertilizers?", "model", 1)


def test_a_standalone_question_is_not_sent_to_the_model() -> None:
    client = _Client("anything")
    turns = [TURNS[0], "How many homes will the Sahel solar farm supply?"]
    assert _rewriter(client).rewrite(turns).query == turns[1] and client.calls == 0


request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")


@pytest.mark.parametrize(("client", "why"), [
    (_Client(error=openai.APITimeoutError(request)), "rule:llm_timeout"),
    (_Client(error=openai.APIConnectionError(request=request)), "rule:llm_unreachable"),
    (_Client("Russia promised Mali wheat."), "rule:llm_invalid"),
])
def test_the_rule_stands_in_when_the_model_fails(client: _Client, why: str) -> None:
    rewrite = _rewriter(client).rewrite(TURNS)
    assert rewrite.by == why and client.calls == 1
    assert rewrite.query == standalone_query(TURNS).query  # "What about fertilizers? (Mali, Russia, ...)"
