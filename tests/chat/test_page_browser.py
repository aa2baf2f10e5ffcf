"""The chat page (GET /) in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright): a conversation
with follow-ups, citations opened by keyboard, phone width, a slow stream, not-found answers, the API key, links."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Locator, Page, Playwright, expect, sync_playwright

from tests.chat.conftest import API_KEY
from tests.conftest import REPO

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
QUESTION = "What did Russia promise Mali?"
FOLLOW_UP = "and what about fertilizers?"
DOCS = REPO / "docs"
"""docs/screenshot-chat.png and docs/screenshot-phone.png are rewritten only with NEWSDESK_UPDATE_SCREENSHOT=1, so
that a test run leaves the work tree clean."""
STATIC = REPO / "service" / "static"


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("/usr/bin/chromium is missing (scripts/install-test-tools.sh installs it)")
        pytest.skip("/usr/bin/chromium is missing; run scripts/install-test-tools.sh")
    with sync_playwright() as p:
        yield p


@pytest.fixture
def browser(playwright: Playwright, tmp_path: Path) -> Iterator[Callable[..., BrowserContext]]:
    """Opens Chromium contexts, each with its own fresh profile (--user-data-dir) under tmp_path."""
    contexts: list[BrowserContext] = []

    def launch(**options: Any) -> BrowserContext:
        options.setdefault("viewport", {"width": 1200, "height": 900})
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / f"profile-{len(contexts)}"), executable_path=str(CHROMIUM), headless=True,
            args=ARGS, **options,
        )
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context

    try:
        yield launch
    finally:
        for context in contexts:
            context.close()


def _ask(page: Page, question: str) -> None:
    page.get_by_label("Your question").fill(question)
    page.locator("#submit").click()


def _turn(page: Page, n: int) -> Locator:
    return page.locator(f"#turn-{n}")


def _wait_done(page: Page, n: int) -> Locator:
    turn = _turn(page, n)
    expect(turn.locator(".answer")).to_have_attribute("aria-busy", "false")
    return turn


def _completion(url: str, messages: list[dict[str, str]]) -> dict[str, Any]:
    r = httpx.post(f"{url}/v1/chat/completions", json={"messages": messages}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def _article(url: str, doc_id: str) -> str:
    r = httpx.get(f"{url}/v1/documents/{doc_id}", params={"text": "true"}, timeout=60)
    assert r.status_code == 200, r.text
    return str(r.json()["text"])


def _answer_text(completion: dict[str, Any]) -> str:
    """The completion's content without the Markdown sources list (the page shows sources as cards)."""
    return completion["choices"][0]["message"]["content"].split("\n\n**Sources**")[0]


def _shot(page: Page, name: str, tmp_path: Path) -> None:
    path = DOCS / name if os.environ.get("NEWSDESK_UPDATE_SCREENSHOT") == "1" else tmp_path / name
    path.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


