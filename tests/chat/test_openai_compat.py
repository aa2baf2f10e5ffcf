"""The OpenAI-compatible endpoints, driven by the official ``openai`` client against the running service."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from service.answering import NOT_FOUND_ANSWER
from service.openai_wire import ChatCompletionRequest
from tests.chat.conftest import API_KEY

QUESTION = "When did the Port of Kestrel Bay reopen to cargo ships?"
HARBOR_URL = "https://example.org/coastal-ledger/kestrel-bay-port-reopens"
HARBOR_TITLE = "Storm-damaged Port of Kestrel Bay reopens to cargo ships"


def _client(url: str, key: str = "unused") -> OpenAI:
    return OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=60)


def _user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def _check_sources(content: str, citations: list[dict[str, Any]]) -> None:
    answer, _, sources = content.partition("\n\n**Sources**\n\n")
    assert sources, content
    for c in citations:
        assert f"[{c['n']}]" in answer
        assert f"{c['n']}. [{c['title']}](<{c['url']}>)" in sources


def test_models(chat_url: str) -> None:
    with _client(chat_url) as client:
        assert [m.id for m in client.models.list()] == ["newsdesk"]
        assert client.models.retrieve("newsdesk").owned_by == "newsdesk"
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve("gpt-4o")


def test_chat_completion(chat_url: str) -> None:
    with _client(chat_url) as client:
        resp = client.chat.completions.create(model="newsdesk", messages=[_user(QUESTION)])  # type: ignore[list-item]
    assert resp.object == "chat.completion" and resp.model == "newsdesk"
    choice = resp.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    extra = resp.model_extra or {}
    citations = extra["citations"]
    assert extra["found"] is True and citations
    assert citations[0]["n"] == 1 and citations[0]["url"] == HARBOR_URL and citations[0]["title"] == HARBOR_TITLE
    assert citations[0]["quote"] and citations[0]["char_end"] > citations[0]["char_start"]
    content = choice.message.content or ""
    _check_sources(content, citations)
    assert "reopened" in content
    assert resp.usage is not None and resp.usage.completion_tokens > 0
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens


def test_chat_completion_stream(chat_url: str) -> None:
    with _client(chat_url) as client:
        plain = client.chat.completions.create(model="newsdesk", messages=[_user(QUESTION)])  # type: ignore[list-item]
        stream = client.chat.completions.create(
            model="newsdesk", messages=[_user(QUESTION)], stream=True,  # type: ignore[list-item]
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == plain.choices[0].message.content
    final = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert len(final) == 1
    extra = final[0].model_extra or {}
    assert extra["found"] is True
    assert extra["citations"] == (plain.model_extra or {})["citations"]
    _check_sources(content, extra["citations"])
    assert chunks[-1].choices == [] and chunks[-1].usage is not None  # include_usage: the last chunk
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) >= 2  # answer, then sources


def test_stream_ends_with_done_marker(chat_url: str) -> None:
    body = {"model": "newsdesk", "stream": True, "messages": [_user(QUESTION)]}
    with httpx.stream("POST", f"{chat_url}/v1/chat/completions", json=body, timeout=60) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in resp.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"


def test_not_found(chat_url: str) -> None:
    with _client(chat_url) as client:
        resp = client.chat.completions.create(
            model="newsdesk", messages=[_user("What is the population of Mongolia?")]  # type: ignore[list-item]
        )
    assert resp.choices[0].message.content == NOT_FOUND_ANSWER
    assert (resp.model_extra or {})["found"] is False and (resp.model_extra or {})["citations"] == []


def test_follow_up_keeps_the_subject(chat_url: str) -> None:
    messages = [
        {"role": "system", "content": "You are a news assistant."},
        _user("How much did the city council raise the library budget?"),
        {"role": "assistant", "content": "It doubled it [1]."},
        _user("And who opposed it?"),
    ]
    with _client(chat_url) as client:
        alone = client.chat.completions.create(model="newsdesk", messages=[messages[-1]])  # type: ignore[list-item]
        resp = client.chat.completions.create(model="newsdesk", messages=messages)  # type: ignore[arg-type]
    assert (alone.model_extra or {})["found"] is False  # on its own the follow-up has no subject
    citations = (resp.model_extra or {})["citations"]
    assert citations and {c["doc_id"] for c in citations} == {"library-funding.md"}
    # the response says which standalone query it answered: the follow-up with the subject carried over
    query = (resp.model_extra or {})["standalone_query"]
    assert query.startswith("who opposed it?") or query.startswith("Who opposed it?"), query
    assert "library" in query.lower() and "council" in query.lower()


def test_content_parts_count_as_text() -> None:
    req = ChatCompletionRequest.model_validate(
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "Who is Elin Sandvik?"}]}]})
    assert req.user_turns() == ["Who is Elin Sandvik?"]


def test_bad_requests(chat_url: str) -> None:
    with _client(chat_url) as client:
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(
                model="newsdesk", messages=[{"role": "system", "content": "no question"}]
            )
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model="newsdesk", messages=[])


def test_api_key(keyed_url: str) -> None:
    with _client(keyed_url, "wrong") as client, pytest.raises(openai.AuthenticationError):
        client.models.list()
    with _client(keyed_url, "wrong") as client, pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="newsdesk", messages=[_user(QUESTION)])  # type: ignore[list-item]
    with _client(keyed_url, API_KEY) as client:
        assert [m.id for m in client.models.list()] == ["newsdesk"]
        stream = client.chat.completions.create(
            model="newsdesk", messages=[_user(QUESTION)], stream=True  # type: ignore[list-item]
        )
        content = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert "**Sources**" in content and HARBOR_URL in content
