// Newsdesk chat page: plain JS, no build step. A conversation: turns stack, newest at the bottom.
// The first question streams from POST /v1/ask {stream: true} as Server-Sent Events (sources, token..., delta...,
// done). A follow-up goes to POST /v1/chat/completions {stream: true} with the earlier turns, so the service makes
// it standalone first; its chunks carry the answer's pieces, its final chunk the citations and the
// standalone_query, shown under the question ("searched for: ..."). Search-only turns list passages from
// POST /v1/search. Each [n] marker opens a dialog with the whole article, the cited quote highlighted in place.
"use strict";

const $ = (id) => document.getElementById(id);
const KEY_STORE = "newsdesk.apiKey";
const SOURCES_MD = "\n\n**Sources**"; // the Markdown sources list a chat completion appends (shown as cards here)
const NOT_FOUND = "Nothing in the indexed articles answers this question. Try other words or fewer filters.";

const els = {
  form: $("ask-form"),
  question: $("question"),
  submit: $("submit"),
  status: $("status"),
  turns: $("turns"),
  newConversation: $("new-conversation"),
  source: $("filter-source"),
  after: $("filter-after"),
  before: $("filter-before"),
  apiKey: $("api-key"),
  knownSources: $("known-sources"),
  dialog: $("source-dialog"),
  dialogTitle: $("dialog-title"),
  dialogMeta: $("dialog-meta"),
  dialogPassage: $("dialog-passage"),
  dialogNote: $("dialog-note"),
  dialogUrl: $("dialog-url"),
  dialogClose: $("dialog-close"),
};

let controller = null; // AbortController of the request in flight
const seenSources = new Set();
const turns = []; // {n, question, mode, answer, citations, byChunk, filters, node, ...}
let dialogOpener = null; // the element focus returns to when the source dialog closes

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

const UNREACHABLE = "The Newsdesk service is unreachable. Check that it is running, then try again.";

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
function highlighted(text, quote, cls = "passage", citation = null) {
  const p = el("p", { class: cls });
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

// A document's URL as a link target only when it is an absolute http(s) URL: a "javascript:" or "data:" URL
// in an article's metadata must not become a link that runs when clicked.
function safeUrl(value) {
  if (typeof value !== "string") return null;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

function titleNode(item) {
  const title = item.title || item.doc_id || "Untitled";
  const href = safeUrl(item.url);
  return href ? el("a", { href, target: "_blank", rel: "noopener noreferrer", text: title }) : title;
}

function urlNode(url, cls = "url") {
  if (!url) return null;
  const href = safeUrl(url);
  return el("p", { class: cls }, href ? el("a", { href, target: "_blank", rel: "noopener noreferrer", text: url }) : url);
}

// Server-Sent Events over fetch: yields {event, data} for each event block (data as the raw string).
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
      if (data.length) yield { event, data: data.join("\n") };
    }
  }
}

// ---------------------------------------------------------------------------------------------- turns
function newTurn(question, mode) {
  const n = turns.length + 1;
  const turn = { n, question, mode, answer: "", citations: [], byChunk: new Map(), standaloneQuery: null,
    filters: filters(), finished: false };
  const answer = el("div", { class: "answer", "aria-live": "polite", "aria-busy": "true", hidden: true });
  const node = el("li", { class: "turn", id: `turn-${n}`, "aria-label": `Turn ${n}` },
    el("div", { class: "question" }, el("span", { class: "who", text: "You" }), el("p", { text: question })),
    el("p", { class: "searched", hidden: true }),
    el("div", { class: "reply" },
      el("span", { class: "who", text: mode === "search" ? "Passages" : "Newsdesk" }),
      el("p", { class: "progress", text: "Searching the articles…" }),
      answer,
      el("p", { class: "turn-note", hidden: true }),
      el("p", { class: "timings" }),
      el("section", { class: "sources-block", hidden: true, "aria-label": `Sources of turn ${n}` },
        el("h3", { text: "Sources" }), el("ol", { class: "cards sources" })),
      el("ol", { class: "cards passages", hidden: true })));
  turn.node = node;
  turn.els = {
    searched: node.querySelector(".searched"), progress: node.querySelector(".progress"), answer,
    note: node.querySelector(".turn-note"), timings: node.querySelector(".timings"),
    sourcesBlock: node.querySelector(".sources-block"), sources: node.querySelector(".sources"),
    passages: node.querySelector(".passages"),
  };
  els.turns.append(node);
  turns.push(turn);
  els.newConversation.disabled = false;
  setStatus("Searching the articles…");
  node.scrollIntoView({ block: "start" });
  return turn;
}

