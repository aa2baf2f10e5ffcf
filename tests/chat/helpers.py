"""Reading Server-Sent Events and checking citation invariants, for the chat tests."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

MARKER = re.compile(r"\[(\d+)\]")


def sse_events(lines: Iterable[str]) -> Iterator[tuple[str, Any]]:
    """(event, parsed JSON data) for each event block of a ``text/event-stream`` body."""
    event, data = "message", []
    for line in lines:
        if line == "":
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        yield event, json.loads("\n".join(data))


def check_citations(answer: str, citations: list[dict[str, Any]], passages: list[dict[str, Any]]) -> None:
    """The invariants of the non-streaming answer: numbers 1..k, each used in the text, each marker has a
    citation, each quote verbatim in its retrieved chunk at its article offsets."""
    numbers = [c["n"] for c in citations]
    assert numbers == list(range(1, len(citations) + 1))
    used = {int(n) for n in MARKER.findall(answer)}
    assert used == set(numbers)
    by_chunk = {p["chunk_id"]: p for p in passages}
    for c in citations:
        chunk = by_chunk[c["chunk_id"]]
        assert chunk["doc_id"] == c["doc_id"]
        offset = c["char_start"] - chunk["char_start"]
        assert offset >= 0 and c["char_end"] - c["char_start"] == len(c["quote"])
        assert chunk["text"][offset : offset + len(c["quote"])] == c["quote"]
        assert c["title"] == chunk["title"] and c["url"] == chunk["url"]