def _focus_by_tab(page: Page, selector: str, key: str = "Tab", limit: int = 80) -> None:
    """Presses Tab (or Shift+Tab) until the focused element matches ``selector``."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{key} never reached {selector}")


def _no_horizontal_scroll(page: Page, width: int) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] <= width, f"horizontal overflow at {width} px: {widths}"


def test_conversation_keyboard_only(browser: Callable[..., BrowserContext], chat_url: str, tmp_path: Path) -> None:
    """Ask, follow up, open a citation and close it with the keyboard alone."""
    first = httpx.post(f"{chat_url}/v1/ask", json={"question": QUESTION}, timeout=60).json()
    second = _completion(chat_url, [{"role": "user", "content": QUESTION},
                                    {"role": "assistant", "content": first["answer"]},
                                    {"role": "user", "content": FOLLOW_UP}])
    assert second["standalone_query"] != FOLLOW_UP and second["citations"]  # the thread's subject was carried
    page = browser().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(chat_url)
    expect(page).to_have_title("Newsdesk")

    _focus_by_tab(page, "#question")
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    turn1 = _wait_done(page, 1)
    status = page.locator("#status")
    expect(status).to_have_attribute("data-kind", "ok")
    assert turn1.locator(".answer").inner_text() == first["answer"]
    expect(turn1.locator(".question")).to_contain_text(QUESTION)
    expect(turn1.locator(".searched")).to_be_hidden()  # a first question is searched as typed
    expect(turn1.locator(".sources > li")).to_have_count(len(first["citations"]))
    expect(page.locator("#question")).to_be_focused()  # ready for the follow-up

    page.keyboard.type(FOLLOW_UP)
    page.keyboard.press("Enter")
    turn2 = _wait_done(page, 2)
    expect(status).to_have_attribute("data-kind", "ok")
    expect(page.locator(".turn")).to_have_count(2)  # turns stack, the newest last
    expect(turn2.locator(".searched")).to_have_text(f"searched for: {second['standalone_query']}")
    assert turn2.locator(".answer").inner_text() == _answer_text(second)
    expect(turn2.locator(".sources > li")).to_have_count(len(second["citations"]))
    expect(turn2.locator(".answer")).not_to_contain_text("**Sources**")
    assert turn2.bounding_box() is not None and turn2.is_visible()
    in_view = page.evaluate("(r => r.top < innerHeight && r.bottom > 0)"
                            "(document.querySelector('#turn-2 .answer').getBoundingClientRect())")
    assert in_view, "the newest answer is scrolled into view"
    _shot(page, "screenshot-chat.png", tmp_path)

    # back from the question box to the follow-up's last [n], open it with Enter, close it with Escape
    _focus_by_tab(page, "#turn-2 button.cite", key="Shift+Tab")
    opener = page.evaluate("document.activeElement.dataset.n")
    cited = next(c for c in second["citations"] if str(c["n"]) == opener)
    page.keyboard.press("Enter")
    dialog = page.locator("#source-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#dialog-passage")).to_be_focused()
    mark = dialog.locator("mark")
    expect(mark).to_have_text(cited["quote"])
    expect(dialog.locator("#dialog-title")).to_contain_text(cited["title"])
    # the quote inside its whole article, at the cited offsets
    expect(page.locator("#dialog-note")).to_have_text("")
    article = _article(chat_url, cited["doc_id"])
    shown = page.locator("#dialog-passage").inner_text()
    assert " ".join(shown.split()) == " ".join(article.split())
    before = page.evaluate("document.querySelector('#dialog-passage mark').previousSibling?.textContent ?? ''")
    assert before == article[: cited["char_start"]]
    assert page.evaluate("(r => r.top >= 0 && r.bottom <= innerHeight)"
                         "(document.querySelector('#dialog-passage mark').getBoundingClientRect())")
    expect(turn2.locator(f"#turn-2-source-{opener}")).to_have_class("card active")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.matches('#turn-2 button.cite')")
    assert page.evaluate("document.activeElement.dataset.n") == opener

    # the first turn's citation: its passage came with the answer (the stream's sources event)
    turn1.locator("button.cite").first.click()
    c1 = first["citations"][0]
    expect(mark).to_have_text(c1["quote"])
    expect(dialog.get_by_role("link", name="Open the article")).to_have_attribute("href", c1["url"])
    expect(dialog).to_contain_text("Sahel Dispatch")
    page.locator("#dialog-close").click()
    expect(dialog).to_be_hidden()

    # search-only mode stays, as a turn of its own; the source filter narrows it
    page.get_by_label("Search passages only").check()
    page.get_by_label("Your question").fill("Port of Kestrel Bay cargo ships")
    page.get_by_role("button", name="Search", exact=True).click()
    _wait_done(page, 3)
    expect(status).to_have_attribute("data-kind", "ok")
    passages = _turn(page, 3).locator(".passages > li")
    assert passages.count() >= 3
    expect(passages.first).to_contain_text("Kestrel Bay")
    page.locator("#filters summary").click()
    page.get_by_label("Source", exact=True).fill("Metro Wire")
    page.get_by_label("Your question").fill("Port of Kestrel Bay cargo ships")
    page.get_by_role("button", name="Search", exact=True).click()
    _wait_done(page, 4)
    expect(_turn(page, 4).locator(".passages > li").first).to_contain_text("Metro Wire")
    assert all("Metro Wire" in t for t in _turn(page, 4).locator(".passages .meta").all_inner_texts())

    # a new conversation forgets the turns
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator(".turn")).to_have_count(0)
    expect(page.locator("#question")).to_be_focused()
    assert errors == []


def test_not_found_and_unreachable(browser: Callable[..., BrowserContext], chat_url: str) -> None:
    page = browser().new_page()
    page.goto(chat_url)
    _ask(page, "What is the population of Mongolia?")
    turn = _wait_done(page, 1)
    expect(page.locator("#status")).to_have_attribute("data-kind", "notfound")
    note = turn.locator(".turn-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Nothing in the indexed articles answers this question")
    expect(turn.locator(".answer")).to_contain_text("could not find")  # the service's own words, shown as is
    expect(turn.locator(".sources-block")).to_be_hidden()
    expect(turn.locator("button.cite")).to_have_count(0)

    page.route("**/v1/chat/completions", lambda route: route.abort("connectionrefused"))
    _ask(page, "and what about Ulaanbaatar?")
    turn2 = _wait_done(page, 2)
    expect(page.locator("#status")).to_have_attribute("data-kind", "error")
    expect(turn2.locator(".turn-note")).to_contain_text("unreachable")


def test_phone_width(browser: Callable[..., BrowserContext], chat_url: str, tmp_path: Path) -> None:
    page = browser(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    page.goto(chat_url)
    _ask(page, QUESTION)
    _wait_done(page, 1)
    _ask(page, FOLLOW_UP)
    turn2 = _wait_done(page, 2)
    expect(turn2.locator(".searched")).to_contain_text("searched for:")
    _shot(page, "screenshot-phone.png", tmp_path)
    page.locator("#filters summary").click()
    _no_horizontal_scroll(page, 390)
    box = page.locator("#submit").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390

    turn2.locator("button.cite").first.click()
    dialog = page.locator("#source-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("mark")).to_be_visible()
    dbox = dialog.bounding_box()
    assert dbox is not None and dbox["x"] >= 0 and dbox["x"] + dbox["width"] <= 390
    _no_horizontal_scroll(page, 390)
    page.locator("#dialog-close").click()
    expect(dialog).to_be_hidden()


class _SlowStream(ThreadingHTTPServer):
    """The page's files and a ``/v1/ask`` stream that pauses where the test says: before the sources (gate 0),
    after a language model's provisional tokens (gate 1), then the verified answer and ``done``."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SlowHandler)
        self.gates = [threading.Event(), threading.Event()]
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


