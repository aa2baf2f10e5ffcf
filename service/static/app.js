// Newsdesk chat page: plain JS, no build step.
// Answers stream from POST /v1/ask {stream: true} as Server-Sent Events (sources, token..., delta..., done);
// search-only mode lists passages from POST /v1/search.
"use strict";

const $ = (id) => document.getElementById(id);
const KEY_STORE = "newsdesk.apiKey";

const els = {
  form: $("ask-form"),
  question: $("question"),
  submit: $("submit"),
  status: $("status"),
  answerSection: $("answer-section"),
  answer: $("answer"),
  timings: $("timings"),
  sourcesSection: $("sources-section"),
  sources: $("sources"),
  passagesSection: $("passages-section"),
  passages: $("passages"),
  source: $("filter-source"),
  after: $("filter-after"),
  before: $("filter-before"),
  apiKey: $("api-key"),
  knownSources: $("known-sources"),
};

let controller = null; // AbortController of the request in flight
const seenSources = new Set();

// ---------------------------------------------------------------------------------------------- helpers
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function setStatus(message, kind = "info") {
  els.status.textContent = message;
  els.status.dataset.kind = kind;
}

function headers() {
  const h = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
  const key = els.apiKey.value.trim();
  if (key) h.Authorization = `Bearer ${key}`;
  return h;
}

function filters() {
  const f = {};
  const sources = els.source.value.split(",").map((s) => s.trim()).filter(Boolean);
  if (sources.length) f.source = sources;
  if (els.after.value) f.published_after = els.after.value;
  if (els.before.value) f.published_before = els.before.value;
  return Object.keys(f).length ? f : null;
}

function formatDate(value) {
  if (!value) return "";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" });
}

function rememberSource(name) {
  if (!name || seenSources.has(name)) return;
  seenSources.add(name);
  els.knownSources.append(el("option", { value: name }));
}

async function errorText(resp) {
  let detail = "";
  try {
    const body = await resp.json();
    detail = body.message || body.error?.message || body.detail || JSON.stringify(body);
  } catch {
    detail = resp.statusText;
  }
  if (resp.status === 401 || resp.status === 403) {
    return "The service needs a valid API key: open Filters and paste it into the API key field.";
  }
  return `The service answered ${resp.status}: ${detail}`;
}

function unreachable(err) {
  if (err && err.name === "AbortError") return;
  setStatus("The Newsdesk service is unreachable. Check that it is running, then try again.", "error");
}

// The asked-for fact a citation marks inside its quote (answer_start/answer_end), or null.
function fact(c) {
  const ok = c && Number.isInteger(c.answer_start) && Number.isInteger(c.answer_end) && c.answer_end > c.answer_start;
  return ok ? c.quote.slice(c.answer_start, c.answer_end) : null;
}

// A highlighted quote, with the fact in bold when the citation marks one.
function quoteMark(quote, c) {
  const m = el("mark", {});
  if (!fact(c)) m.textContent = quote;
  else m.append(quote.slice(0, c.answer_start), el("strong", { text: fact(c) }), quote.slice(c.answer_end));
  return m;
}

// Text with a highlighted quote: the quote is located inside the passage when it is there verbatim.
function highlighted(text, quote, citation = null) {
  const p = el("p", { class: "passage" });
  const at = quote ? text.indexOf(quote) : -1;
  if (at < 0) {
    if (quote) p.append(quoteMark(quote, citation));
    else p.textContent = text;
    return p;
  }
  p.append(text.slice(0, at), quoteMark(quote, citation), text.slice(at + quote.length));
  return p;
}

// A sentence of the answer with its citation's fact (whitespace normalised) in bold, where it is in it.
function withFact(sentence, factText) {
  const f = factText ? factText.split(/\s+/).join(" ") : "";
  const at = f ? sentence.indexOf(f) : -1;
  if (at < 0) return [sentence];
  return [sentence.slice(0, at), el("strong", { text: f }), sentence.slice(at + f.length)];
}

