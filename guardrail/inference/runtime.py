"""A loaded bundle, ready to score: verified files + ONNX session + windows + pool.

`get_runtime(ref)` is what guards use: one runtime per bundle folder and file hashes per
process (held weakly, so a policy reload that still uses the bundle shares it, and an unused
one is freed), so several guards and several tenants' policies share one session and one
in-flight table.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from concurrent.futures import Executor
from functools import cached_property, partial
from pathlib import Path
from types import TracebackType

from guardrail.deobfuscate import Deobfuscator
from guardrail.inference.bundle import Bundle, HeadSpec, load_bundle
from guardrail.inference.entities import TokenScheme
from guardrail.inference.focus import Focus
from guardrail.inference.onnx import OnnxModel, Probs, Vectors
from guardrail.inference.pool import (
    Analysis,
    Encode,
    Forward,
    InferencePool,
    PoolOptions,
    Scores,
)
from guardrail.inference.windows import Row, Sampled, Window, Windowing
from guardrail.settings import Settings, get_settings


class ClassifierRuntime:
    """Scores texts with every head of one bundle: `await runtime.score(texts)` (token heads,
    on a graph that can skip them, only where entities are decoded: `analyze`)."""

    def __init__(
        self,
        bundle: Bundle,
        settings: Settings | None = None,
        executor: Executor | None = None,
    ) -> None:
        settings = settings or get_settings()
        self.bundle = bundle
        self.model = OnnxModel(
            bundle,
            threads=settings.inference_threads,
            providers=settings.inference_providers,
            wide_threads=settings.wide_threads(),
            wide_spinning=settings.inference_wide_spinning,
            spinning=settings.inference_spinning,
        )
        manifest = bundle.manifest
        self.windowing = Windowing(
            max_length=manifest.max_length,
            stride=manifest.window_stride,
            prefix=self.model.prefix,
            suffix=self.model.suffix,
            max_windows=settings.inference_max_windows,
            edge=settings.inference_edge_windows,
            slice_above_chars=settings.inference_slice_above_chars,
        )
        labels = {name: head.labels for name, head in manifest.heads.items()}
        vocabulary = self.model.tokenizer.token_to_id  # separators are matched by token id
        schemes = {
            n: TokenScheme(h, vocabulary) for n, h in manifest.heads.items() if h.type == "token"
        }
        # The pool gets the model's methods, not ours: no cycle, so dropping the runtime
        # frees it, and the finaliser stops the pool's threads.
        model, windowing = self.model, self.windowing
        # offsets are only worth their cost where a token head's entities are decoded
        encode: Encode = partial(windowing.text_rows, encode=model.encode)
        locate: Encode = partial(windowing.text_windows, encode=model.encode_offsets)
        sample = partial(_sample, windowing, model)
        spec = manifest.focus
        focus = Focus.from_spec(spec, manifest.heads[spec.head], windowing) if spec else None
        options = PoolOptions.from_settings(settings)
        self.pool = InferencePool(
            encode,
            model.infer,
            labels,
            options,
            executor,
            schemes,
            locate if schemes else None,
            sample,
            focus,
            partial(model.infer, wide=True) if model.wide_session is not None else None,
            _skim(model),
            model.release_memory,
        )
        weakref.finalize(self, self.pool.close)

    @cached_property
    def deobfuscator(self) -> Deobfuscator | None:
        """Rewrites obfuscated words into the tokenizer's whole words (None for a tokenizer
        without WordPiece word pieces); built once per runtime, shared by its guards."""
        return Deobfuscator.from_wordpiece(self.model.tokenizer.get_vocab())

    @property
    def heads(self) -> dict[str, HeadSpec]:
        """The bundle's heads by name."""
        return dict(self.bundle.manifest.heads)

    @property
    def forward_passes(self) -> int:
        """Forward passes run so far (several texts or windows may share one when batching)."""
        return self.model.forward_passes

    @property
    def wide_passes(self) -> int:
        """Of `forward_passes`: those run alone on the wide (multi-thread) session."""
        return self.model.wide_passes

    @property
    def token_heads(self) -> list[str]:
        """Names of the heads that tag tokens (their entities come from `analyze`)."""
        return [name for name, head in self.heads.items() if head.type == "token"]

    def rows(self, text: str) -> list[Row]:
        """The windows scored for `text`, as model input rows."""
        return self.windowing.text_rows(text, self.model.encode)

    def windows(self, text: str) -> list[Window]:
        """The windows scored for `text`, with each position's offsets in the text."""
        return self.windowing.text_windows(text, self.model.encode_offsets)

    def forward(self, rows: Sequence[Row]) -> dict[str, Probs]:
        """Every head's probabilities for the rows (one pass)."""
        return self.model.forward(rows)

    async def score(self, texts: Sequence[str]) -> list[Scores]:
        """head -> label -> probability for each text, in order."""
        return await self.pool.score(texts)

    async def score_until(
        self, texts: Sequence[str], deadline: float | None = None, sample: bool = False
    ) -> list[Analysis]:
        """Scores of each text by `deadline` (`time.monotonic()`), every window unless
        `sample`; `Analysis.unread` > 0 says a result read only part of its text."""
        return await self.pool.score_until(texts, deadline, sample)

    def sampled(self, text: str) -> Sampled:
        """The windows a sampled read of `text` scores, and the share it leaves unread."""
        return self.windowing.sampled_rows(text, self.model.encode)

    @property
    def embedding_dim(self) -> int | None:
        """Width of the encoder's pooled embedding (`Analysis.embeddings`); None when the
        bundle declares no `embedding` output."""
        spec = self.bundle.manifest.embedding
        return None if spec is None else spec.dim

    def embed_sync(self, texts: Sequence[str]) -> list[Vectors]:
        """Each text's unit-length embeddings, one row per window (blocking: for fixed phrases
        a guard embeds once when it is built). ValueError without an `embedding` output."""
        if self.embedding_dim is None:
            raise ValueError(f"bundle {self.bundle.name} declares no embedding output")
        vectors: list[Vectors] = []
        for future in self.pool.submit(texts):
            found = future.result().embeddings
            if found is None:  # only a graph without the declared output (checked at load)
                raise RuntimeError(f"bundle {self.bundle.name} gave no embedding")
            vectors.append(found)
        return vectors

    def score_sync(self, texts: Sequence[str]) -> list[Scores]:
        """Blocking `score`, for code without an event loop."""
        return self.pool.score_sync(texts)

    async def analyze(self, texts: Sequence[str]) -> list[Analysis]:
        """Scores and each token head's entities (offsets into the text) for each text.

        Shares passes, in-flight work and the cache with `score` once entities are expected
        (`expect_entities`, or after the first `analyze`): then one pass serves both.
        """
        return await self.pool.analyze(texts)

    def analyze_sync(self, texts: Sequence[str]) -> list[Analysis]:
        """Blocking `analyze`."""
        return self.pool.analyze_sync(texts)

    def expect_entities(self) -> None:
        """Say that `analyze` calls will come (guards say it when built): `score` then decodes
        entities too, so both share one pass per text. Until then, or the first `analyze`,
        `score` skips that work."""
        self.pool.expect_entities()

    @property
    def closed(self) -> bool:
        """True once closed (a runtime from `get_runtime` is shared: do not close it)."""
        return self.pool.closed

    def close(self) -> None:
        """Stop the pool's threads (the session is freed with the object)."""
        self.pool.close()

    def __enter__(self) -> ClassifierRuntime:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _skim(model: OnnxModel) -> tuple[Forward, Forward | None] | None:
    """The model's (narrow, wide) forwards without its token heads, for passes whose entities
    nobody decodes; None for a graph without the `token_heads` switch (nothing to skip)."""
    if not model.switches_tokens:
        return None
    wide = partial(model.infer, wide=True, tokens=False) if model.wide_session is not None else None
    return partial(model.infer, tokens=False), wide


