"""Follow-ups made standalone by the language model, when one is configured.

A follow-up ("and what about fertilizers?", "when did he say that?") has no subject of its own. Without a model,
:func:`service.answering.followup.standalone_query` carries the earlier turns' names and key words into it. With
a model, :class:`ModelRewriter` asks it to write the question as one standalone search query, which can resolve
a pronoun to the right name and drop what the follow-up no longer asks about. The rule stays the safety net:

* a turn that is not a follow-up (it names its own subject) goes to retrieval as typed, with no model call;
* the model unreachable, too slow (``NEWSDESK_LLM_REWRITE_TIMEOUT_S``), or replying with something that is not a
  query (empty, a "NOT FOUND", much longer than the conversation, or a statement sharing no word with the
  follow-up: an answer, not a query) gives the rule's rewrite, and ``Rewrite.by`` says which one was used and why.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

import openai

from indexer.sparse import terms
from service.answering.followup import Rewrite, is_follow_up, standalone_query
from service.settings import ServiceSettings

log = logging.getLogger("newsdesk.llm")

SYSTEM_PROMPT = (
    "You rewrite the user's last question in a conversation about news articles as ONE standalone search query. "
    "Replace pronouns and vague references (he, she, it, they, that, the deal, there) with the names and topics "
    "they refer to in the earlier questions. Keep the last question's own words and what it asks. "
    "Reply with the query only: one line, no explanation, no quotes.\n\n"
    "Examples.\nEarlier questions:\n1. Which company recalled its electric scooters?\nLast question: why did it do "
    "that?\nQuery: Why did the company recall its electric scooters?\n\n"
    "Earlier questions:\n1. Who won the regional election in Saxony?\nLast question: and what about turnout?\n"
    "Query: What was the turnout in the regional election in Saxony?"
)
MAX_REPLY_TOKENS = 64
_PREFIX = re.compile(r"^\s*(?:standalone\s+)?(?:search\s+)?(?:query|question|rewritten(?: question| query)?)\s*:\s*",
                     re.IGNORECASE)


def conversation_prompt(turns: list[str]) -> str:
    earlier = "\n".join(f"{i}. {t}" for i, t in enumerate(turns[:-1], start=1))
    return f"Earlier questions:\n{earlier}\nLast question: {turns[-1]}\nQuery:"


def clean_reply(reply: str, turns: list[str]) -> str | None:
    """The query in a model's reply, or None when the reply is not one (see the module docstring)."""
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
    if not lines:
        return None
    query = _PREFIX.sub("", lines[0]).strip().strip("\"'`“”").strip()
    if not query or "NOT FOUND" in query.upper():
        return None
    if len(query) > max(200, 2 * sum(len(t) for t in turns)):
        return None
    own = set(terms(turns[-1]))
    if own and not own & set(terms(query)) and not query.endswith("?"):
        return None  # a statement with nothing of the follow-up left: it answered or drifted instead of rewriting
    return query


class ModelRewriter:
    """Makes the last of ``turns`` standalone with the configured model; the rule when that fails."""

    def __init__(self, settings: ServiceSettings, client: openai.OpenAI | None = None) -> None:
        self.model = settings.llm_model
        self.client = client or openai.OpenAI(
            base_url=settings.llm_base_url, api_key=settings.llm_api_key or "not-needed",
            timeout=settings.llm_rewrite_timeout_s, max_retries=0,
        )

    def rewrite(self, turns: list[str]) -> Rewrite:
        rule = standalone_query(turns)
        texts = [t.strip() for t in turns if t and t.strip()]
        if len(texts) < 2 or not is_follow_up(texts[-1]):
            return rule
        try:
            reply = self.client.chat.completions.create(
                model=self.model, temperature=0.0, max_tokens=MAX_REPLY_TOKENS,
                messages=[{"role": "system", "content": SYSTEM_PROMPT},
                          {"role": "user", "content": conversation_prompt(texts)}],
            )
            text = (reply.choices[0].message.content or "") if reply.choices else ""
        except openai.APITimeoutError:
            return replace(rule, by="rule:llm_timeout")
        except openai.OpenAIError as exc:
            log.warning("follow-up rewrite by the model failed (%s); the rule rewrote it", type(exc).__name__)
            return replace(rule, by="rule:llm_unreachable")
        query = clean_reply(text, texts)
        if query is None:
            log.info("the model's rewrite %r is not a query; the rule rewrote the follow-up", text[:120])
            return replace(rule, by="rule:llm_invalid")
        return Rewrite(query, query != texts[-1], [], by="model")