function meta(item) {
  const bits = [];
  if (item.source) bits.push(el("span", { class: "src", text: item.source }));
  if (item.published_at) {
    bits.push(el("time", { datetime: item.published_at, text: formatDate(item.published_at) }));
  }
  const m = el("p", { class: "meta" });
  bits.forEach((b, i) => { if (i) m.append(" · "); m.append(b); });
  return m;
}

function titleNode(item) {
  const title = item.title || item.doc_id || "Untitled";
  return item.url ? el("a", { href: item.url, target: "_blank", rel: "noopener noreferrer", text: title }) : title;
}

// ---------------------------------------------------------------------------------------------- answer
// Renders answer text, turning [n] (and [n, m]) markers into links to the source cards; with the citations,
// the fact each one marks is set in bold in the sentence before its marker.
function renderAnswer(text, citations = []) {
  const frag = document.createDocumentFragment();
  const re = /\[(\d+(?:\s*,\s*\d+)*)\]/g;
  const facts = new Map(citations.map((c) => [String(c.n), fact(c)]));
  let last = 0;
  for (const m of text.matchAll(re)) {
    const nums = m[1].split(",").map((s) => s.trim());
    frag.append(...withFact(text.slice(last, m.index), nums.length === 1 ? facts.get(nums[0]) : null));
    frag.append("[");
    nums.forEach((n, i) => {
      if (i) frag.append(", ");
      frag.append(el("a", {
        href: `#source-${n}`, class: "cite", "data-n": n, "aria-label": `Source ${n}`, text: n,
      }));
    });
    frag.append("]");
    last = m.index + m[0].length;
  }
  frag.append(text.slice(last));
  els.answer.replaceChildren(frag);
}

function renderCitations(citations, byChunk = new Map()) {
  els.sources.replaceChildren();
  for (const c of citations) {
    rememberSource(c.source);
    const card = el("li", {
      id: `source-${c.n}`, class: "card", tabindex: "-1", value: c.n, "aria-label": `Source ${c.n}: ${c.title || ""}`,
    },
    el("h3", {}, el("span", { class: "num", text: `[${c.n}] ` }), titleNode(c)),
    meta(c),
    highlighted(byChunk.get(c.chunk_id)?.text || c.quote || "", c.quote, c),
    c.url ? el("p", { class: "url" }, el("a", { href: c.url, target: "_blank", rel: "noopener noreferrer", text: c.url })) : null);
    els.sources.append(card);
  }
  els.sourcesSection.hidden = citations.length === 0;
}

function openSource(n) {
  const card = document.getElementById(`source-${n}`);
  if (!card) return;
  for (const other of els.sources.querySelectorAll(".card.active")) {
    other.classList.remove("active");
    other.removeAttribute("aria-current");
  }
  card.classList.add("active");
  card.setAttribute("aria-current", "true");
  card.scrollIntoView({ behavior: "smooth", block: "nearest" });
  card.focus({ preventScroll: true });
}

els.answer.addEventListener("click", (ev) => {
  const link = ev.target.closest("a.cite");
  if (!link) return;
  ev.preventDefault();
  openSource(link.dataset.n);
  history.replaceState(null, "", `#source-${link.dataset.n}`);
});

