"""The answer-sentence scorer: the project's own cross-encoder, which reads a question and one candidate
sentence together and gives the calibrated probability that the sentence states the answer.

Trained by ``python -m eval.train_scorer`` on SQuAD 1.1 (never on the news sets) and exported by
``python -m eval.export_scorer`` to an OpenVINO IR inside this package (``scorer_model/``, with its model card),
so an installed wheel carries it and nothing is downloaded. ``NEWSDESK_ANSWER_SCORER_MODEL`` points at another
exported folder (same layout: ``openvino_model.xml``/``.bin``, ``tokenizer.json``, ``scorer.json``,
``calibration.json``).

``calibration.json`` is written by the export from validation questions (held-out SQuAD articles): Platt
scaling of the logit (``platt_a``, ``platt_b``) and the found threshold on the calibrated probability. Nothing
here is tuned by hand.

Thread-safe: a small pool of OpenVINO infer requests (``infer`` releases the GIL), the tokenizer under a lock.
"""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BUNDLED = Path(__file__).resolve().parent / "scorer_model"
MODEL_FILE = "openvino_model.xml"


class ScorerError(RuntimeError):
    """The scorer model folder is missing or incomplete; the message names the file."""


@dataclass(frozen=True, slots=True)
class Calibration:
    platt_a: float
    platt_b: float
    found_threshold: float

    def probability(self, logits: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.platt_a * logits + self.platt_b)))


def passage_text(title: str, sentence: str) -> str:
    """The passage side of a pair, as in training (``eval.scorer_data.passage``): the title, then the sentence."""
    return f"{title}\n{sentence}" if title else sentence


class AnswerScorer:
    """Calibrated answer probabilities for (question, passage) pairs."""

    def __init__(self, path: Path = BUNDLED, threads: int = 0, requests: int = 2,
                 ov_config: dict[str, str] | None = None) -> None:
        path = Path(path)
        for name in (MODEL_FILE, "tokenizer.json", "scorer.json", "calibration.json"):
            if not (path / name).is_file():
                raise ScorerError(f"answer scorer model incomplete: {path / name} not found (export one with "
                                  "`python -m eval.export_scorer`, or set NEWSDESK_ANSWER_SCORER=rules)")
        import openvino as ov
        from tokenizers import Tokenizer

        self.path = path
        meta = json.loads((path / "scorer.json").read_text())
        self.max_length = int(meta.get("max_length", 128))
        self.precision = str(meta.get("precision", "unknown"))
        cal = json.loads((path / "calibration.json").read_text())
        self.calibration = Calibration(float(cal["platt_a"]), float(cal["platt_b"]), float(cal["found_threshold"]))
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tokenizer.enable_truncation(self.max_length, strategy="only_second")
        self._tokenizer.enable_padding()
        self._tokenizer_lock = threading.Lock()
        props = {"PERFORMANCE_HINT": "LATENCY"}
        if threads:
            props["INFERENCE_NUM_THREADS"] = str(threads)
        props.update(ov_config or {})
        self._compiled = ov.Core().compile_model(str(path / MODEL_FILE), "CPU", props)
        self._inputs = [port.get_any_name() for port in self._compiled.inputs]
        self._requests: queue.Queue[object] = queue.Queue()
        for _ in range(max(1, requests)):
            self._requests.put(self._compiled.create_infer_request())

    @property
    def found_threshold(self) -> float:
        return self.calibration.found_threshold

    def logits(self, question: str, passages: list[str]) -> np.ndarray:
        if not passages:
            return np.zeros(0, dtype=np.float32)
        with self._tokenizer_lock:
            encoded = self._tokenizer.encode_batch([(question, p) for p in passages])
        ids = np.asarray([e.ids for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.asarray([e.attention_mask for e in encoded], dtype=np.int64),
                 "token_type_ids": np.asarray([e.type_ids for e in encoded], dtype=np.int64)}
        request = self._requests.get()
        try:
            out = request.infer({name: feeds[name] for name in self._inputs})  # type: ignore[attr-defined]
            logits = np.asarray(out[0], dtype=np.float32).reshape(-1).copy()
        finally:
            self._requests.put(request)
        return logits

    def probabilities(self, question: str, passages: list[str]) -> np.ndarray:
        """P(passage states the answer to question), calibrated on validation questions."""
        return self.calibration.probability(self.logits(question, passages))
