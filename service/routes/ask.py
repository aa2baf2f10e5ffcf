"""POST /v1/ask: a cited answer (JSON), or the same answer as Server-Sent Events with ``"stream": true``
(both documented in the OpenAPI schema by ``service.openapi``)."""

from __future__ import annotations

from litestar import Controller, post
from litestar.response import Response

from service.answering import QuestionPipeline
from service.errors import FieldError
from service.metrics import observe_answer
from service.schemas import AskRequest, AskResponse, too_long
from service.settings import ServiceSettings
from service.streaming import ask_stream


class AskController(Controller):
    path = "/ask"
    tags = ("query",)

    @post(sync_to_thread=True, status_code=200, summary="Answer a question with cited passages")
    def ask(self, data: AskRequest, pipeline: QuestionPipeline, settings: ServiceSettings) -> Response[AskResponse]:
        if message := too_long("question", data.question, settings.max_question_chars):
            raise FieldError("question", message)
        if data.stream:
            return ask_stream(pipeline, data.to_ask())
        answer = pipeline.ask(data.to_ask())
        observe_answer(answer)
        return Response(AskResponse.from_answer(answer))
