"""Follow-ups made standalone by a real language model (llama.cpp server), and through the chat endpoint."""

from __future__ import annotations

import httpx

from service.answering.rewrite import ModelRewriter
from service.settings import ServiceSettings
from tests.llm.test_generated_answers import MALI


def test_the_model_rewrites_a_follow_up(llm_settings: ServiceSettings) -> None:
    rewriter = ModelRewriter(llm_settings.model_copy(update={"llm_rewrite_timeout_s": 300.0}))
    rewrite = rewriter.rewrite([MALI, "and what about fertilizers?"])
    assert rewrite.by == "model", rewrite
    assert "mali" in rewrite.query.lower() and "fertiliz" in rewrite.query.lower(), rewrite.query
    # a question that names its own subject is not sent to the model
    own = rewriter.rewrite([MALI, "When did the Port of Kestrel Bay reopen to cargo ships?"])
    assert own.by == "rule" and own.query == "When did the Port of Kestrel Bay reopen to cargo ships?"


def test_chat_follow_up_is_answered_from_its_subject(llm_url: str) -> None:
    messages = [{"role": "user", "content": MALI}, {"role": "assistant", "content": "Russia promised help [1]."},
                {"role": "user", "content": "and what about fertilizers?"}]
    body = httpx.post(f"{llm_url}/v1/chat/completions", json={"messages": messages, "composer": "extractive"},
                      timeout=900).json()
    assert "mali" in body["standalone_query"].lower(), body["standalone_query"]
    assert body["found"] and any(c["doc_id"] == "mali-lavrov-visit.md" for c in body["citations"])
