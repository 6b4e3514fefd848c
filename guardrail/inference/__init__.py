"""Classifier inference: bundles, ONNX Runtime sessions, long-text windows, concurrency.

Serving code imports only onnxruntime, tokenizers and numpy from here: never torch or
transformers (a test checks `sys.modules` after scoring).

    runtime = get_runtime("guard-minilm")          # or a path: "./classifiers/guard-minilm"
    scores = await runtime.score(["some text"])    # [{"injection": {"benign": 0.98, ...}, ...}]
    (result,) = await runtime.analyze(["Maria lives in Paris"])
    result.entities["pii"]                          # (Entity(0, 5, "PERSON", 0.97), ...)
"""

from guardrail.inference.bundle import Bundle, HeadSpec, Manifest, load_bundle, resolve_bundle
from guardrail.inference.entities import Entity
from guardrail.inference.pool import Analysis, InferencePool, PoolOptions, Scores
from guardrail.inference.runtime import ClassifierRuntime, get_runtime, load_runtime

__all__ = [
    "Analysis",
    "Bundle",
    "ClassifierRuntime",
    "Entity",
    "HeadSpec",
    "InferencePool",
    "Manifest",
    "PoolOptions",
    "Scores",
    "get_runtime",
    "load_bundle",
    "load_runtime",
    "resolve_bundle",
]
