"""One ONNX Runtime session + its tokenizer: token ids in, every head's probabilities out.

The only module that imports onnxruntime and tokenizers. Foreign errors become `BundleError`
here, naming the file. Thread-safe: `encode` and `forward` may be called from many threads
on one instance (ONNX Runtime sessions and `tokenizers.Tokenizer` allow concurrent calls).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

from guardrail.errors import BundleError
from guardrail.inference.bundle import Bundle, HeadSpec
from guardrail.inference.windows import Encoded

Probs = npt.NDArray[np.float64]  # [rows, labels]
Vectors = npt.NDArray[np.float32]  # [rows, dim], each row of unit length


@dataclass(frozen=True)
class Output:
    """What one forward pass gives: every head's probabilities per row, and per token (a pass
    that skipped the token heads, `OnnxModel.infer(tokens=False)`, has none of theirs)."""

    probs: dict[str, Probs]  # head -> [rows, labels] (token heads: max over the row's tokens)
    tokens: dict[str, list[Probs]]  # token head -> per row: [row length, labels]
    # the encoder's pooled embedding per row, L2-normalised (bundles that declare `embedding`)
    embeddings: Vectors | None = None

    def row(self, index: int) -> Output:
        """The part of this output that belongs to one row."""
        return Output(
            {head: p[index : index + 1] for head, p in self.probs.items()},
            {head: [rows[index]] for head, rows in self.tokens.items()},
            None if self.embeddings is None else self.embeddings[index : index + 1],
        )


_PROBE = "guardrail probe text"
_SHRINK = ort.RunOptions()  # a run that frees the arena's unused chunks when it ends
_SHRINK.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

# ONNX Runtime fusions left off. SkipLayerNormFusion turns each Add + LayerNormalization into
# one SkipLayerNormalization whose CPU kernel is slower than the two ops it replaces (~7x the
# time per element of LayerNormalization): guard-minilm, 1 thread, CPU ms per pass 1x64 tokens
# 6.22 -> 5.63, 1x128 11.56 -> 10.19, 1x512 73.52 -> 69.20. Outputs move by float rounding only
# (the next dynamic int8 quantisation can round differently), several times less than batching
# a window with another already moves them (classifiers/train/optimize_graph.py;
# docs/benchmarks.md "Graph optimisation tried").
DISABLED_OPTIMIZERS = ("SkipLayerNormFusion",)


# How the intra-op threads of a session with more than one wait for work (ONNX Runtime
# `session.intra_op.allow_spinning` / `session.force_spinning_stop`): "on" busy-wait between
# operators and for a while after a pass (ORT's default); "in_pass" busy-wait between the
# operators of a pass and sleep as soon as it returns; "off" always sleep (each operator then
# wakes them).
Spinning = Literal["on", "in_pass", "off"]


def session_options(threads: int = 1, spinning: Spinning = "on") -> ort.SessionOptions:
    """Options tuned for small encoders: `threads` intra-op, one inter-op, full optimisation;
    `spinning` as `Spinning` says (only matters with `threads` > 1)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    if spinning == "off":
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    elif spinning == "in_pass":
        options.add_session_config_entry("session.force_spinning_stop", "1")
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: unused-initialiser notes are noise here
    return options


def open_session(
    path: Path,
    threads: int = 1,
    providers: Sequence[str] = ("CPUExecutionProvider",),
    disabled_optimizers: Sequence[str] = DISABLED_OPTIMIZERS,
    spinning: Spinning = "on",
) -> ort.InferenceSession:
    """An inference session for `path` on the first available of `providers`, with the ONNX
    Runtime fusions named in `disabled_optimizers` left off on the CPU provider (they were
    measured there only: other providers keep ORT's defaults; benchmarks pass `()`)."""
    available = set(ort.get_available_providers())
    chosen = [p for p in providers if p in available] or ["CPUExecutionProvider"]
    off = list(disabled_optimizers) if chosen == ["CPUExecutionProvider"] else []
    try:
        return ort.InferenceSession(
            str(path),
            session_options(threads, spinning),
            providers=chosen,
            disabled_optimizers=off,
        )
    except Exception as exc:  # onnxruntime raises its own untyped pybind errors
        raise BundleError(f"{path.name}: ONNX Runtime cannot load it: {exc}") from exc


def session_feed(
    session: ort.InferenceSession,
    ids: npt.NDArray[np.int64],
    mask: npt.NDArray[np.int64],
    tokens: bool = True,
) -> dict[str, npt.NDArray[Any]]:
    """The feed for a bundle graph's session: token ids, attention mask, zero token types and
    the `token_heads` switch (false skips the token heads), each where the graph has it."""
    return feed([i.name for i in session.get_inputs()], ids, mask, tokens)


