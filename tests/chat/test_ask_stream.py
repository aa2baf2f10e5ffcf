"""POST /v1/ask with "stream": true: Server-Sent Events sources -> delta... -> done, and client disconnects."""

from __future__ import annotations

import time

import httpx

from tests.chat.conftest import Records
from tests.chat.helpers import check_citations, sse_events

QUESTION = "When did the Port of Kestrel Bay reopen to cargo ships?"
UNANSWERABLE = "What is the population of Mongolia?"


def _stream(url: str, body: dict[str, object]) -> tuple[httpx.Response, list[tuple[str, object]]]:
    with httpx.stream("POST", f"{url}/v1/ask", json=body, timeout=60) as resp:
        return resp, list(sse_events(resp.iter_lines()))


def test_stream_sends_sources_then_deltas_then_done(chat_url: str) -> None:
    resp, events = _stream(chat_url, {"question": QUESTION, "stream": True})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert resp.headers["cache-control"] == "no-cache"
    names = [e for e, _ in events]
    assert names[0] == "sources" and names[-1] == "done"
    assert set(names[1:-1]) == {"delta"} and len(names) >= 3
    passages = events[0][1]["passages"]  # type: ignore[index]
    assert passages and passages[0]["doc_id"] == "harbor-reopens.md"
    done = events[-1][1]
    assert isinstance(done, dict)
    streamed = "".join(d["text"] for e, d in events if e == "delta")  # type: ignore[index]
    assert streamed == done["answer"]
    assert done["found"] is True
    assert set(done["timings_ms"]) >= {"embed", "retrieve", "compose", "total"}
    check_citations(done["answer"], done["citations"], passages)
    assert any(c["doc_id"] == "harbor-reopens.md" for c in done["citations"])
    # same answer and citations as the non-streaming endpoint
    plain = httpx.post(f"{chat_url}/v1/ask", json={"question": QUESTION}, timeout=60).json()
    assert plain["answer"] == done["answer"]
    assert plain["citations"] == done["citations"]


def test_stream_not_found(chat_url: str) -> None:
    resp, events = _stream(chat_url, {"question": UNANSWERABLE, "stream": True})
    assert resp.status_code == 200
    assert [e for e, _ in events] == ["sources", "delta", "done"]
    done = events[-1][1]
    assert isinstance(done, dict)
    assert done["found"] is False and done["citations"] == []
    assert events[1][1] == {"text": done["answer"]} and done["answer"]


def test_stream_with_filters_and_validation(chat_url: str) -> None:
    _, events = _stream(chat_url, {"question": QUESTION, "stream": True,
                                      "filters": {"source": ["Metro Wire"]}})
    passages = events[0][1]["passages"]  # type: ignore[index]
    assert passages and {p["source"] for p in passages} == {"Metro Wire"}
    bad = httpx.post(f"{chat_url}/v1/ask", json={"question": "  ", "stream": True}, timeout=30)
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/json")
    assert bad.json()["detail"][0]["field"] == "question"


def test_client_disconnect_stops_the_stream(chat_url: str, stream_log: Records) -> None:
    with httpx.Client(timeout=60) as client, client.stream(
        "POST", f"{chat_url}/v1/ask", json={"question": QUESTION, "stream": True}
    ) as resp:
        lines = resp.iter_lines()
        first = next(lines)
        assert first == "event: sources"
        # leaving the block closes the connection with the answer still being composed
    deadline = time.monotonic() + 20
    while "stream stopped: client disconnected" not in stream_log.messages():
        assert time.monotonic() < deadline, f"no disconnect logged: {stream_log.messages()}"
        time.sleep(0.05)
    stopped = next(r for r in stream_log.records if r.getMessage().startswith("stream stopped"))
    assert stopped.events == 1  # type: ignore[attr-defined]  # only `sources` went out
    assert "stream done" not in stream_log.messages()
    # the server is unharmed: health, and a full streamed answer right after
    assert httpx.get(f"{chat_url}/health", timeout=10).json() == {"status": "ok"}
    _, events = _stream(chat_url, {"question": QUESTION, "stream": True})
    assert events[-1][0] == "done"
    assert "stream done" in stream_log.messages()