function progress(turn, message) {
  turn.els.progress.hidden = !message;
  turn.els.progress.textContent = message || "";
  if (message) setStatus(message);
}

function note(turn, message, kind) {
  turn.els.note.hidden = false;
  turn.els.note.textContent = message;
  turn.els.note.dataset.kind = kind;
  setStatus(message, kind);
}

function finish(turn) {
  turn.els.answer.setAttribute("aria-busy", "false");
  turn.els.progress.hidden = true;
  turn.node.scrollIntoView({ block: "nearest" });
}

// Renders answer text, turning [n] (and [n, m]) markers into buttons that open the cited passage.
function renderAnswer(turn, text, provisional = false) {
  const box = turn.els.answer;
  box.hidden = false;
  box.classList.toggle("provisional", provisional);
  const frag = document.createDocumentFragment();
  const re = /\[(\d+(?:\s*,\s*\d+)*)\]/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    frag.append(text.slice(last, m.index));
    const nums = m[1].split(",").map((s) => s.trim());
    frag.append("[");
    nums.forEach((n, i) => {
      if (i) frag.append(", ");
      frag.append(el("button", {
        type: "button", class: "cite", "data-n": n, "aria-haspopup": "dialog",
        "aria-label": `Source ${n}`, text: n,
      }));
    });
    frag.append("]");
    last = m.index + m[0].length;
  }
  frag.append(text.slice(last));
  box.replaceChildren(frag);
}

function renderCitations(turn, citations) {
  turn.citations = citations;
  const list = turn.els.sources;
  list.replaceChildren();
  for (const c of citations) {
    rememberSource(c.source);
    list.append(el("li", {
      id: `turn-${turn.n}-source-${c.n}`, class: "card", value: c.n,
    },
    el("h4", {}, el("span", { class: "num", text: `[${c.n}] ` }), titleNode(c)),
    meta(c),
    highlighted(c.quote || "", c.quote, "quote", c),
    el("button", { type: "button", class: "link open-passage", "data-n": c.n, "aria-haspopup": "dialog",
      text: "Show in passage" })));
  }
  turn.els.sourcesBlock.hidden = citations.length === 0;
}

function showDone(turn, data) {
  turn.finished = true;
  turn.found = data.found !== false;
  renderAnswer(turn, turn.answer);
  renderCitations(turn, data.citations || []);
  const t = data.timings_ms || {};
  if (t.total !== undefined) {
    const by = data.composer === "llm" ? "the language model" : "extracted sentences";
    const fb = data.fallback_reason ? ` (${data.fallback_reason.split(":")[0].replaceAll("_", " ")})` : "";
    turn.els.timings.textContent = `Answered in ${Math.round(t.total)} ms from ${by}${fb}.`;
  }
  if (data.found === false) {
    turn.node.classList.add("notfound");
    note(turn, NOT_FOUND, "notfound");
  } else {
    setStatus(`Answer with ${(data.citations || []).length} cited source(s).`, "ok");
  }
}

function failed(turn, message) {
  turn.node.classList.add("failed");
  note(turn, message, "error");
}

// ---------------------------------------------------------------------------------------------- requests
async function post(turn, path, body) {
  try {
    const resp = await fetch(path, {
      method: "POST", headers: headers(), signal: controller.signal, body: JSON.stringify(body),
    });
    if (!resp.ok) {
      failed(turn, await errorText(resp));
      return null;
    }
    return resp;
  } catch (err) {
    if (err?.name !== "AbortError") failed(turn, UNREACHABLE);
    return null;
  }
}

// The first question of a conversation: /v1/ask streamed, with its passages (the dialog's context) up front.
async function ask(turn) {
  const resp = await post(turn, "/v1/ask", { question: turn.question, filters: turn.filters, stream: true });
  if (!resp) return;
  let draft = "";
  try {
    for await (const { event, data: raw } of sseEvents(resp)) {
      const data = JSON.parse(raw);
      if (event === "sources") {
        for (const p of data.passages || []) {
          turn.byChunk.set(p.chunk_id, p);
          rememberSource(p.source);
        }
        progress(turn, `Found ${(data.passages || []).length} passages, writing the answer…`);
      } else if (event === "token") {
        // a language model's raw tokens: a provisional draft until the verified answer replaces it
        draft += data.text;
        renderAnswer(turn, draft, true);
      } else if (event === "delta") {
        turn.answer += data.text;
        renderAnswer(turn, turn.answer);
      } else if (event === "done") {
        turn.answer = data.answer ?? turn.answer;
        showDone(turn, data);
      } else if (event === "error") {
        failed(turn, `The answer failed: ${data.message || data.detail || "unknown error"}`);
        return;
      }
    }
    if (!turn.finished) failed(turn, "The answer was cut off: the connection to the service ended early.");
  } catch (err) {
    if (err?.name !== "AbortError") failed(turn, UNREACHABLE);
  }
}

