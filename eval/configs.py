"""Named evaluation configurations: bundles of settings, so that a sweep is one command.

A configuration is a mode plus overrides of :class:`service.settings.ServiceSettings` fields. Fields in
``INDEX_FIELDS`` (``indexer.settings.INDEX_SHAPING_FIELDS``) shape the index (chunks and vectors) and key the
index cache; every other field (fusion, dense_weight, prefetch_limit) is applied at query time against the
same cached index.

``default`` is whatever ``ServiceSettings.from_env()`` holds, i.e. what a user gets; every other configuration
states its values explicitly so that its meaning does not move when the default does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.settings import DEFAULT_EMBED_MODEL
from indexer.settings import INDEX_SHAPING_FIELDS as INDEX_FIELDS
from service.retrieval import Mode
from service.settings import ServiceSettings


@dataclass(frozen=True)
class EvalConfig:
    name: str
    mode: Mode = "hybrid"
    overrides: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def settings(self, base: ServiceSettings) -> ServiceSettings:
        return base.model_copy(update=self.overrides)

    def describe(self, base: ServiceSettings) -> str:
        s = self.settings(base)
        if self.mode != "hybrid":
            side = f"{self.mode} only"
        elif s.fusion == "weighted":
            side = f"weighted w={s.dense_weight:g}"
        elif s.fusion == "adaptive":
            side = f"adaptive w={s.dense_weight:g}..{s.dense_weight_same_article:g}"
        else:
            side = s.fusion
        model = "" if s.embed_model == DEFAULT_EMBED_MODEL else f"{Path(s.embed_model).name}@{s.embed_backend}, "
        fit = " in the model's window" if s.chunk_fit_model else ""
        return (f"{model}{side}, prefetch {s.prefetch_limit}, chunk {s.chunk_tokens}/{s.chunk_overlap}{fit}, "
                f"title {'on' if s.embed_title else 'off'}, bm25 k1={s.bm25_k1:g} b={s.bm25_b:g} "
                f"avgdl={s.sparse_avg_doc_tokens:g}")


MPNET = "data/models/all-mpnet-base-v2"
"""Where ``scripts/install_model.py`` puts all-mpnet-base-v2 (relative to the repository root, where evals run)."""


def _c(name: str, mode: Mode = "hybrid", note: str = "", **overrides: Any) -> EvalConfig:
    return EvalConfig(name, mode, overrides, note)


_LIST = [
    _c("default", note="the project default (ServiceSettings)"),
    _c("dense", "dense", note="dense side alone, through Qdrant"),
    _c("sparse", "sparse", note="the project's BM25 sparse side alone, through Qdrant"),
    *[_c(f"adaptive-lo{int(lo * 100):02d}", fusion="adaptive", dense_weight=0.8, dense_weight_same_article=lo,
         prefetch_limit=50) for lo in (0.0, 0.1, 0.2, 0.3, 0.4)],
    _c("adaptive-hi70", fusion="adaptive", dense_weight=0.7, dense_weight_same_article=0.2, prefetch_limit=50),
    _c("adaptive-p100", fusion="adaptive", dense_weight=0.8, dense_weight_same_article=0.2, prefetch_limit=100),
    _c("adaptive-c128", fusion="adaptive", dense_weight=0.8, dense_weight_same_article=0.2, chunk_tokens=128,
       chunk_overlap=16, note="re-index"),
    _c("rrf", fusion="rrf", prefetch_limit=50),
    _c("dbsf", fusion="dbsf", prefetch_limit=50),
    *[_c(f"w{int(w * 100):02d}", fusion="weighted", dense_weight=w, prefetch_limit=50)
      for w in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)],
    _c("w60-p20", fusion="weighted", dense_weight=0.6, prefetch_limit=20),
    _c("w60-p100", fusion="weighted", dense_weight=0.6, prefetch_limit=100),
    *[cfg for w in (0.4, 0.6) for cfg in (
        _c(f"w{int(w * 100)}-notitle", fusion="weighted", dense_weight=w, embed_title=False, note="re-index"),
        _c(f"w{int(w * 100)}-c128", fusion="weighted", dense_weight=w, chunk_tokens=128, chunk_overlap=16,
           note="re-index"),
        _c(f"w{int(w * 100)}-c512", fusion="weighted", dense_weight=w, chunk_tokens=512, chunk_overlap=64,
           note="re-index"),
        _c(f"w{int(w * 100)}-bm25-b04", fusion="weighted", dense_weight=w, bm25_k1=0.9, bm25_b=0.4,
           note="sparse re-index"),
        _c(f"w{int(w * 100)}-bm25-avg100", fusion="weighted", dense_weight=w, sparse_avg_doc_tokens=100.0,
           note="sparse re-index"),
    )],
    _c("sparse-bm25-b04", "sparse", bm25_k1=0.9, bm25_b=0.4, note="sparse re-index"),
    # issue 12: chunks within the embedding model's window, and the optional stronger model
    _c("nofit", chunk_fit_model=False, note="re-index: 256 cl100k tokens only (before issue 12)"),
    _c("mpnet", embed_model=MPNET, chunk_fit_model=True, note="re-index; scripts/install_model.py first"),
    _c("mpnet-nofit", embed_model=MPNET, chunk_fit_model=False, note="re-index; scripts/install_model.py first"),
]

CONFIGS: dict[str, EvalConfig] = {c.name: c for c in _LIST}

GROUPS: dict[str, list[str]] = {
    "all": list(CONFIGS),
    "core": ["default", "dense", "sparse", "rrf", "dbsf"],
    "models": ["default", "nofit", "mpnet"],
    "adaptive": [c for c in CONFIGS if c.startswith("adaptive") and c != "adaptive-c128"],
    "weights": [c for c in CONFIGS if c.startswith("w") and "-" not in c],
    "index": [c for c, cfg in CONFIGS.items() if any(k in INDEX_FIELDS for k in cfg.overrides)],
    "query": [c for c, cfg in CONFIGS.items() if not any(k in INDEX_FIELDS for k in cfg.overrides)],
}
"""``query``: every configuration that reuses the default index (no re-indexing)."""


def resolve(names: list[str] | None) -> list[EvalConfig]:
    """Configuration names and group names to configurations, in order, without repeats."""
    out: list[EvalConfig] = []
    for name in names or ["core"]:
        for n in GROUPS.get(name, [name]):
            if n not in CONFIGS:
                raise KeyError(f"unknown configuration {n!r}; known: {', '.join([*GROUPS, *CONFIGS])}")
            if CONFIGS[n] not in out:
                out.append(CONFIGS[n])
    return out
