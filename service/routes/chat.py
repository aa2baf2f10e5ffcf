"""OpenAI-compatible endpoints, so any chat front-end (Open WebUI, LibreChat, the ``openai`` client) can ask.

``GET /v1/models`` lists one model, ``newsdesk``; ``POST /v1/chat/completions`` answers the conversation's
question through the question pipeline, as one completion or as a stream of chunks (the wire format:
``service.openai_wire``). A follow-up turn is first made standalone (by the language model when one is
configured, ``service.answering.rewrite``, else by the rule of ``service.answering.followup``); the response says
which query was used (``standalone_query``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio
from litestar import Controller, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Stream

from service import openai_wire as wire
from service.answering import QuestionPipeline
from service.errors import FieldError
from service.metrics import observe_answer
from service.openai_wire import ChatCompletionRequest
from service.schemas import too_long
from service.settings import ServiceSettings
from service.streaming import chat_stream

log = logging.getLogger("newsdesk.chat")


def _user_turns(data: ChatCompletionRequest, settings: ServiceSettings) -> list[str]:
    turns = [t for t in data.user_turns() if t]
    if not turns:
        raise FieldError("messages", "no user message with text content")
    if message := too_long("the question", turns[-1], settings.max_question_chars):
        raise FieldError("messages", message)
    return turns


def _question(pipeline: QuestionPipeline, turns: list[str], settings: ServiceSettings) -> str:
    """The standalone query for the last user turn (the turn alone when the rewrite would be too long)."""
    rewrite = pipeline.standalone(turns)
    if rewrite.rewritten:
        log.info("follow-up made standalone by %s: %r", rewrite.by, rewrite.query)
    return rewrite.query if len(rewrite.query) <= settings.max_question_chars else turns[-1]


class ChatController(Controller):
    path = "/"
    tags = ("openai",)

    @get("/models", sync_to_thread=False, summary="OpenAI-compatible model list (one model: newsdesk)")
    def models(self) -> dict[str, Any]:
        return {"object": "list", "data": [wire.model_card()]}

    @get("/models/{model_id:str}", sync_to_thread=False, summary="OpenAI-compatible model")
    def model(self, model_id: str) -> dict[str, Any]:
        if model_id != wire.MODEL_ID:
            raise NotFoundException(f"no model {model_id!r}; the only model is {wire.MODEL_ID!r}")
        return wire.model_card()

    @post("/chat/completions", status_code=200, summary="OpenAI-compatible chat completion with citations")
    async def chat_completions(
        self, data: ChatCompletionRequest, pipeline: QuestionPipeline, settings: ServiceSettings
    ) -> Response[dict[str, Any]] | Stream:
        turns = _user_turns(data, settings)  # bad input is refused before any model call
        question = await anyio.to_thread.run_sync(_question, pipeline, turns, settings)
        if data.stream:
            return chat_stream(pipeline, data, question, settings.tokenizer_encoding)
        answer = await anyio.to_thread.run_sync(pipeline.ask, data.to_ask(question))
        observe_answer(answer)
        content = "".join(wire.content_parts(answer))
        body = wire.completion(wire.new_id(), int(time.time()), answer,
                               wire.usage(settings.tokenizer_encoding, data.messages, content), question)
        return Response(body, status_code=200)
