"""The OpenAI chat-completions wire format: request models, response bodies, stream chunks, token usage.

Extensions to the OpenAI shape (ignored by clients that do not know them):

* request: ``top_k`` (passages retrieved, default 8) and ``filters`` (as in ``/v1/ask``), e.g. through the
  ``openai`` client's ``extra_body``;
* request: ``composer`` (as in ``/v1/ask``);
* response: the fields of ``/v1/ask`` but the answer text (``citations``, ``found``, ``timings_ms``,
  ``composer``, ``fallback_reason``, ``verification``) and ``standalone_query`` (the follow-up made standalone); when streaming they ride on the final chunk, the one
  whose ``finish_reason`` is ``"stop"``. The stream carries the verified answer only (an OpenAI client cannot
  take back text it has shown), so with a language model its first content arrives when the model is done.

``model``, ``temperature`` and the other sampling fields are accepted and ignored.
"""

from __future__ import annotations

import json
import re
import uuid
from functools import lru_cache
from typing import Any, Literal

import tiktoken
from pydantic import BaseModel, ConfigDict, Field

from indexer.chunking import get_encoding
from service.answering import Answer, Ask
from service.schemas import NOT_BLANK, AskResponse, CitationOut, Filters, RecencyFields, StrictBool, StrictInt
from service.settings import ComposerName

MODEL_ID = "newsdesk"
MODEL_CREATED = 1767225600  # 2026-01-01, a fixed "created" for the model list


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content.strip()
        if isinstance(self.content, list):  # content parts: keep the text ones
            return " ".join(p["text"] for p in self.content
                            if p.get("type") == "text" and isinstance(p.get("text"), str)).strip()
        return ""


_TEXT: dict[str, Any] = {"type": "string", "pattern": NOT_BLANK}
_USER_TURN: dict[str, Any] = {
    "type": "object", "required": ["role", "content"],
    "properties": {"role": {"const": "user"}, "content": {"anyOf": [_TEXT, {
        "type": "array", "contains": {"type": "object", "required": ["type", "text"],
                                      "properties": {"type": {"const": "text"}, "text": _TEXT}}}]}},
}
"""JSON Schema of a message the service can take a question from (``ChatMessage.text()`` is not blank)."""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: StrictBool = False


class ChatCompletionRequest(RecencyFields):
    model_config = ConfigDict(extra="allow")  # OpenAI clients send many sampling fields; all are ignored
    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(..., min_length=1, json_schema_extra={"contains": _USER_TURN},
                                        description="At least one user message with text; the question is the "
                                        "last one (joined to the one before when it is a short follow-up), at "
                                        "most NEWSDESK_MAX_QUESTION_CHARS characters.")
    stream: StrictBool = Field(False, description="Answer as a stream of chunks (text/event-stream).")
    stream_options: StreamOptions | None = None
    top_k: StrictInt = Field(8, ge=1, le=50, description="Newsdesk extension: passages retrieved.")
    filters: Filters | None = Field(None, description="Newsdesk extension: as in /v1/ask.")
    composer: ComposerName | None = Field(None, description="Newsdesk extension: as in /v1/ask.")

    def user_turns(self) -> list[str]:
        return [m.text() for m in self.messages if m.role == "user"]

    def to_ask(self, question: str) -> Ask:
        return Ask(question, self.top_k, self.filters.to_search() if self.filters else None, self.composer,
                   self.recency, self.as_of_time())


def new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def model_card() -> dict[str, Any]:
    return {"id": MODEL_ID, "object": "model", "created": MODEL_CREATED, "owned_by": "newsdesk"}


def _md_text(text: str) -> str:
    return re.sub(r"([\[\]\\*_`])", r"\\\1", text)


def sources_markdown(citations: list[CitationOut]) -> str:
    """``\\n\\n**Sources**\\n\\n1. [Title](url) — Source, 2026-03-14`` numbered like the ``[n]`` markers."""
    if not citations:
        return ""
    lines = ["", "", "**Sources**", ""]
    for c in citations:
        title = _md_text(c.title or c.doc_id)
        link = f"[{title}](<{c.url}>)" if c.url else title
        meta = ", ".join(x for x in (c.source, (c.published_at or "")[:10]) if x)
        lines.append(f"{c.n}. {link}" + (f" — {_md_text(meta)}" if meta else ""))
    return "\n".join(lines)


@lru_cache(maxsize=4)
def _encoding(name: str) -> tiktoken.Encoding:
    return get_encoding(name)  # the bundled offline copy, as the chunker


def usage(encoding: str, messages: list[ChatMessage], content: str) -> dict[str, int]:
    enc = _encoding(encoding)
    prompt = sum(len(enc.encode(m.text(), disallowed_special=())) for m in messages)
    completion = len(enc.encode(content, disallowed_special=()))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def extras(answer: Answer, query: str) -> dict[str, Any]:
    """The Newsdesk fields added to a completion (or to the final chunk of a stream): those of /v1/ask but the
    answer text, and the standalone query the conversation was answered with."""
    return {**AskResponse.from_answer(answer).model_dump(mode="json", exclude={"answer"}), "standalone_query": query}


def content_parts(answer: Answer) -> list[str]:
    """The reply's text in stream order: the answer's sentences, then the Markdown sources list."""
    sources = sources_markdown([CitationOut.from_citation(c) for c in answer.citations])
    return [p for p in [*answer.deltas(), sources] if p]


def completion(cid: str, created: int, answer: Answer, usage_: dict[str, int], query: str) -> dict[str, Any]:
    content = "".join(content_parts(answer))
    return {
        "id": cid, "object": "chat.completion", "created": created, "model": MODEL_ID,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop", "logprobs": None}],
        "usage": usage_,
        **extras(answer, query),
    }


def chunk(cid: str, created: int, delta: dict[str, Any], finish: Literal["stop"] | None = None,
          **extra: Any) -> bytes:
    body = {
        "id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra,
    }
    return data_line(body)


def usage_chunk(cid: str, created: int, usage_: dict[str, int]) -> bytes:
    return data_line({"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                      "choices": [], "usage": usage_})


def error_chunk(message: str) -> bytes:
    return data_line({"error": {"message": message, "type": "server_error", "code": "internal"}})


def data_line(body: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(body, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


DONE = b"data: [DONE]\n\n"
