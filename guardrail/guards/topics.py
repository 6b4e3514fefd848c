"""`topics` guard: an allow-list or a deny-list of topics written in plain words.

    guards:
      support-only:
        kind: topics
        allow: {orders: "orders, shipping and delivery of a purchase",
                billing: "billing, invoices, charges, refunds and payments"}
      no-advice:
        kind: topics
        deny: {medical: "medical symptoms, diagnosis and treatment of illness",
               investing: ["investment advice about stocks and crypto", "retirement savings"]}

Zero-shot, from the classifier bundle's shared encoder: each description is embedded once when
the policy loads; a text's embedding comes from the same forward pass the classifier guards run
on it (`Analysis.embeddings`: the pooled last layer, one unit vector per window), so a policy
that also runs `injection`/`harm` over the bundle pays no second pass. Similarity is the cosine
after removing the encoder's common direction: the guard tasks it was fine-tuned for pushed
every text's embedding towards one direction (any two prompts have cosine ~0.6), so the mean
embedding of BACKGROUND (fixed everyday sentences, embedded at load) is subtracted from texts
and descriptions before comparing. On our labelled set that lifted the deny-list F1 from 0.65
to 0.75 (classifiers/train/topics.json; the untuned all-MiniLM, which would cost a second
pass, scores 0.83).

- `deny`: one finding per (text, topic) labelled with the topic's name, score = the best
  similarity over the text's windows and the topic's descriptions (clipped to [0, 1]).
- `allow`: one `off_topic` finding per text, score = 1 - the best similarity to any allowed
  topic over the text's windows (a text is on topic when some window is).

Default thresholds (similarity) were chosen on the calibration half of our own set and
measured on the other half (classifiers/train/topics_eval.py; policies/README.md); `threshold`
sets another. A rule's own `threshold`/`thresholds` apply to the score above (for `off_topic`:
1 - similarity). Texts are read whole, by the rule's deadline like a classifier guard: a text
not read whole by then is judged on the windows read and carries a `partial_scan` finding.
The pass is shared with classifier guards that read whole (the default); a classifier with
`long_text: sample` caches its sampled reads apart, so on long texts the two then cost a pass
each.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field, ValidationInfo, field_validator, model_validator

from guardrail.guards.classifier import manifest_for_validation, partial_scan, shared_runtime
from guardrail.guards.registry import BuildContext, GuardConfig, GuardKind
from guardrail.inference.pool import Analysis
from guardrail.inference.runtime import ClassifierRuntime
from guardrail.types import PARTIAL_SCAN, CheckContext, Finding

Vectors = npt.NDArray[np.float32]
OFF_TOPIC = "off_topic"
_TOPIC_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
# Similarity thresholds per bundle: best F1 on the calibration half of topics_data.py
# (classifiers/train/topics.json). Other bundles start from guard-minilm's; set `threshold`.
DEFAULTS: Mapping[str, tuple[float, float]] = {  # bundle -> (deny, allow)
    "guard-minilm": (0.4, 0.435),
    "guard-minilm-l4": (0.355, 0.385),
}
# Everyday sentences on no topic in particular: their mean is the direction every embedding
# of the fine-tuned encoder shares, removed before comparing (see the module docstring).
BACKGROUND = (
    "The meeting has been moved to Thursday afternoon.",
    "Can you help me with something?",
    "I really enjoyed the concert last night.",
    "Please write a short summary of this article.",
    "What time is it in Tokyo right now?",
    "My favourite colour is green.",
    "The train was twenty minutes late again this morning.",
    "Tell me a joke.",
    "How are you today?",
    "Thanks, that was very helpful!",
    "Explain this to me like I am five.",
    "The report is due at the end of the month.",
    "We are planning a small party for her birthday.",
    "Could you rewrite this paragraph in a more formal tone?",
    "I am not sure I understand what you mean.",
    "It has been raining all week.",
    "List three ideas for the weekend.",
    "The new library opens next spring.",
    "What do you think about this?",
    "Good morning, I have a question.",
)


def phrase(description: str) -> str:
    """How a description is embedded: as the request a user would make about it."""
    return f"A question about {description.strip().rstrip('.')}."


Descriptions = dict[str, str | list[str]]


class TopicsConfig(GuardConfig):
    """`allow` or `deny` (one of them): topic name -> description(s) in plain words."""

    kind: Literal["topics"] = "topics"
    allow: Descriptions | None = Field(
        default=None, min_length=1, description="topics a text must be on (else off_topic)"
    )
    deny: Descriptions | None = Field(
        default=None, min_length=1, description="topics a text must not be on"
    )
    bundle: str = Field(
        default="guard-minilm",
        description="the classifier bundle whose encoder embeds (it must declare embedding:)",
    )
    threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="similarity at which a text is on a topic (default: calibrated per bundle)",
    )

    @field_validator("allow", "deny")
    @classmethod
    def _topics_valid(cls, topics: Descriptions | None) -> Descriptions | None:
        for name, described in (topics or {}).items():
            if not _TOPIC_NAME.match(name) or name in (OFF_TOPIC, PARTIAL_SCAN):
                raise ValueError(
                    f"topic name {name!r}: lower-case letters, digits, _ and - (not "
                    f"{OFF_TOPIC} or {PARTIAL_SCAN})"
                )
            texts = [described] if isinstance(described, str) else described
            if not texts or not all(t.strip() for t in texts):
                raise ValueError(f"topic {name!r}: every description must be non-empty words")
        return topics

    @model_validator(mode="after")
    def _one_list(self, info: ValidationInfo) -> TopicsConfig:
        if (self.allow is None) == (self.deny is None):
            raise ValueError("set exactly one of allow (an allow-list) or deny (a deny-list)")
        manifest = manifest_for_validation(self.bundle, info)
        if manifest is not None and manifest.embedding is None:
            raise ValueError(f"bundle {manifest.name} declares no embedding output")
        return self

    @property
    def topics(self) -> dict[str, list[str]]:
        """Topic name -> its descriptions, as a list."""
        chosen = self.allow if self.allow is not None else self.deny or {}
        return {n: [d] if isinstance(d, str) else list(d) for n, d in chosen.items()}


Embed = Callable[[Sequence[str]], Vectors]  # texts -> [texts, dim], unit rows


def embedder(runtime: ClassifierRuntime) -> Embed:
    """One unit vector per text from the runtime (a phrase longer than a window: the mean)."""

    def embed(texts: Sequence[str]) -> Vectors:
        means = np.vstack([v.mean(axis=0) for v in runtime.embed_sync(texts)])
        result: Vectors = means / np.linalg.norm(means, axis=1, keepdims=True)
        return result

    return embed


class TopicSpace:
    """Topic descriptions embedded once, centred on BACKGROUND: scores window embeddings."""

    def __init__(self, embed: Embed, topics: Mapping[str, Sequence[str]]) -> None:
        self.names = list(topics)
        phrases = [phrase(d) for ds in topics.values() for d in ds]
        self.owner = [i for i, ds in enumerate(topics.values()) for _ in ds]
        self.center = embed(BACKGROUND).mean(axis=0)
        self.vectors = self.centred(embed(phrases))

    def centred(self, vectors: Vectors) -> Vectors:
        """Unit rows after removing the shared direction."""
        moved = vectors - self.center
        result: Vectors = moved / np.maximum(np.linalg.norm(moved, axis=1, keepdims=True), 1e-12)
        return result

    def similarity(self, windows: Vectors) -> npt.NDArray[np.float64]:
        """Per topic: the best cosine over the windows and the topic's descriptions."""
        sims = (self.centred(windows) @ self.vectors.T).max(axis=0)
        best = np.full(len(self.names), -1.0)
        np.maximum.at(best, self.owner, sims)
        return best


