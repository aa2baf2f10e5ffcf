"""The local runtime answers like an OpenAI chat-completions server, from the passage it is given.

Real ``python -m llama_cpp.server`` with a real GGUF (tests/llm_server.py), driven by the official ``openai`` client,
exactly as Newsdesk's generated-answer composer will drive it. The facts in the passage are invented, so the model
can only state them by reading the passage (the control without the passage shows the assertion can fail).
"""

from __future__ import annotations

import time

import pytest
from openai import OpenAI

from tests.llm_server import LlamaServer

PASSAGE = (
    "[1] Harbour News, 2024-03-02. The fishing town of Velmora opened a new lighthouse on Saturday. "
    "Its keeper, Ansel Quarrington, painted the tower green and named it the Wrenfield Light."
)
SYSTEM = "Answer the question using only the passage. Answer in one short sentence."
QUESTION = "Who is the keeper of the new lighthouse in Velmora?"


@pytest.fixture(scope="module")
def client(llm_server_url: str) -> OpenAI:
    # llama_cpp.server needs no key; the client insists on one. Generous timeout: a busy 2-core machine.
    return OpenAI(base_url=llm_server_url, api_key="unused", timeout=120.0, max_retries=0)


def ask(client: OpenAI, model: str, user: str, **kwargs: object) -> str:
    reply = client.chat.completions.create(
        model=model,
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}],
        temperature=0.0,
        max_tokens=48,
        **kwargs,  # type: ignore[arg-type]
    )
    assert reply.choices, reply
    return reply.choices[0].message.content or ""


def test_models_endpoint_names_the_served_model(client: OpenAI, llm_server: LlamaServer) -> None:
    assert [m.id for m in client.models.list().data] == [llm_server.alias]


def test_answers_from_the_passage(client: OpenAI, llm_server: LlamaServer) -> None:
    answer = ask(client, llm_server.alias, f"Passage:\n{PASSAGE}\n\nQuestion: {QUESTION}")
    assert "Quarrington" in answer, answer


def test_without_the_passage_the_name_does_not_appear(client: OpenAI, llm_server: LlamaServer) -> None:
    """The control: the invented name comes from the passage, not from the model or the question."""
    answer = ask(client, llm_server.alias, f"Question: {QUESTION}")
    assert "Quarrington" not in answer, answer


def test_streaming_yields_tokens_as_they_come(client: OpenAI, llm_server: LlamaServer) -> None:
    start = time.monotonic()
    stream = client.chat.completions.create(
        model=llm_server.alias,
        messages=[{"role": "system", "content": SYSTEM},
                  {"role": "user", "content": f"Passage:\n{PASSAGE}\n\nQuestion: What colour is the tower?"}],
        temperature=0.0,
        max_tokens=32,
        stream=True,
    )
    arrivals: list[float] = []
    pieces: list[str] = []
    finish: str | None = None
    for chunk in stream:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        if choice.delta.content:
            pieces.append(choice.delta.content)
            arrivals.append(time.monotonic() - start)
        finish = choice.finish_reason or finish
    text = "".join(pieces)
    assert len(pieces) >= 3, f"expected a token stream, got {pieces!r}"
    assert arrivals[-1] > arrivals[0], "all tokens arrived at once: not streamed"
    assert finish in {"stop", "length"}
    assert "green" in text.lower(), text