// Server-Sent Events over fetch: yields {event, data} for each event block.
async function* sseEvents(resp) {
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
      let event = "message";
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = val;
        else if (field === "data") data.push(val);
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

async function ask(question) {
  els.answerSection.hidden = false;
  els.answer.replaceChildren();
  els.answer.setAttribute("aria-busy", "true");
  els.timings.textContent = "";
  setStatus("Searching the articles…");
  let resp;
  try {
    resp = await fetch("/v1/ask", {
      method: "POST", headers: headers(), signal: controller.signal,
      body: JSON.stringify({ question, filters: filters(), stream: true }),
    });
  } catch (err) {
    els.answerSection.hidden = true;
    unreachable(err);
    return;
  }
  if (!resp.ok) {
    els.answerSection.hidden = true;
    setStatus(await errorText(resp), "error");
    return;
  }
  let text = "";
  let draft = "";
  let finished = false;
  const byChunk = new Map();
  try {
    for await (const { event, data } of sseEvents(resp)) {
      if (event === "sources") {
        for (const p of data.passages || []) {
          byChunk.set(p.chunk_id, p);
          rememberSource(p.source);
        }
        setStatus(`Found ${(data.passages || []).length} passages, writing the answer…`);
      } else if (event === "token") {
        // a language model's raw tokens: shown as a provisional draft until the verified answer arrives
        draft += data.text;
        els.answer.classList.add("provisional");
        renderAnswer(draft);
      } else if (event === "delta") {
        els.answer.classList.remove("provisional");
        text += data.text;
        renderAnswer(text);
      } else if (event === "done") {
        finished = true;
        els.answer.classList.remove("provisional");
        renderAnswer(data.answer ?? text, data.citations || []);
        renderCitations(data.citations || [], byChunk);
        const t = data.timings_ms || {};
        if (t.total !== undefined) {
          const by = data.composer === "llm" ? "the language model" : "extracted sentences";
          const fb = data.fallback_reason ? ` (${data.fallback_reason.split(":")[0].replaceAll("_", " ")})` : "";
          els.timings.textContent = `Answered in ${Math.round(t.total)} ms from ${by}${fb}.`;
        }
        if (data.found === false) {
          setStatus("Nothing in the indexed articles answers this question. Try other words or fewer filters.", "notfound");
        } else {
          setStatus(`Answer with ${(data.citations || []).length} cited source(s).`, "ok");
        }
      } else if (event === "error") {
        setStatus(`The answer failed: ${data.detail || "unknown error"}`, "error");
      }
    }
    if (!finished) setStatus("The answer was cut off: the connection to the service ended early.", "error");
  } catch (err) {
    unreachable(err);
  } finally {
    els.answer.setAttribute("aria-busy", "false");
  }
}

async function search(query) {
  setStatus("Searching the articles…");
  let resp;
  try {
    resp = await fetch("/v1/search", {
      method: "POST", headers: headers(), signal: controller.signal,
      body: JSON.stringify({ query, filters: filters() }),
    });
  } catch (err) {
    unreachable(err);
    return;
  }
  if (!resp.ok) {
    setStatus(await errorText(resp), "error");
    return;
  }
  const body = await resp.json();
  const hits = body.hits || [];
  els.passages.replaceChildren();
  hits.forEach((h, i) => {
    rememberSource(h.source);
    els.passages.append(el("li", { class: "card", id: `passage-${i + 1}` },
      el("h3", {}, titleNode(h)),
      meta(h),
      el("p", { class: "passage", text: h.text }),
      el("p", { class: "score", text: `score ${Number(h.score).toFixed(3)}` })));
  });
  els.passagesSection.hidden = false;
  if (hits.length === 0) setStatus("No passages match. Try other words or fewer filters.", "notfound");
  else setStatus(`${hits.length} passage(s) found.`, "ok");
}

els.form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const question = els.question.value.trim();
  if (!question) {
    setStatus("Type a question first.", "error");
    els.question.focus();
    return;
  }
  if (controller) controller.abort();
  controller = new AbortController();
  const mode = els.form.querySelector("input[name=mode]:checked").value;
  els.sourcesSection.hidden = true;
  els.passagesSection.hidden = true;
  els.answerSection.hidden = true;
  els.submit.disabled = true;
  try {
    if (mode === "search") await search(question);
    else await ask(question);
  } finally {
    els.submit.disabled = false;
  }
});

els.question.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey) {
    ev.preventDefault();
    els.form.requestSubmit();
  }
});

els.form.addEventListener("change", (ev) => {
  if (ev.target.name === "mode") els.submit.textContent = ev.target.value === "search" ? "Search" : "Ask";
});

els.apiKey.value = localStorage.getItem(KEY_STORE) || "";
els.apiKey.addEventListener("change", () => {
  const key = els.apiKey.value.trim();
  if (key) localStorage.setItem(KEY_STORE, key);
  else localStorage.removeItem(KEY_STORE);
});
