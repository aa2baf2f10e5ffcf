"""One question pipeline behind every question path: JSON /v1/ask, its SSE stream and /v1/chat/completions
(streamed and not) give the same answer and citations for the same question, through real HTTP."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.chat.helpers import sse_events

QUESTIONS = [
    "When did the Port of Kestrel Bay reopen to cargo ships?",
    "How many homes will the desert solar farm supply?",
    "Why was the volcano alert level raised?",
    "What is the population of Mongolia?",  # not found: the same refusal everywhere
]


def _json(url: str, q: str) -> dict[str, object]:
    body = httpx.post(f"{url}/v1/ask", json={"question": q}, timeout=60).json()
    return {"answer": body["answer"], "citations": body["citations"], "found": body["found"]}


def _sse(url: str, q: str) -> dict[str, object]:
    with httpx.stream("POST", f"{url}/v1/ask", json={"question": q, "stream": True}, timeout=60) as resp:
        done = next(d for e, d in sse_events(resp.iter_lines()) if e == "done")
    return {"answer": done["answer"], "citations": done["citations"], "found": done["found"]}


def _chat(url: str, q: str) -> dict[str, object]:
    body = httpx.post(f"{url}/v1/chat/completions", json={"messages": [{"role": "user", "content": q}]},
                      timeout=60).json()
    content = body["choices"][0]["message"]["content"]
    return {"answer": content.split("\n\n**Sources**")[0], "citations": body["citations"], "found": body["found"]}


def _chat_stream(url: str, q: str) -> dict[str, object]:
    body = {"messages": [{"role": "user", "content": q}], "stream": True}
    pieces, final = [], {}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=60) as resp:
        for line in resp.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk["choices"] and chunk["choices"][0]["finish_reason"] == "stop":
                final = chunk
            elif chunk["choices"]:
                pieces.append(chunk["choices"][0]["delta"].get("content") or "")
    content = "".join(pieces)
    return {"answer": content.split("\n\n**Sources**")[0], "citations": final["citations"], "found": final["found"]}


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_path_gives_the_same_answer(chat_url: str, question: str) -> None:
    reference = _json(chat_url, question)
    assert reference["answer"]
    for path in (_sse, _chat, _chat_stream):
        assert path(chat_url, question) == reference, path.__name__
