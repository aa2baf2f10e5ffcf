"""OpenAI-compatible endpoints, so any chat front-end (Open WebUI, LibreChat, the ``openai`` client) can ask.

* ``GET /v1/models``: one model, ``newsdesk``;
* ``POST /v1/chat/completions``: the question is the last user message; when that message is short or
  elliptical ("and in Rotterdam?", "when did it reopen?") the previous user message is prepended, so a
  follow-up keeps its subject. The reply is the cited answer (``[n]`` after each sentence) followed by a
  Markdown "Sources" list numbered like the markers. ``stream: true`` sends ``chat.completion.chunk`` events
  ending with ``data: [DONE]``.

Extensions to the OpenAI shape (ignored by clients that do not know them):

* request: ``top_k`` (passages retrieved, default 8) and ``filters`` (as in ``/v1/ask``), e.g. through the
  ``openai`` client's ``extra_body``;
* response: top-level ``citations`` (the structured citations of ``/v1/ask``: n, doc_id, chunk_id, title, url,
  source, published_at, quote, char_start, char_end), ``found`` and ``timings_ms``; when streaming they ride
  on the final chunk, the one whose ``finish_reason`` is ``"stop"``.

``model``, ``temperature`` and the other sampling fields are accepted and ignored: the answer is extractive.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Any, Literal

import anyio
import tiktoken
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Stream
from pydantic import BaseModel, ConfigDict, Field

from indexer.chunking import get_encoding
from service.answer import ComposedAnswer
from service.errors import FieldError
from service.routes import get_state
from service.schemas import CitationOut, Filters
from service.state import AppState
from service.streaming import SSE_HEADERS, answer_pieces, citations_out, compose_answer, retrieve

log = logging.getLogger("newsdesk.stream")

MODEL_ID = "newsdesk"
MODEL_CREATED = 1767225600  # 2026-01-01, a fixed "created" for the model list

_FOLLOW_UP = re.compile(r"^(and|but|also|so|then|what about|how about|and what about|same for|what of)\b", re.I)
_PRONOUN = re.compile(r"\b(it|its|they|them|their|he|him|his|she|her|that|this|those|these|there)\b", re.I)
_WORD = re.compile(r"[\w'’-]+")
SHORT_QUESTION_WORDS = 4
"""A last user message of at most this many words is taken as a follow-up of the previous one."""


# --- request ------------------------------------------------------------------------------------------------
class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content.strip()
        if isinstance(self.content, list):  # content parts: keep the text ones
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text").strip()
        return ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # OpenAI clients send many sampling fields; all are ignored
    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(..., min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    top_k: int = Field(8, ge=1, le=50, description="Newsdesk extension: passages retrieved.")
    filters: Filters | None = Field(None, description="Newsdesk extension: as in /v1/ask.")


def _elliptical(text: str) -> bool:
    words = _WORD.findall(text)
    if len(words) <= SHORT_QUESTION_WORDS or _FOLLOW_UP.match(text.strip()):
        return True
    # a pronoun and no name of its own ("when did it reopen?"): it refers to the previous turn
    names = [w for w in words[1:] if w[:1].isupper()]
    return bool(_PRONOUN.search(text)) and not names


def question_from(messages: list[ChatMessage]) -> str:
    """The question to answer: the last user message, prefixed by the previous one when it is a follow-up."""
    users = [t for m in messages if m.role == "user" and (t := m.text())]
    if not users:
        raise FieldError("messages", "no user message with text content")
    last = users[-1]
    if len(users) > 1 and _elliptical(last):
        return f"{users[-2]} {last}"
    return last


# --- reply ----------------------------------------------------------------------------------------------------
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


def usage(state: AppState, messages: list[ChatMessage], content: str) -> dict[str, int]:
    enc = _encoding(state.settings.tokenizer_encoding)
    prompt = sum(len(enc.encode(m.text(), disallowed_special=())) for m in messages)
    completion = len(enc.encode(content, disallowed_special=()))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _extras(composed: ComposedAnswer) -> dict[str, Any]:
    return {
        "citations": [c.model_dump(mode="json") for c in citations_out(composed)],
        "found": composed.found,
        "timings_ms": composed.timings_ms,
    }


async def _answer(state: AppState, data: ChatCompletionRequest, question: str) -> ComposedAnswer:
    t0 = time.perf_counter()
    filters = data.filters.to_search() if data.filters else None
    got = await retrieve(state, question, data.top_k, filters)
    return await compose_answer(state, question, got, t0)


def _check_length(state: AppState, question: str) -> None:
    limit = state.settings.max_question_chars
    if len(question) > limit:
        raise FieldError("messages", f"the question is longer than {limit} characters ({len(question)})")


class ChatController(Controller):
    path = "/"
    tags = ("openai",)

    @get("/models", sync_to_thread=False, summary="OpenAI-compatible model list (one model: newsdesk)")
    def models(self) -> dict[str, Any]:
        return {"object": "list", "data": [_model()]}

    @get("/models/{model_id:str}", sync_to_thread=False, summary="OpenAI-compatible model")
    def model(self, model_id: str) -> dict[str, Any]:
        if model_id != MODEL_ID:
            raise NotFoundException(f"no model {model_id!r}; the only model is {MODEL_ID!r}")
        return _model()

    @post("/chat/completions", status_code=200, summary="OpenAI-compatible chat completion with citations")
    async def chat_completions(
        self, request: Request[Any, Any, Any], data: ChatCompletionRequest
    ) -> Response[dict[str, Any]] | Stream:
        state = get_state(request)
        question = question_from(data.messages)
        if len(question) > state.settings.max_question_chars:  # a long follow-up chain: the last turn alone
            question = [t for m in data.messages if m.role == "user" and (t := m.text())][-1]
        _check_length(state, question)
        cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        if data.stream:
            return Stream(
                _chunks(state, data, question, cid, created), media_type="text/event-stream", headers=SSE_HEADERS
            )
        composed = await _answer(state, data, question)
        citations = citations_out(composed)
        content = composed.answer + sources_markdown(citations)
        body = {
            "id": cid, "object": "chat.completion", "created": created, "model": MODEL_ID,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop", "logprobs": None}],
            "usage": usage(state, data.messages, content),
            **_extras(composed),
        }
        return Response(body, status_code=200)


def _model() -> dict[str, Any]:
    return {"id": MODEL_ID, "object": "model", "created": MODEL_CREATED, "owned_by": "newsdesk"}


def _chunk(cid: str, created: int, delta: dict[str, Any], finish: Literal["stop"] | None = None,
           **extra: Any) -> bytes:
    body = {
        "id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra,
    }
    return f"data: {json.dumps(body, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


async def _chunks(
    state: AppState, data: ChatCompletionRequest, question: str, cid: str, created: int
) -> AsyncIterator[bytes]:
    t0 = time.perf_counter()
    sent = 0
    try:
        yield _chunk(cid, created, {"role": "assistant", "content": ""})
        sent += 1
        try:
            composed = await _answer(state, data, question)
        except Exception as exc:
            log.exception("streamed chat completion failed")
            err = {"error": {"message": f"composing the answer failed ({type(exc).__name__})",
                             "type": "server_error", "code": "internal"}}
            yield f"data: {json.dumps(err)}\n\n".encode()
            yield b"data: [DONE]\n\n"
            return
        content = ""
        citations = citations_out(composed)
        for piece in [*answer_pieces(composed), sources_markdown(citations)]:
            if not piece:
                continue
            await anyio.sleep(0)  # checkpoint: a disconnected client cancels us here
            content += piece
            yield _chunk(cid, created, {"content": piece})
            sent += 1
        yield _chunk(cid, created, {}, "stop", **_extras(composed))
        if data.stream_options and data.stream_options.include_usage:
            body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                    "choices": [], "usage": usage(state, data.messages, content)}
            yield f"data: {json.dumps(body, separators=(',', ':'))}\n\n".encode()
        yield b"data: [DONE]\n\n"
        log.info("chat stream done", extra={"events": sent + 2, "found": composed.found, "ms": _ms(t0)})
    except (anyio.get_cancelled_exc_class(), GeneratorExit):
        log.info("chat stream stopped: client disconnected", extra={"events": sent, "ms": _ms(t0)})
        raise


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)