class TopicsGuard:
    """Reports how close each text is to the policy's topics (deny) or how far (allow)."""

    def __init__(
        self,
        name: str,
        runtime: ClassifierRuntime,
        space: TopicSpace,
        allow: bool,
        threshold: float,
    ) -> None:
        self.name = name
        self.runtime = runtime
        self.space = space
        self.allow = allow
        self.threshold = threshold  # similarity

    @property
    def reported_labels(self) -> frozenset[str]:
        """`off_topic` (allow-list) or each denied topic's name, and `partial_scan`."""
        labels = [OFF_TOPIC] if self.allow else self.space.names
        return frozenset([*labels, PARTIAL_SCAN])

    @property
    def default_thresholds(self) -> Mapping[str, float]:
        """The similarity threshold, as a threshold on each label's score."""
        if self.allow:
            return {OFF_TOPIC: round(1.0 - self.threshold, 6)}
        return dict.fromkeys(self.space.names, self.threshold)

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """Findings per non-blank text (see the module docstring), from the shared pass."""
        indexed = [(i, text) for i, text in enumerate(texts) if text.strip()]
        if not indexed:
            return []
        results = await self.runtime.score_until([t for _, t in indexed], ctx.deadline)
        findings: list[Finding] = []
        for (index, _), result in zip(indexed, results, strict=True):
            findings += self._findings(index, result)
        return findings

    def _findings(self, index: int, result: Analysis) -> list[Finding]:
        found: list[Finding] = []
        if result.embeddings is not None and len(result.embeddings):
            sims = np.clip(self.space.similarity(result.embeddings), 0.0, 1.0)
            if self.allow:
                score = 1.0 - float(sims.max())
                found.append(
                    Finding(guard=self.name, label=OFF_TOPIC, score=score, text_index=index)
                )
            else:
                found += [
                    Finding(guard=self.name, label=name, score=float(s), text_index=index)
                    for name, s in zip(self.space.names, sims, strict=True)
                ]
        # topics never sample: only a deadline leaves text unread (reason `budget`)
        found += partial_scan(self.name, index, result)
        return found


def build(config: TopicsConfig, context: BuildContext) -> TopicsGuard:
    """Embed the descriptions once with the policy's shared runtime for the bundle."""
    runtime = shared_runtime(config.bundle, context)
    if runtime.embedding_dim is None:
        raise ValueError(f"bundle {runtime.bundle.name} declares no embedding output")
    deny, allow = DEFAULTS.get(runtime.bundle.name, DEFAULTS["guard-minilm"])
    default = allow if config.allow is not None else deny
    threshold = config.threshold if config.threshold is not None else default
    space = TopicSpace(embedder(runtime), config.topics)
    return TopicsGuard(context.name, runtime, space, config.allow is not None, threshold)


KIND = GuardKind(config=TopicsConfig, build=build)