// The conversation so far as chat messages: each earlier question, and each earlier answer's text.
function history() {
  const messages = [];
  for (const t of turns.slice(0, -1)) {
    if (!t.finished) continue;
    messages.push({ role: "user", content: t.question });
    if (t.answer) messages.push({ role: "assistant", content: t.answer });
  }
  return messages;
}

// A follow-up: the chat endpoint makes it standalone from the earlier turns, then answers it.
async function followUp(turn) {
  const messages = [...history(), { role: "user", content: turn.question }];
  progress(turn, "Making the follow-up standalone and searching…");
  const resp = await post(turn, "/v1/chat/completions", { messages, filters: turn.filters, stream: true });
  if (!resp) return;
  try {
    for await (const { data: raw } of sseEvents(resp)) {
      if (raw === "[DONE]") break;
      const data = JSON.parse(raw);
      if (data.error) {
        failed(turn, `The answer failed: ${data.error.message || "unknown error"}`);
        return;
      }
      const choice = (data.choices || [])[0];
      if (!choice) continue;
      const piece = choice.delta?.content;
      if (piece && !piece.startsWith(SOURCES_MD)) {
        turn.answer += piece;
        progress(turn, "Writing the answer…");
        renderAnswer(turn, turn.answer);
      }
      if (choice.finish_reason === "stop") {
        if (data.standalone_query) {
          turn.standaloneQuery = data.standalone_query;
          if (data.standalone_query !== turn.question) {
            turn.els.searched.hidden = false;
            turn.els.searched.replaceChildren("searched for: ", el("q", { text: data.standalone_query }));
          }
        }
        showDone(turn, data);
      }
    }
    if (!turn.finished) failed(turn, "The answer was cut off: the connection to the service ended early.");
  } catch (err) {
    if (err?.name !== "AbortError") failed(turn, UNREACHABLE);
  }
}

async function search(turn) {
  const resp = await post(turn, "/v1/search", { query: turn.question, filters: turn.filters });
  if (!resp) return;
  const body = await resp.json();
  const hits = body.hits || [];
  const list = turn.els.passages;
  hits.forEach((h, i) => {
    rememberSource(h.source);
    list.append(el("li", { class: "card", id: `turn-${turn.n}-passage-${i + 1}` },
      el("h4", {}, titleNode(h)),
      meta(h),
      el("p", { class: "passage", text: h.text }),
      el("p", { class: "score", text: `score ${Number(h.score).toFixed(3)}` })));
  });
  list.hidden = hits.length === 0;
  turn.finished = true;
  if (hits.length === 0) note(turn, "No passages match. Try other words or fewer filters.", "notfound");
  else setStatus(`${hits.length} passage(s) found.`, "ok");
}

// ---------------------------------------------------------------------------------------------- source dialog
// A citation opens inside its whole article: GET /v1/documents/{id}?text=true gives the cleaned article, into
// which every citation's char_start/char_end index, so the quote is highlighted exactly where it was cited.
// Until the article arrives (or when it cannot be loaded) the chunk the answer came from is shown, or the quote.
const articles = new Map(); // doc_id -> Promise<string | null>

function loadArticle(docId) {
  if (!articles.has(docId)) {
    const path = docId.split("/").map(encodeURIComponent).join("/");
    articles.set(docId, fetch(`/v1/documents/${path}?text=true`, { headers: headers() })
      .then((resp) => (resp.ok ? resp.json() : null))
      .then((doc) => (typeof doc?.text === "string" && doc.text ? doc.text : null))
      .catch(() => null)
      .then((text) => {
        if (text === null) articles.delete(docId); // try again next time
        return text;
      }));
  }
  return articles.get(docId);
}

function articleWithQuote(article, c) {
  if (!article || article.slice(c.char_start, c.char_end) !== c.quote) return null;
  const p = el("p", { class: "passage article" });
  p.append(article.slice(0, c.char_start), quoteMark(c.quote, c), article.slice(c.char_end));
  return p;
}

