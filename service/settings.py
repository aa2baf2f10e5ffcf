"""The service's configuration: the indexer's settings (same store, same model) plus the read side's knobs.

Grouped by layer: the HTTP server, retrieval (fusion), answers (composer) and the optional language model.
Same ``NEWSDESK_`` prefix and ``.env`` file as :class:`indexer.settings.IndexerSettings`; obtain them with
``ServiceSettings.from_env()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from indexer.settings import IndexerSettings

FusionMethod = Literal["adaptive", "weighted", "rrf", "dbsf"]
ComposerName = Literal["auto", "extractive", "llm"]


class ServiceSettings(IndexerSettings):
    # --- HTTP server -------------------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    api_key: str | None = Field(None, description="When set, every /v1/ route requires 'Authorization: Bearer'.")
    write_api_key: str | None = Field(
        None, description="When set, POST and DELETE /v1/documents require this key (the read key gets 403 there); "
        "it is also accepted wherever the read key is.")
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(5_000_000, ge=1024)
    max_question_chars: int = Field(
        1000, ge=10, description="Longest question (/v1/ask, chat) and search query (/v1/search), in characters.")
    max_records: int = Field(1000, ge=1, description="Most article records in one POST /v1/documents.")
    rate_limit: str | None = Field(
        None, pattern=r"^\s*[1-9]\d*\s*/\s*(second|minute|hour|day)\s*$",
        description="Requests per API key (per client address when no key is sent) to /v1/, e.g. '60/minute'; "
        "unset: no limit.")
    log_level: str = "INFO"

    # --- retrieval ---------------------------------------------------------------------------------------------
    fusion: FusionMethod = Field(
        "adaptive",
        description="'adaptive': weighted fusion whose dense weight falls from dense_weight to "
        "dense_weight_same_article when the dense side's best chunks crowd into a few articles "
        "(see service/retrieval/fusion.py); 'weighted': fixed dense_weight; 'rrf'/'dbsf': inside Qdrant.",
    )
    dense_weight: float = Field(
        0.8, ge=0, le=1, description="Dense share of 'weighted' fusion; the upper end of 'adaptive' fusion."
    )
    dense_weight_same_article: float = Field(
        0.2, ge=0, le=1,
        description="'adaptive' fusion's dense share when the dense top 10 come from 8 or fewer articles.",
    )
    prefetch_limit: int = Field(50, ge=1, le=1000)

    # --- answers -----------------------------------------------------------------------------------------------
    composer: ComposerName = Field(
        "auto", description="'auto': the language model when one is configured, else 'extractive'."
    )
    answer_scorer: Literal["learned", "rules"] = Field(
        "rules", description="Who picks the extractive answer's sentences: 'rules', the hand-weighted scorer "
        "(service/answering/extractive.py), or 'learned', a cross-encoder trained by python -m eval.train_scorer "
        "and exported by python -m eval.export_scorer (needs answer_scorer_model: no trained model ships yet).")
    answer_scorer_model: Path | None = Field(
        None, description="The exported scorer folder the 'learned' scorer loads (openvino_model.xml, "
        "tokenizer.json, scorer.json, calibration.json).")
    answer_candidates: int = Field(
        16, ge=1, le=64, description="Sentences the learned scorer reads per question (pre-ranked by stored "
        "sentence vectors and question terms).")

    # --- language model (OpenAI-compatible chat completions; optional) -----------------------------------------
    llm_base_url: str | None = Field(None, description="e.g. http://127.0.0.1:8080/v1 (llama.cpp, Ollama, vLLM).")
    llm_model: str = "local"
    llm_api_key: str | None = None
    llm_timeout_s: float = Field(60.0, gt=0)
    llm_max_tokens: int = Field(256, ge=16)
    llm_rewrite: bool = Field(True, description="Let the model make follow-up questions standalone (else the rule).")
    llm_rewrite_timeout_s: float = Field(20.0, gt=0, description="A slower rewrite falls back to the rule.")
    llm_context_tokens: int = Field(
        700, ge=100, le=32000,
        description="Evidence given to the model: the retrieved passages' best sentences and their neighbours, "
        "up to this many (cl100k) tokens.",
    )
    llm_unsupported: Literal["remove", "mark"] = Field(
        "remove", description="A generated sentence with no verified citation is removed, or kept and marked."
    )

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url)

    def rate_limit_rule(self) -> tuple[Literal["second", "minute", "hour", "day"], int] | None:
        """``NEWSDESK_RATE_LIMIT`` as Litestar's ``(unit, count)``, e.g. ``("minute", 60)``; None when unset."""
        if not self.rate_limit:
            return None
        count, _, unit = self.rate_limit.partition("/")
        return unit.strip(), int(count)  # type: ignore[return-value]  # the field's pattern admits these only
