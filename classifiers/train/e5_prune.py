"""Prune multilingual-e5-small's 250k-piece vocabulary to the pieces a broad multilingual sample
uses, so that the model fits in the repository.

    python -m classifiers.train.e5_prune [--min-count 1 2 3] [--out metrics.json]

Embeddings are 96 M of the model's 117.5 M parameters; the shared data uses about 100 k pieces.
Kept: the special pieces, every single-character piece (with or without the word marker, so any
text can still be spelled out) and every piece the sample's tokenisation uses at least
`--min-count` times. The sample is the training split (data.is_validation false) of every file
under ../shared/data except dev/, in all languages. Pruning keeps the scores, so a text whose
best segmentation only uses kept pieces is tokenised exactly as before (every training text);
any other text is re-segmented, which moves its embedding. The report measures that on
held-out text: the validation split of the same files and the converter's 30 check sentences.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from . import data as D
from .e5_convert import (
    CHECK_SENTENCES,
    E5File,
    build_tokenizer,
    embed,
    read_e5,
    to_bert,
    wheel_file,
)

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# every text file of the shared data (dev/ is never read here)
SAMPLE_FILES = [
    ("injection/prompts.jsonl", "prompt"),
    ("injection/prompts_multilingual.jsonl", "prompt"),
    ("injection/documents.jsonl", "document"),
    ("injection/documents_multilingual.jsonl", "document"),
    ("harm/prompts.jsonl", "prompt"),
    ("harm/prompts_multilingual.jsonl", "prompt"),
    ("harm/text.jsonl", "text"),
    ("harm/text_multilingual.jsonl.gz", "text"),
    ("harm/completions.jsonl", "completion"),
    ("benign/prompts.jsonl", "prompt"),
    ("benign/prompts_multilingual.jsonl", "prompt"),
]


def sample_texts(data_dir: Path) -> tuple[list[str], list[str]]:
    """(training-split texts, validation-split texts) of every SAMPLE_FILES file, all languages."""
    train: list[str] = []
    val: list[str] = []
    for rel, channel in SAMPLE_FILES:
        if not (data_dir / rel).exists():
            continue
        for ex in D.load_file(data_dir, rel, channel, english_only=False):
            (val if D.is_validation(ex) else train).append(ex.text)
    return train, val


def piece_counts(tokenizer: Any, texts: list[str], batch: int = 512) -> Counter[int]:
    """How often each piece id occurs in the tokenisation of `texts`."""
    counts: Counter[int] = Counter()
    for i in range(0, len(texts), batch):
        for enc in tokenizer.encode_batch(texts[i : i + batch], add_special_tokens=False):
            counts.update(enc.ids)
    return counts


def single_character(piece: str) -> bool:
    """One character, alone or after the word marker (so every text stays spellable)."""
    return len(piece.removeprefix("\u2581")) <= 1


def keep_ids(e5: E5File, counts: Counter[int], min_count: int = 1, top: int = 0) -> list[int]:
    """Old ids to keep, ascending: specials, single characters, pieces seen >= min_count and
    the `top` pieces of highest unigram score (the most frequent in XLM-R's own 100-language
    training text: a broader sample than ours, for languages our data lacks)."""
    special = set(e5.special.values()) | {len(e5.pieces) - 1}  # <mask> is the last piece
    frequent = set(np.argsort(-e5.scores, kind="stable")[:top].tolist()) if top else set()
    return [
        i
        for i, piece in enumerate(e5.pieces)
        if i in special or single_character(piece) or counts.get(i, 0) >= min_count or i in frequent
    ]


def prune(e5: E5File, keep: list[int]) -> E5File:
    """The same model with only the `keep` pieces (and their embedding rows), renumbered in
    order. The specials come first in XLM-R's vocabulary, so their ids do not change."""
    if keep[:4] != [0, 1, 2, 3]:
        raise ValueError("the four special pieces must be kept (and stay first)")
    hidden = e5.config["hidden"]
    word = e5.tensors["emb.word"].reshape(e5.config["vocab"], hidden)[keep]
    tensors = dict(e5.tensors, **{"emb.word": word.reshape(-1)})
    config = dict(e5.config, vocab=len(keep))
    return replace(
        e5,
        config=config,
        pieces=[e5.pieces[i] for i in keep],
        scores=e5.scores[keep],
        tensors=tensors,
    )


def drift(full: tuple[Any, Any], pruned: tuple[Any, Any], texts: list[str]) -> dict[str, float]:
    """Tokenisation changes and embedding cosine (pruned vs full) on `texts`."""
    (m_full, t_full), (m_pruned, t_pruned) = full, pruned
    changed = [i for i, t in enumerate(texts) if _pieces(t_full, t) != _pieces(t_pruned, t)]
    cos = np.ones(len(texts))
    if changed:
        sub = [texts[i] for i in changed]
        cos[changed] = (embed(m_full, t_full, sub) * embed(m_pruned, t_pruned, sub)).sum(1)
    return {
        "texts": len(texts),
        "retokenised": len(changed),
        "cosine_min": round(float(cos.min()), 5),
        "cosine_mean": round(float(cos.mean()), 5),
        "cosine_p1": round(float(np.percentile(cos, 1)), 5),
    }


def _pieces(tokenizer: Any, text: str) -> list[str]:
    return list(tokenizer.encode(text, add_special_tokens=False).tokens)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=D.DEFAULT_DATA_DIR)
    ap.add_argument("--min-count", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--top", type=int, nargs="+", default=[0], help="also keep N best-scored")
    ap.add_argument("--held-out", type=int, default=600, help="validation texts for the drift")
    ap.add_argument("--out", type=Path, help="write the measurements as JSON here")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    e5 = read_e5(wheel_file())
    tok = build_tokenizer(e5)
    train, val = sample_texts(args.data_dir)
    counts = piece_counts(tok, train)
    rng = np.random.default_rng(0)
    held = [val[i][:2000] for i in rng.choice(len(val), min(args.held_out, len(val)), False)]
    full = (to_bert(e5), tok)
    report: dict[str, Any] = {"sample_texts": len(train), "distinct_pieces": len(counts)}
    for k, top in [(k, t) for k in args.min_count for t in args.top]:
        small = prune(e5, keep_ids(e5, counts, k, top))
        pruned = (to_bert(small), build_tokenizer(small))
        row = {
            "vocabulary": len(small.pieces),
            "embedding_params_m": round(small.tensors["emb.word"].size / 1e6, 2),
            "held_out_validation": drift(full, pruned, held),
            "check_sentences": drift(full, pruned, CHECK_SENTENCES),
        }
        report[f"min_count_{k}_top_{top}"] = row
        print(json.dumps({f"min_count_{k}_top_{top}": row}), flush=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
