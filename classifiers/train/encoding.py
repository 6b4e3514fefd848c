"""Tokenisation, training windows, runtime-like windowing and length-bucketed batches."""

from __future__ import annotations

import difflib
import random
import re
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from .data import Example, stable_hash
from .model import base_model_dir

CLS, SEP, PAD = 101, 102, 0


def load_tokenizer(path: Path | None = None) -> Tokenizer:
    tok = Tokenizer.from_file(str(path or base_model_dir() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


def _words(text: str):
    return [(m.start(), m.end(), m.group().lower()) for m in re.finditer(r"\S+", text)]


def locate_injection(doc: str, clean_docs: list[str]) -> tuple[int, int] | None:
    """Char span of the text inserted into `doc` relative to its closest clean document."""
    words = _words(doc)
    if not words or not clean_docs:
        return None
    sh = {
        zlib.crc32(" ".join(w[2] for w in words[i : i + 5]).encode())
        for i in range(max(1, len(words) - 4))
    }
    best, best_n = None, 0
    for c in clean_docs:
        cw = [w.lower() for w in c.split()]
        n = len(
            sh & {zlib.crc32(" ".join(cw[i : i + 5]).encode()) for i in range(max(1, len(cw) - 4))}
        )
        if n > best_n:
            best, best_n = cw, n
    if best is None:
        return None
    sm = difflib.SequenceMatcher(None, [w[2] for w in words], best, autojunk=False)
    ops = [
        (i1, i2)
        for tag, i1, i2, _, _ in sm.get_opcodes()
        if tag in ("insert", "replace", "delete") and i2 > i1
    ]
    if not ops:
        return None
    i1, i2 = max(ops, key=lambda o: o[1] - o[0])
    return words[i1][0], words[i2 - 1][1]


def injection_spans(examples: list[Example]) -> dict[int, tuple[int, int]]:
    """For injected documents without a position tag, find the inserted span (by id(example))."""
    clean = defaultdict(list)
    for e in examples:
        if e.channel == "document" and e.inj == 0:
            clean[e.family].append(e.text)
    spans = {}
    for e in examples:
        if e.channel == "document" and e.inj == 1 and not e.position:
            span = locate_injection(e.text, clean[e.family])
            if span:
                spans[id(e)] = span
    return spans


def _benign(ex: Example) -> bool:
    return ex.inj <= 0 and (ex.harm_masked or ex.harm[0] == 0)


def train_window(
    ex: Example, enc, max_len: int, span: tuple[int, int] | None, vary_benign: bool = False
) -> list[int]:
    """One window of <= max_len tokens incl. [CLS]/[SEP]; keeps a known injection inside it.
    With `vary_benign`, a long benign row's window starts at a hash-chosen token instead of its
    beginning: the runtime scores every window of a long text, so the model must see their
    middles and ends as benign too, not only their openings."""
    ids, offs = enc.ids, enc.offsets
    room = max_len - 2
    if len(ids) <= room:
        start = 0
    elif vary_benign and span is None and not ex.position and _benign(ex):
        start = stable_hash("window|" + ex.text) % (len(ids) - room + 1)
    elif span is not None:
        tok_in = [i for i, (a, b) in enumerate(offs) if b > span[0] and a < span[1]] or [0]
        mid = (tok_in[0] + tok_in[-1]) // 2
        start = min(max(0, mid - room // 2), len(ids) - room)
    elif ex.position == "end":
        start = len(ids) - room
    elif ex.position == "middle":
        start = (len(ids) - room) // 2
    else:
        start = 0
    return [CLS, *ids[start : start + room], SEP]


def encode_train(
    examples: list[Example],
    tok: Tokenizer,
    max_len: int,
    doc_max_len: int,
    spans: dict[int, tuple[int, int]] | None = None,
    vary_benign: bool = False,
) -> list[list[int]]:
    spans = spans or {}
    encs = tok.encode_batch([e.text for e in examples], add_special_tokens=False)
    out = []
    for e, enc in zip(examples, encs, strict=False):
        ml = doc_max_len if e.channel == "document" else max_len
        out.append(train_window(e, enc, ml, spans.get(id(e)), vary_benign))
    return out


def runtime_windows(ids: list[int], max_len: int, stride: int) -> list[list[int]]:
    """Overlapping windows as the runtime makes them (BUNDLE.md max_length / window_stride)."""
    room = max_len - 2
    if len(ids) <= room:
        return [[CLS, *ids, SEP]]
    starts = [*list(range(0, len(ids) - room, stride)), len(ids) - room]
    return [[CLS, *ids[s : s + room], SEP] for s in sorted(set(starts))]


def bucket_batches(
    lengths: list[int], max_tokens: int, max_batch: int, seed: int, shuffle: bool = True
) -> list[list[int]]:
    """Indices grouped into batches of similar length (dynamic padding, token budget)."""
    rng = random.Random(seed)
    idx = list(range(len(lengths)))
    if shuffle:
        rng.shuffle(idx)
    chunk = max_batch * 50
    batches = []
    for c in range(0, len(idx), chunk):
        part = sorted(idx[c : c + chunk], key=lambda i: lengths[i])
        cur: list[int] = []
        for i in part:
            if (cur and (len(cur) + 1) * max(lengths[j] for j in [*cur, i]) > max_tokens) or len(
                cur
            ) >= max_batch:
                batches.append(cur)
                cur = []
            cur.append(i)
        if cur:
            batches.append(cur)
    if shuffle:
        rng.shuffle(batches)
    return batches


def pad(seqs: list[list[int]]) -> dict[str, np.ndarray]:
    n = max(len(s) for s in seqs)
    ids = np.zeros((len(seqs), n), dtype=np.int64)
    mask = np.zeros((len(seqs), n), dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
        mask[i, : len(s)] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
