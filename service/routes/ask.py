"""POST /v1/ask: a cited answer (JSON), or the same answer as Server-Sent Events with ``"stream": true``."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, post
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.response import Response

from service.answering import QuestionPipeline
from service.errors import FieldError
from service.metrics import observe_answer
from service.schemas import AskRequest, AskResponse, too_long
from service.settings import ServiceSettings
from service.streaming import ask_stream


@dataclass
class AskOperation(Operation):
    """The 200 response of /v1/ask is JSON, or an event stream when the request says ``"stream": true``."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse):
            ok.content = dict(ok.content or {})
            ok.content["text/event-stream"] = OpenAPIMediaType(schema=Schema(
                type=OpenAPIType.STRING, description="event: sources / delta / done (or error); each data line is one JSON "
                "object: sources {passages}, delta {text}, done {answer, citations, found, timings_ms}."))
            ok.description = "The answer (application/json), or its events when stream is true"


class AskController(Controller):
    path = "/ask"
    tags = ("query",)

    @post(sync_to_thread=True, status_code=200, summary="Answer a question with cited passages",
          operation_class=AskOperation)
    def ask(self, data: AskRequest, pipeline: QuestionPipeline, settings: ServiceSettings) -> Response[AskResponse]:
        if message := too_long("question", data.question, settings.max_question_chars):
            raise FieldError("question", message)
        if data.stream:
            return ask_stream(pipeline, data.to_ask())
        answer = pipeline.ask(data.to_ask())
        observe_answer(answer)
        return Response(AskResponse.from_answer(answer))