function fillDialog(turn, c, article = null) {
  els.dialogTitle.replaceChildren(el("span", { class: "num", text: `[${c.n}] ` }), c.title || c.doc_id || "Untitled");
  els.dialogMeta.replaceChildren(...meta(c).childNodes);
  let p = articleWithQuote(article, c);
  let noteText = "";
  if (!p) {
    const chunk = turn.byChunk.get(c.chunk_id);
    p = highlighted(chunk?.text || c.quote || "", c.quote, "passage", c);
    if (chunk && chunk.char_start > 0) p.prepend("… ");
    noteText = article === null ? "Loading the article…" : "The article is not available; the cited passage is shown.";
  }
  els.dialogPassage.replaceChildren(p);
  els.dialogNote.textContent = noteText;
  els.dialogUrl.replaceChildren();
  const href = safeUrl(c.url);
  if (href) els.dialogUrl.append(el("a", { href, target: "_blank", rel: "noopener noreferrer", text: "Open the article" }));
  else if (c.url) els.dialogUrl.append(c.url);
}

async function openSource(turn, n, opener) {
  const c = turn.citations.find((x) => String(x.n) === String(n));
  if (!c) {
    setStatus(`Source ${n} is shown once the answer is complete.`);
    return;
  }
  dialogOpener = opener;
  for (const card of turn.els.sources.querySelectorAll(".card.active")) card.classList.remove("active");
  document.getElementById(`turn-${turn.n}-source-${c.n}`)?.classList.add("active");
  fillDialog(turn, c);
  if (!els.dialog.open) els.dialog.showModal();
  els.dialogPassage.focus();
  const article = await loadArticle(c.doc_id);
  if (!els.dialog.open || dialogOpener !== opener) return; // closed, or another source opened meanwhile
  fillDialog(turn, c, article ?? "");
  els.dialogPassage.querySelector("mark")?.scrollIntoView({ block: "center" });
}

els.turns.addEventListener("click", (ev) => {
  const button = ev.target.closest("button.cite, button.open-passage");
  if (!button) return;
  const turnNode = button.closest(".turn");
  const turn = turns.find((t) => t.node === turnNode);
  if (turn) openSource(turn, button.dataset.n, button);
});

els.dialogClose.addEventListener("click", () => els.dialog.close());
els.dialog.addEventListener("click", (ev) => { if (ev.target === els.dialog) els.dialog.close(); }); // backdrop
els.dialog.addEventListener("close", () => {
  if (dialogOpener?.isConnected) dialogOpener.focus();
  dialogOpener = null;
});

// ---------------------------------------------------------------------------------------------- form
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
  const isFollowUp = turns.some((t) => t.finished); // a failed first question does not start a thread
  const turn = newTurn(question, mode);
  els.question.value = "";
  els.question.placeholder = "Ask a follow-up, e.g. and what about fertilizers?";
  els.submit.disabled = true;
  const mine = controller;
  try {
    if (mode === "search") await search(turn);
    else if (isFollowUp) await followUp(turn);
    else await ask(turn);
  } finally {
    finish(turn);
    if (controller === mine) els.submit.disabled = false;
  }
});

els.question.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    els.form.requestSubmit();
  }
});

els.form.addEventListener("change", (ev) => {
  if (ev.target.name === "mode") els.submit.textContent = ev.target.value === "search" ? "Search" : "Ask";
});

els.newConversation.addEventListener("click", () => {
  if (controller) controller.abort();
  turns.length = 0;
  els.turns.replaceChildren();
  els.newConversation.disabled = true;
  els.question.placeholder = "e.g. What did Russia promise Mali?";
  setStatus("New conversation: earlier turns are forgotten.");
  els.question.focus();
});

// The API key lives in sessionStorage: it survives a reload but not the tab, and is never written to disk for
// later visitors of the same browser profile (earlier versions kept it in localStorage: removed here).
localStorage.removeItem(KEY_STORE);
$("key-hint").textContent = "Kept in this browser tab only, until it is closed (sessionStorage).";
els.apiKey.value = sessionStorage.getItem(KEY_STORE) || "";
els.apiKey.addEventListener("change", () => {
  const key = els.apiKey.value.trim();
  if (key) sessionStorage.setItem(KEY_STORE, key);
  else sessionStorage.removeItem(KEY_STORE);
});
