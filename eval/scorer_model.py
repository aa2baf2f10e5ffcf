"""The answer scorer's network: the base transformer's first layers, mean-pooled over the pair's tokens, and one
linear logit.

Why not ``AutoModelForSequenceClassification``: its head reads BERT's pooler (``tanh(W · h[CLS])``), which
all-MiniLM-L6-v2 never trained (it was trained with mean pooling). Over three different inputs that pooler's
output varies by 0.04 per component (mean-pooled token states: 0.28), so the head first saw an almost constant
vector: the first training run (493 steps of 32 pairs) learned little more than the label prior, and validation
top-1 stayed at chance (0.25 within a paragraph). Mean pooling is what the base model was trained to make
meaningful. The module exports to OpenVINO as it is (``python -m eval.export_scorer``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

ENCODER_DIR = "encoder"
HEAD_FILE = "head.pt"


class MeanPooledScorer(nn.Module):
    def __init__(self, encoder: Any) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, 1)

    @property
    def config(self) -> Any:
        return self.encoder.config

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor) -> torch.Tensor:
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(pooled)

    def save(self, folder: Path, tokenizer: Any) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(folder / ENCODER_DIR)
        tokenizer.save_pretrained(folder)
        torch.save(self.head.state_dict(), folder / HEAD_FILE)

    @classmethod
    def load(cls, folder: Path) -> MeanPooledScorer:
        from transformers import AutoModel

        model = cls(AutoModel.from_pretrained(folder / ENCODER_DIR))
        model.head.load_state_dict(torch.load(folder / HEAD_FILE, weights_only=True))
        return model.eval()


def build(base: str, layers: int) -> MeanPooledScorer:
    """The scorer over the base transformer's first ``layers`` layers (0: all), with a fresh head."""
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(base)
    if layers:
        config.num_hidden_layers = min(layers, config.num_hidden_layers)
    return MeanPooledScorer(AutoModel.from_pretrained(base, config=config))
