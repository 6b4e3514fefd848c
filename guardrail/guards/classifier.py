"""`classifier` guard: one head of an ONNX classifier bundle (see classifiers/BUNDLE.md).

    guards:
      injection: {kind: classifier, bundle: guard-minilm, head: injection}
      harm:      {kind: classifier, bundle: guard-minilm, head: harm, labels: [violence, hate]}

`bundle` is a bundle name (looked up in `GUARDRAIL_BUNDLES_DIR`, then the repository's
`classifiers/`) or a path (with a slash; relative to the policy file). Guards over the same
bundle share one runtime per policy load (through `BuildContext.shared`, and per process), so
`injection` and `harm` above cost one encoder pass per text.

`scan` reports the probability of every non-negative label of the head (or of `labels`) for
every non-blank text; thresholds are the policy's job (`default_thresholds` come from the
bundle: `threshold_profile: strict` picks `thresholds_strict` where the bundle has them).
Token (span) heads are not for this guard: the `pii` guard reports their entities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, model_validator

from guardrail.errors import BundleError
from guardrail.guards.registry import BuildContext, GuardConfig, GuardKind
from guardrail.inference.bundle import (
    HeadSpec,
    Manifest,
    is_path_ref,
    read_manifest,
    resolve_bundle,
)
from guardrail.inference.runtime import ClassifierRuntime, get_runtime
from guardrail.types import CheckContext, Finding


class ClassifierConfig(GuardConfig):
    """Which bundle and head to run, and which of its labels to report."""

    kind: Literal["classifier"] = "classifier"
    bundle: str = Field(
        description="bundle name (GUARDRAIL_BUNDLES_DIR, then classifiers/) or a path with a "
        "slash, relative to the policy file"
    )
    head: str = Field(description="which head of the bundle, e.g. injection or harm")
    labels: list[str] | None = Field(
        default=None, description="labels to report (default: every non-negative label)"
    )
    threshold_profile: Literal["default", "strict"] = Field(
        default="default",
        description="default thresholds from the bundle's `thresholds` or `thresholds_strict`",
    )

    @model_validator(mode="after")
    def _check_bundle(self, info: ValidationInfo) -> ClassifierConfig:
        manifest = manifest_for_validation(self.bundle, info)
        if manifest is not None:
            check_head(manifest, self.head, self.labels)
        return self


def manifest_for_validation(ref: str, info: ValidationInfo) -> Manifest | None:
    """The manifest, or None for a relative path when the policy folder is unknown."""
    context = info.context if isinstance(info.context, Mapping) else {}
    policy_dir = context.get("policy_dir")
    relative = is_path_ref(ref) and not Path(ref).expanduser().is_absolute()
    if relative and policy_dir is None:
        return None  # checked at build time, relative to BuildContext.policy_dir
    try:
        return read_manifest(resolve_bundle(ref, Path(policy_dir) if policy_dir else None))
    except BundleError as exc:
        raise ValueError(str(exc)) from None


def check_head(manifest: Manifest, head: str, labels: Sequence[str] | None) -> HeadSpec:
    """The head spec; ValueError when the head is unknown or `labels` are not reportable."""
    spec = manifest.heads.get(head)
    if spec is None:
        known = ", ".join(manifest.heads)
        raise ValueError(f"bundle {manifest.name} has no head {head!r} (heads: {known})")
    if spec.type == "token":
        raise ValueError(
            f"head {head!r} is a token (span) head; the classifier guard needs a "
            "softmax or sigmoid head"
        )
    for label in labels or ():
        if label not in spec.labels:
            raise ValueError(f"head {head!r} has no label {label!r} (labels: {spec.labels})")
        if label in spec.negative:
            raise ValueError(f"label {label!r} of head {head!r} is a negative label")
    return spec


class ClassifierGuard:
    """Reports one head's label probabilities; several guards may share one runtime."""

    def __init__(
        self,
        name: str,
        runtime: ClassifierRuntime,
        head: str,
        labels: Sequence[str] | None = None,
        threshold_profile: Literal["default", "strict"] = "default",
    ) -> None:
        spec = check_head(runtime.bundle.manifest, head, labels)
        self.name = name
        self.runtime = runtime
        self.head = head
        self.labels: tuple[str, ...] = tuple(labels or spec.positive)
        thresholds = dict(spec.thresholds)
        if threshold_profile == "strict":
            thresholds.update(spec.thresholds_strict or {})
        self._thresholds = {k: v for k, v in thresholds.items() if k in self.labels}

    @property
    def default_thresholds(self) -> Mapping[str, float]:
        """The bundle's thresholds for the reported labels."""
        return self._thresholds

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """One finding per (non-blank text, reported label), scored by the head."""
        indexed = [(i, text) for i, text in enumerate(texts) if text.strip()]
        if not indexed:
            return []
        scores = await self.runtime.score([text for _, text in indexed])
        return [
            Finding(
                guard=self.name,
                label=label,
                score=min(1.0, max(0.0, result[self.head][label])),
                text_index=i,
            )
            for (i, _), result in zip(indexed, scores, strict=True)
            for label in self.labels
        ]


def shared_runtime(ref: str, context: BuildContext) -> ClassifierRuntime:
    """The policy's runtime for a bundle, shared by every guard over it (the `pii` guard's
    model entities too), so one encoder pass per text serves them all."""
    path = resolve_bundle(ref, context.policy_dir)
    key = f"classifier.runtime:{path}"
    runtime = context.shared.get(key)
    if not isinstance(runtime, ClassifierRuntime) or runtime.closed:
        runtime = get_runtime(path)
        context.shared[key] = runtime
    return runtime


def build(config: ClassifierConfig, context: BuildContext) -> ClassifierGuard:
    """A guard over the policy's shared runtime for the bundle (loaded and verified once)."""
    runtime = shared_runtime(config.bundle, context)
    return ClassifierGuard(
        context.name, runtime, config.head, config.labels, config.threshold_profile
    )


KIND = GuardKind(config=ClassifierConfig, build=build)
