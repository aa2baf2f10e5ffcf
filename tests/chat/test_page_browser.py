"""The chat page (GET /) in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, expect, sync_playwright

from tests.chat.conftest import API_KEY
from tests.conftest import REPO

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
QUESTION = "When did the Port of Kestrel Bay reopen to cargo ships?"
SCREENSHOT = REPO / "docs" / "screenshot-chat.png"
"""Rewritten only with NEWSDESK_UPDATE_SCREENSHOT=1, so that a test run leaves the work tree clean."""


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
    page.get_by_role("button", name="Ask").click()


def test_answer_citation_search_and_not_found(
    browser: Callable[..., BrowserContext], chat_url: str, tmp_path: Path
) -> None:
    expected = httpx.post(f"{chat_url}/v1/ask", json={"question": QUESTION}, timeout=60).json()
    page = browser().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(chat_url)
    expect(page).to_have_title("Newsdesk")

    # streamed answer with [n] links
    _ask(page, QUESTION)
    status = page.locator("#status")
    expect(status).to_have_attribute("data-kind", "ok")
    answer = page.locator("#answer")
    expect(answer).to_have_attribute("aria-busy", "false")
    assert answer.inner_text() == expected["answer"]
    cite = answer.locator("a.cite").first
    expect(cite).to_have_text("1")

    # the citation opens its source card, with the quote highlighted
    cite.click()
    card = page.locator("#source-1")
    expect(card).to_have_class("card active")
    expect(card).to_be_focused()
    first = expected["citations"][0]
    expect(card.locator("mark")).to_have_text(first["quote"])
    expect(card.get_by_role("link", name=first["title"])).to_have_attribute("href", first["url"])
    expect(card).to_contain_text("Coastal Ledger")
    expect(card).to_contain_text("2026")
    shot_path = SCREENSHOT if os.environ.get("NEWSDESK_UPDATE_SCREENSHOT") == "1" else tmp_path / "chat.png"
    shot_path.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(shot_path), full_page=True)
    assert shot_path.stat().st_size > 10_000

    # search-only mode lists passages; the source filter narrows them
    page.get_by_label("Search passages only").check()
    page.get_by_role("button", name="Search").click()
    expect(status).to_have_attribute("data-kind", "ok")
    passages = page.locator("#passages > li")
    assert passages.count() >= 3
    expect(passages.first).to_contain_text("Kestrel Bay")
    page.locator("#filters summary").click()
    page.get_by_label("Source", exact=True).fill("Metro Wire")
    page.get_by_role("button", name="Search").click()
    expect(status).to_contain_text("passage(s) found")
    expect(passages.first).to_contain_text("Metro Wire")
    assert all("Metro Wire" in t for t in passages.locator(".meta").all_inner_texts())
    page.get_by_label("Source", exact=True).fill("")

    # nothing found
    page.get_by_label("Answer with citations").check()
    _ask(page, "What is the population of Mongolia?")
    expect(status).to_have_attribute("data-kind", "notfound")
    expect(status).to_contain_text("Nothing in the indexed articles")
    expect(page.locator("#sources-section")).to_be_hidden()

    # the service unreachable
    page.route("**/v1/ask", lambda route: route.abort("connectionrefused"))
    _ask(page, QUESTION)
    expect(status).to_have_attribute("data-kind", "error")
    expect(status).to_contain_text("unreachable")
    assert errors == []


def test_phone_width(browser: Callable[..., BrowserContext], chat_url: str, tmp_path: Path) -> None:
    page = browser(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    page.goto(chat_url)
    _ask(page, QUESTION)
    expect(page.locator("#status")).to_have_attribute("data-kind", "ok")
    page.locator("#answer a.cite").first.click()
    expect(page.locator("#source-1")).to_have_class("card active")
    page.locator("#filters summary").click()
    shot = tmp_path / "phone.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"horizontal overflow at 390 px: {widths}"
    box = page.get_by_role("button", name="Ask").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390


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
        page.get_by_role("button", name="Search").click()
        expect(page.locator("#status")).to_have_attribute("data-kind", "ok")
        passages = page.locator("#passages > li")
        expect(passages).to_have_count(len(records))
        links = page.locator("#passages a")
        expect(links).to_have_count(1)
        expect(links).to_have_attribute("href", "https://example.org/quokka")
        for i in range(len(UNSAFE_URLS)):
            expect(page.locator("#passages")).to_contain_text(f"Quokka census number {i}")

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
        _ask(page, "How many quokkas?")
        expect(page.locator("#status")).to_have_attribute("data-kind", "ok")
        expect(page.locator("#sources > li")).to_have_count(len(UNSAFE_URLS))
        for url in UNSAFE_URLS:
            expect(page.locator("#sources")).to_contain_text(url)
        assert page.locator("#sources a[href]").count() == 0
        assert page.locator("a[href^='javascript' i], a[href^='data:' i], a[href^='vbscript' i]").count() == 0
    finally:
        for record in records:
            httpx.delete(f"{chat_url}/v1/documents/{record['id']}", timeout=60)