def _sample(windowing: Windowing, model: OnnxModel, text: str, offsets: bool) -> Sampled:
    """A sampled read's windows (with character offsets when entities are decoded)."""
    if offsets:
        return windowing.sampled_windows(text, model.encode_offsets)
    return windowing.sampled_rows(text, model.encode)


_RUNTIMES: weakref.WeakValueDictionary[tuple[object, ...], ClassifierRuntime] = (
    weakref.WeakValueDictionary()
)
_RUNTIMES_LOCK = threading.Lock()


def load_runtime(
    ref: str | Path, base_dir: Path | None = None, settings: Settings | None = None
) -> ClassifierRuntime:
    """A new runtime for a bundle name or path (files are hash-checked first)."""
    settings = settings or get_settings()
    return ClassifierRuntime(load_bundle(ref, base_dir, settings), settings)


def get_runtime(
    ref: str | Path, base_dir: Path | None = None, settings: Settings | None = None
) -> ClassifierRuntime:
    """The process's runtime for this bundle (made on first use; files are always verified)."""
    settings = settings or get_settings()
    bundle = load_bundle(ref, base_dir, settings)
    key = (bundle.path, tuple(sorted(bundle.manifest.files.items())), settings.model_dump_json())
    with _RUNTIMES_LOCK:
        runtime = _RUNTIMES.get(key)
        if runtime is None or runtime.closed:
            runtime = ClassifierRuntime(bundle, settings)
            _RUNTIMES[key] = runtime
        return runtime