def feed(
    names: Sequence[str],
    ids: npt.NDArray[np.int64],
    mask: npt.NDArray[np.int64],
    tokens: bool = True,
) -> dict[str, npt.NDArray[Any]]:
    """The arrays of the bundle inputs among `names` (see `session_feed`)."""
    arrays: dict[str, npt.NDArray[Any]] = {
        "input_ids": ids,
        "attention_mask": mask,
        "token_type_ids": np.zeros_like(ids),
        "token_heads": np.array(tokens),
    }
    return {name: arrays[name] for name in names if name in arrays}


def open_tokenizer(path: Path) -> Tokenizer:
    """The tokenizer at `path` with padding and truncation switched off (we window instead)."""
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception on bad JSON
        raise BundleError(f"{path.name}: cannot read the tokenizer: {exc}") from exc
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def special_tokens(tokenizer: Tokenizer) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The ids the tokenizer's post-processor puts before and after one sequence."""
    plain = tokenizer.encode(_PROBE, add_special_tokens=False).ids
    full = tokenizer.encode(_PROBE, add_special_tokens=True).ids
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return tuple(full[:start]), tuple(full[start + len(plain) :])
    raise BundleError("tokenizer.json: its post-processor changes the text's own tokens")


def pad_id(tokenizer: Tokenizer) -> int:
    """The padding token id (only used under a zero attention mask, so any id works)."""
    for token in ("[PAD]", "<pad>", "<|padding|>"):
        found = tokenizer.token_to_id(token)
        if found is not None:
            return found
    return 0


def activate(kind: str, logits: npt.NDArray[np.float32]) -> Probs:
    """Softmax (single-label and token heads) or sigmoid (multi-label) over the last axis."""
    x = logits.astype(np.float64)
    if kind == "sigmoid":
        result: Probs = 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1 / (1 + e^-x), without overflow
        return result
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    result = e / e.sum(axis=-1, keepdims=True)
    return result


