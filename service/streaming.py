"""Server-Sent Events for ``POST /v1/ask`` with ``"stream": true``, over the question pipeline's two steps.

Event sequence (each ``data`` is one JSON object)::

    event: sources   data: {"passages": [HitOut, ...]}            the retrieved chunks, best first
    event: token     data: {"text": "..."}                        a language model's raw tokens as they come
                                                                  (provisional: not yet verified)
    event: delta     data: {"text": "sentence [n]"}               the verified answer's pieces; concatenated
                                                                  they are ``answer``
    event: done      data: AskResponse                            as the non-streaming answer (authoritative)
    event: error     data: {"error", "message"}                   instead of ``done`` when composing failed

Both steps run in worker threads, between events, so ``sources`` reaches the client before the answer is
composed; a generating composer's tokens are relayed from its thread through a queue. Litestar cancels the response task when the client disconnects; the generator then stops at its next
checkpoint, sends nothing more and logs ``stream stopped: client disconnected``.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from litestar.response import Stream

from service import openai_wire as wire
from service.answering import Answer, Ask, QuestionPipeline, Retrieved
from service.metrics import observe_answer
from service.openai_wire import ChatCompletionRequest
from service.schemas import AskResponse, HitOut
from service.timing import ms_since

log = logging.getLogger("newsdesk.stream")

SSE_HEADERS = {"content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no"}
"""Content type set as a header: Litestar gives the handler's media type (JSON) precedence over the Stream's."""


def sse(event: str, data: Any) -> bytes:
    """One SSE event; ``data`` as compact JSON on one line (JSON never holds a raw newline)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


async def ask_events(pipeline: QuestionPipeline, ask: Ask) -> AsyncIterator[bytes]:
    """The SSE body of a streamed ``/v1/ask``; stops (and logs) when the client goes away."""
    t0 = time.perf_counter()
    sent = 0
    try:
        got = await anyio.to_thread.run_sync(pipeline.retrieve, ask)
        yield sse("sources", {"passages": [HitOut.from_hit(h).model_dump(mode="json") for h in got.hits]})
        sent += 1
        tokens = _TokenRelay(pipeline, got)
        try:
            while (token := await anyio.to_thread.run_sync(tokens.next)) is not None:
                yield sse("token", {"text": token})
                sent += 1
            answer = tokens.result()
            observe_answer(answer)
        except Exception as exc:
            log.exception("streamed answer failed")
            yield sse("error", {"error": "internal", "message": f"composing the answer failed ({type(exc).__name__})"})
            return
        finally:
            tokens.cancel()
        for piece in answer.deltas():
            await anyio.sleep(0)  # checkpoint: a disconnected client cancels us here, between pieces
            yield sse("delta", {"text": piece})
            sent += 1
        answer.timings_ms["total"] = ms_since(t0)
        yield sse("done", AskResponse.from_answer(answer).model_dump(mode="json"))
        sent += 1
        log.info("stream done", extra={"events": sent, "found": answer.found, "ms": ms_since(t0)})
    except (anyio.get_cancelled_exc_class(), GeneratorExit):
        log.info("stream stopped: client disconnected", extra={"events": sent, "ms": ms_since(t0)})
        raise


class _Cancelled(Exception):
    """Raised into a generating composer when the client has gone."""


class _TokenRelay:
    """Runs the answer step in its own thread and hands its tokens over one by one (None: finished)."""

    def __init__(self, pipeline: QuestionPipeline, got: Retrieved) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._answer: Answer | None = None
        self._error: BaseException | None = None
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(pipeline, got), daemon=True)
        self._thread.start()

    def _run(self, pipeline: QuestionPipeline, got: Retrieved) -> None:
        try:
            self._answer = pipeline.answer(got, on_token=self._token)
        except BaseException as exc:  # handed to the request's task by result()
            self._error = exc
        finally:
            self._queue.put(None)

    def _token(self, text: str) -> None:
        if self._cancelled.is_set():
            raise _Cancelled
        self._queue.put(text)

    def next(self) -> str | None:
        return self._queue.get()

    def cancel(self) -> None:
        self._cancelled.set()

    def result(self) -> Answer:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._answer is not None
        return self._answer


def ask_stream(pipeline: QuestionPipeline, ask: Ask) -> Stream:
    """The response the ask controller returns for ``"stream": true``."""
    return Stream(ask_events(pipeline, ask), media_type="text/event-stream", headers=SSE_HEADERS)


# --- the OpenAI-compatible stream ---------------------------------------------------------------------------------
async def chat_events(
    pipeline: QuestionPipeline, req: ChatCompletionRequest, question: str, encoding: str
) -> AsyncIterator[bytes]:
    """``chat.completion.chunk`` events: the role, the answer's pieces, the sources list, a final chunk carrying
    the citations, optionally the usage, then ``[DONE]``."""
    t0 = time.perf_counter()
    cid, created = wire.new_id(), int(time.time())
    sent = 0
    try:
        yield wire.chunk(cid, created, {"role": "assistant", "content": ""})
        sent += 1
        try:
            answer = await anyio.to_thread.run_sync(pipeline.ask, req.to_ask(question))
            observe_answer(answer)
        except Exception as exc:
            log.exception("streamed chat completion failed")
            yield wire.error_chunk(f"composing the answer failed ({type(exc).__name__})")
            yield wire.DONE
            return
        parts = wire.content_parts(answer)
        for piece in parts:
            await anyio.sleep(0)  # checkpoint: a disconnected client cancels us here
            yield wire.chunk(cid, created, {"content": piece})
            sent += 1
        yield wire.chunk(cid, created, {}, "stop", **wire.extras(answer, question))
        if req.stream_options and req.stream_options.include_usage:
            yield wire.usage_chunk(cid, created, wire.usage(encoding, req.messages, "".join(parts)))
        yield wire.DONE
        log.info("chat stream done", extra={"events": sent + 2, "found": answer.found, "ms": ms_since(t0)})
    except (anyio.get_cancelled_exc_class(), GeneratorExit):
        log.info("chat stream stopped: client disconnected", extra={"events": sent, "ms": ms_since(t0)})
        raise


def chat_stream(pipeline: QuestionPipeline, req: ChatCompletionRequest, question: str, encoding: str) -> Stream:
    return Stream(chat_events(pipeline, req, question, encoding), media_type="text/event-stream",
                  headers=SSE_HEADERS)