SLOW_PASSAGE = {"doc_id": "d1", "chunk_id": "d1#0", "score": 1.0, "title": "Harbour reopens", "url": None,
                "source": "Test Wire", "published_at": "2026-03-14T00:00:00Z", "char_start": 0, "char_end": 61,
                "text": "The harbour reopened on Monday. Cargo ships returned at dawn."}
SLOW_DRAFT = ["The harbour ", "maybe opened ", "on Sunday"]
SLOW_FINAL = "The harbour reopened on Monday [1]."


class _SlowHandler(BaseHTTPRequestHandler):
    server: _SlowStream

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        name = "index.html" if self.path == "/" else self.path.removeprefix("/static/")
        path = STATIC / name
        if "/" in name or not path.is_file():
            self.send_error(404)
            return
        kind = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}[path.suffix]
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("content-type", f"{kind}; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()

        def send(event: str, data: Any) -> None:
            self.wfile.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()

        self.server.gates[0].wait(30)
        send("sources", {"passages": [SLOW_PASSAGE]})
        for token in SLOW_DRAFT:
            send("token", {"text": token})
        self.server.gates[1].wait(30)
        send("delta", {"text": SLOW_FINAL})
        quote = "The harbour reopened on Monday."
        send("done", {"answer": SLOW_FINAL, "found": True, "composer": "llm", "timings_ms": {"total": 2000},
                      "citations": [{**{k: SLOW_PASSAGE[k] for k in ("doc_id", "chunk_id", "title", "url", "source",
                                                                     "published_at")},
                                     "n": 1, "quote": quote, "char_start": 0, "char_end": len(quote)}]})


def test_slow_stream(browser: Callable[..., BrowserContext]) -> None:
    """While a stream is slow the page says what it is doing; a model's provisional draft shows as such and the
    verified answer replaces it."""
    server = _SlowStream()
    server.thread.start()
    try:
        page = browser().new_page()
        page.goto(server.url)
        _ask(page, "When did the harbour reopen?")
        turn = _turn(page, 1)
        progress = turn.locator(".progress")
        expect(progress).to_have_text("Searching the articles…")
        expect(page.locator("#status")).to_have_text("Searching the articles…")
        expect(page.locator("#submit")).to_be_disabled()
        server.gates[0].set()
        answer = turn.locator(".answer")
        expect(answer).to_have_text("".join(SLOW_DRAFT))
        expect(answer).to_have_class("answer provisional")
        expect(answer).to_have_attribute("aria-busy", "true")
        expect(progress).to_have_text("Found 1 passages, writing the answer…")
        server.gates[1].set()
        expect(answer).to_have_attribute("aria-busy", "false")
        expect(answer).to_have_text(SLOW_FINAL)
        expect(answer).to_have_class("answer")
        expect(progress).to_be_hidden()
        expect(page.locator("#submit")).to_be_enabled()
        expect(turn.locator(".timings")).to_contain_text("the language model")
        turn.locator("button.cite").click()
        expect(page.locator("#source-dialog mark")).to_have_text("The harbour reopened on Monday.")
        expect(page.locator("#dialog-passage")).to_contain_text("Cargo ships returned at dawn.")
    finally:
        for gate in server.gates:
            gate.set()
        server.shutdown()
        server.server_close()


def test_api_key_field(browser: Callable[..., BrowserContext], keyed_url: str) -> None:
    page = browser().new_page()
    page.goto(keyed_url)  # the page itself is open; /v1 needs the key
    _ask(page, QUESTION)
    status = page.locator("#status")
    expect(status).to_have_attribute("data-kind", "error")
    expect(status).to_contain_text("API key")
    page.locator("#filters summary").click()
    page.get_by_label("API key (if the service needs one)").fill(API_KEY)
    page.get_by_label("API key (if the service needs one)").dispatch_event("change")
    _ask(page, QUESTION)
    expect(status).to_have_attribute("data-kind", "ok")
    # kept for this tab (a reload keeps it), never in localStorage where it would outlive the session
    assert page.evaluate("sessionStorage.getItem('newsdesk.apiKey')") == API_KEY
    assert page.evaluate("localStorage.getItem('newsdesk.apiKey')") is None
    page.reload()
    expect(page.get_by_label("API key (if the service needs one)")).to_have_value(API_KEY)
    other_tab = page.context.new_page()
    other_tab.goto(keyed_url)
    expect(other_tab.get_by_label("API key (if the service needs one)")).to_have_value("")


def test_old_local_storage_key_is_removed(browser: Callable[..., BrowserContext], keyed_url: str) -> None:
    page = browser().new_page()
    page.goto(keyed_url)
    page.evaluate(f"localStorage.setItem('newsdesk.apiKey', '{API_KEY}')")  # as an earlier version left it
    page.reload()
    assert page.evaluate("localStorage.getItem('newsdesk.apiKey')") is None
    expect(page.get_by_label("API key (if the service needs one)")).to_have_value("")


UNSAFE_URLS = ["javascript:alert(document.domain)", "JavaScript:alert(1)", "data:text/html,<script>alert(1)</script>",
               "vbscript:msgbox(1)", "//evil.example/x", "not a url"]


def test_only_http_urls_become_links(browser: Callable[..., BrowserContext], chat_url: str) -> None:
    records = [{"id": f"test-unsafe-{i}", "title": f"Quokka census number {i}", "url": url, "source": "Unsafe Desk",
                "text": f"The quokka census on Rottnest Island counted {1000 + i} animals this spring."}
               for i, url in enumerate(UNSAFE_URLS)]
    records.append({"id": "test-safe", "title": "Quokka census summary", "url": "https://example.org/quokka",
                    "source": "Unsafe Desk", "text": "The quokka census on Rottnest Island is held every spring."})
    r = httpx.post(f"{chat_url}/v1/documents", json=records, timeout=120)
    assert r.status_code == 200 and r.json()["summary"]["indexed"] == len(records), r.text
    try:
        page = browser().new_page()
        page.goto(chat_url)
        page.get_by_label("Search passages only").check()
        page.locator("#filters summary").click()
        page.get_by_label("Source", exact=True).fill("Unsafe Desk")
        page.get_by_label("Your question").fill("quokka census Rottnest Island")
        page.get_by_role("button", name="Search", exact=True).click()
        expect(page.locator("#status")).to_have_attribute("data-kind", "ok")
        passages = page.locator("#turn-1 .passages > li")
        expect(passages).to_have_count(len(records))
        links = page.locator("#turn-1 .passages a")
        expect(links).to_have_count(1)
        expect(links).to_have_attribute("href", "https://example.org/quokka")
        for i in range(len(UNSAFE_URLS)):
            expect(page.locator("#turn-1 .passages")).to_contain_text(f"Quokka census number {i}")

        # citations: a crafted answer whose sources carry unsafe URLs shows them as text, not links
        citations = [{"n": i + 1, "doc_id": f"d{i}", "chunk_id": f"d{i}#0", "title": f"Source {i}", "url": url,
                      "source": "Unsafe Desk", "published_at": None, "quote": "q", "char_start": 0, "char_end": 1}
                     for i, url in enumerate(UNSAFE_URLS)]
        done = {"answer": "An answer [1].", "citations": citations, "found": True, "composer": "extractive",
                "timings_ms": {"total": 1}}
        body = "event: delta\ndata: " + json.dumps({"text": "An answer [1]."}) + "\n\n" \
               + "event: done\ndata: " + json.dumps(done) + "\n\n"
        page.route("**/v1/ask", lambda route: route.fulfill(status=200, body=body,
                                                             headers={"content-type": "text/event-stream"}))
        page.get_by_label("Answer with citations").check()
        page.get_by_role("button", name="New conversation").click()  # a first question: /v1/ask
        _ask(page, "How many quokkas?")
        expect(page.locator("#status")).to_have_attribute("data-kind", "ok")
        expect(page.locator("#turn-1 .sources > li")).to_have_count(len(UNSAFE_URLS))
        assert page.locator("#turn-1 .sources a[href]").count() == 0
        dialog = page.locator("#source-dialog")
        for i, url in enumerate(UNSAFE_URLS):  # the dialog shows each URL as text
            page.locator(f"#turn-1-source-{i + 1} button.open-passage").click()
            expect(dialog.locator("#dialog-url")).to_have_text(url)
            assert dialog.locator("a[href]").count() == 0
            page.keyboard.press("Escape")
            expect(dialog).to_be_hidden()
        assert page.locator("a[href^='javascript' i], a[href^='data:' i], a[href^='vbscript' i]").count() == 0
    finally:
        for record in records:
            httpx.delete(f"{chat_url}/v1/documents/{record['id']}", timeout=60)