class OnnxModel:
    """A bundle's graph and tokenizer. `forward` runs every head in one pass.

    `spinning`, `wide_spinning`: how each session's intra-op threads wait (`Spinning`).
    `wide_threads` > `threads` also opens a second session of the same graph with that many
    intra-op threads, which `infer(rows, wide=True)`
    runs: the pool uses it for a pass that would otherwise leave the process's other cores
    idle (pool.py). Same graph and weights, so it decides as the narrow session does; its
    float sums may be split differently over threads, so outputs agree to rounding only.
    """

    def __init__(
        self,
        bundle: Bundle,
        threads: int = 1,
        providers: Sequence[str] = ("CPUExecutionProvider",),
        wide_threads: int = 0,
        wide_spinning: Spinning = "in_pass",
        spinning: Spinning = "on",
    ) -> None:
        self.bundle = bundle
        self.heads: dict[str, HeadSpec] = dict(bundle.manifest.heads)
        self.input_names = list(bundle.manifest.inputs)
        self.tokenizer = open_tokenizer(bundle.tokenizer_path)
        self.prefix, self.suffix = special_tokens(self.tokenizer)
        self.pad_id = pad_id(self.tokenizer)
        self.session = open_session(bundle.model_path, threads, providers, spinning=spinning)
        self.wide_session = (
            open_session(bundle.model_path, wide_threads, providers, spinning=wide_spinning)
            if wide_threads > threads and self.providers == ["CPUExecutionProvider"]
            else None  # intra-op threads are a CPU matter: no second copy on a GPU
        )
        # a graph with the `token_heads` switch skips its token heads when told (`infer`)
        self.switches_tokens = "token_heads" in self.input_names
        self._outputs = [head.output for head in self.heads.values()]
        embedding = bundle.manifest.embedding
        if embedding is not None:  # fetched from the same pass as the heads (no extra work)
            self._outputs.append(embedding.output)
        token_outputs = {h.output for h in self.heads.values() if h.type == "token"}
        self._skim_outputs = [o for o in self._outputs if o not in token_outputs]
        self._check_graph()
        self._lock = threading.Lock()
        self._passes = 0
        self._wide_passes = 0

    @property
    def forward_passes(self) -> int:
        """How many times the graph has run (one per `forward` call), on either session."""
        return self._passes

    def release_memory(self) -> None:
        """Hand back what the sessions' memory arenas hold beyond their current needs: ONNX
        Runtime keeps the peak of every pass (a 512-token window of a 12-layer graph: ~55 MB
        per pass run at the same time), so long texts would leave a process hundreds of MB
        larger for good. One one-token pass per session with arena shrinkage on (a few ms).
        Safe beside other passes (ONNX Runtime shrinks under the arena's lock and frees only
        unused regions), but only worth it when none is running: `InferencePool` calls it
        when it falls idle."""
        ids = np.array([[self.pad_id]], dtype=np.int64)
        feeds = feed(self.input_names, ids, np.ones_like(ids), False)
        fetch = self._skim_outputs if self.switches_tokens else self._outputs
        for session in (self.session, self.wide_session):
            if session is not None:
                session.run(fetch, feeds, _SHRINK)

    @property
    def wide_passes(self) -> int:
        """Of `forward_passes`: those run on the wide session."""
        return self._wide_passes

    @property
    def providers(self) -> list[str]:
        """Execution providers the session really uses."""
        return list(self.session.get_providers())

    def _check_graph(self) -> None:
        graph_inputs = {i.name for i in self.session.get_inputs()}
        switch = [i for i in self.session.get_inputs() if i.name == "token_heads"]
        if switch and (switch[0].type != "tensor(bool)" or switch[0].shape not in ([], [1])):
            raise BundleError(
                f"{self.bundle.name}: model.onnx input token_heads must be one boolean, "
                f"not {switch[0].type} {switch[0].shape}"
            )
        graph_outputs = {o.name: o.shape for o in self.session.get_outputs()}
        missing = [n for n in self.input_names if n not in graph_inputs]
        unfed = graph_inputs - set(self.input_names)
        if missing or unfed:
            raise BundleError(
                f"{self.bundle.name}: model.onnx inputs {sorted(graph_inputs)} do not match "
                f"bundle.yaml inputs {self.input_names}"
            )
        embedding = self.bundle.manifest.embedding
        if embedding is not None and embedding.output not in graph_outputs:
            raise BundleError(f"{self.bundle.name}: model.onnx has no output {embedding.output!r}")
        for name, head in self.heads.items():
            if head.output not in graph_outputs:
                raise BundleError(f"{self.bundle.name}: model.onnx has no output {head.output!r}")
            width = graph_outputs[head.output][-1]
            if isinstance(width, int) and width != len(head.labels):
                raise BundleError(
                    f"{self.bundle.name}: head {name}: {head.output} has {width} columns, "
                    f"bundle.yaml lists {len(head.labels)} labels"
                )

    def encode(self, text: str) -> list[int]:
        """Token ids of `text` without special tokens and without any length limit."""
        ids: list[int] = self._encoding(text).ids
        return ids

    def encode_offsets(self, text: str) -> Encoded:
        """Token ids with their character offsets into `text` and their word ids."""
        encoding = self._encoding(text)
        return Encoded(encoding.ids, encoding.offsets, encoding.word_ids)

    def _encoding(self, text: str) -> Encoding:
        try:
            return self.tokenizer.encode(text, add_special_tokens=False)
        except TypeError:
            # lone surrogates (e.g. from JSON "\ud800") cannot reach the Rust tokenizer; an
            # attacker must not be able to make the guard fail with one, so replace them.
            # Each becomes one "?", so offsets still index the original text.
            clean = text.encode("utf-8", "replace").decode("utf-8")
            return self.tokenizer.encode(clean, add_special_tokens=False)

    def pad(
        self, rows: Sequence[Sequence[int]]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Token ids right-padded to the longest row, and the attention mask."""
        width = max(len(row) for row in rows)
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        return ids, mask

    def forward(self, rows: Sequence[Sequence[int]]) -> dict[str, Probs]:
        """Every head's probabilities for each row (token heads: max over the row's tokens)."""
        return self.infer(rows).probs

    def infer(
        self, rows: Sequence[Sequence[int]], wide: bool = False, tokens: bool = True
    ) -> Output:
        """One pass: every head's probabilities, and each token head's per-token ones
        (`wide`: on the wide session, where there is one). `tokens=False` on a graph with the
        `token_heads` switch skips the token heads: the output then has none of them."""
        if not rows:
            raise ValueError("forward() needs at least one row")
        ids, mask = self.pad(rows)
        skim = self.switches_tokens and not tokens
        heads = [(n, h) for n, h in self.heads.items() if not (skim and h.type == "token")]
        session = self.wide_session if wide and self.wide_session is not None else self.session
        fetch = self._skim_outputs if skim else self._outputs
        logits = session.run(fetch, feed(self.input_names, ids, mask, not skim))
        with self._lock:
            self._passes += 1
            self._wide_passes += session is not self.session
        embeddings = unit_rows(logits.pop()) if len(logits) > len(heads) else None
        probs: dict[str, Probs] = {}
        token_probs: dict[str, list[Probs]] = {}
        for (name, head), out in zip(heads, logits, strict=True):
            activated = activate(head.type, np.asarray(out))
            if head.type != "token":
                probs[name] = activated
                continue
            # [rows, seq, labels] -> [rows, labels]: strongest token per label (padding excluded)
            probs[name] = (activated * mask[:, :, None]).max(axis=1)
            token_probs[name] = [activated[i, : len(row)] for i, row in enumerate(rows)]
        return Output(probs, token_probs, embeddings)


def unit_rows(pooled: object) -> Vectors:
    """Each row scaled to unit length (a zero row stays zero), read-only: results are shared."""
    x = np.asarray(pooled, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    result: Vectors = x / np.maximum(norms, np.float32(1e-12))
    result.flags.writeable = False
    return result
