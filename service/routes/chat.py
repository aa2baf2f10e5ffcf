"""OpenAI-compatible endpoints, so any chat front-end (Open WebUI, LibreChat, the ``openai`` client) can ask.

``GET /v1/models`` lists one model, ``newsdesk``; ``POST /v1/chat/completions`` answers the conversation's
question through the question pipeline, as one completion or as a stream of chunks (the wire format:
``service.openai_wire``). A follow-up turn is first made standalone (``service.answering.followup``); the
response says which query was used (``standalone_query``).
"""

from __future__ import annotations

import time
from typing import Any

import anyio
from litestar import Controller, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Stream

from service import openai_wire as wire
from service.answering import QuestionPipeline
from service.answering.followup import standalone_query
from service.errors import FieldError
from service.metrics import observe_answer
from service.openai_wire import ChatCompletionRequest
from service.schemas import too_long
from service.settings import ServiceSettings
from service.streaming import chat_stream


def _question(data: ChatCompletionRequest, settings: ServiceSettings) -> str:
    """The standalone query for the last user turn (the turn alone when the rewrite would be too long)."""
    turns = [t for t in data.user_turns() if t]
    if not turns:
        raise FieldError("messages", "no user message with text content")
    question = standalone_query(turns).query
    if len(question) > settings.max_question_chars:
        question = turns[-1]
    if message := too_long("the question", question, settings.max_question_chars):
        raise FieldError("messages", message)
    return question


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
        question = _question(data, settings)
        if data.stream:
            return chat_stream(pipeline, data, question, settings.tokenizer_encoding)
        answer = await anyio.to_thread.run_sync(pipeline.ask, data.to_ask(question))
        observe_answer(answer)
        content = "".join(wire.content_parts(answer))
        body = wire.completion(wire.new_id(), int(time.time()), answer,
                               wire.usage(settings.tokenizer_encoding, data.messages, content), question)
        return Response(body, status_code=200)
