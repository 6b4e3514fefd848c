"""`classifier` guard: one head of an ONNX classifier bundle (see classifiers/BUNDLE.md).

    guards:
      injection: {kind: classifier, bundle: guard-minilm, head: injection}
      harm:      {kind: classifier, bundle: guard-minilm, head: harm, labels: [violence, hate]}

`bundle` is a bundle name (looked up in `GUARDRAIL_BUNDLES_DIR`, then a checkout's
`classifiers/`, then the bundles installed with the package) or a path (with a slash;
relative to the policy file). Guards over the same bundle share one runtime per policy load
(through `BuildContext.shared`, and per process), so `injection` and `harm` above cost one
encoder pass per text.

`scan` reports the probability of every non-negative label of the head (or of `labels`) for
every non-blank text; thresholds are the policy's job (`default_thresholds` come from the
bundle: `threshold_profile: strict` picks `thresholds_strict` where the bundle has them).
Token (span) heads are not for this guard: the `pii` guard reports their entities.

Long texts are read whole: every character is in a scored window. The guard answers by the
pipeline's deadline (`CheckContext.deadline`, the rule's time budget); a text not read whole
by then is reported with what was read plus a `partial_scan` finding (reason `budget`), and
the rule's fail mode applies. `long_text: sample` reads at most `GUARDRAIL_INFERENCE_MAX_WINDOWS`
windows of a long text (its start, its end, an even spread of the middle): text between the
chosen windows is NOT read, so an instruction hidden there is missed. Each such text carries a
`partial_scan` finding (reason `sampled`, score = the share not read), which the decision
records but which does not apply the fail mode: the policy asked for it.

`route_non_english: guard-multilingual` sends every text that `guardrail.language.is_english`
reads as not English (script, then stop words; short Latin texts count as English) to a second
bundle with the same head and labels (`route_head:` names another head of it), so English
traffic keeps the first bundle's speed. Its scores are mapped onto the first bundle's scale,
per stage and label, piecewise linearly so that its calibrated threshold lands on the first
bundle's (a score at the routed bundle's threshold reads as the first one's threshold; order
is kept): rules, their thresholds and the escalation band apply unchanged.
`route_when: not_latin` routes only texts whose letters are mostly not Latin
(`guardrail.language.is_latin_script`: the scripts the English vocabulary cannot read), so
French or German text stays with the first bundle; the Latin part of a routed text (runs of
six words or more, `guardrail.language.latin_part`) is read by the first bundle too, and the
part of a Latin text in other scripts (eight letters or more, `other_script_part`) by the
routed one; the higher score counts, so padding an attack with text in another script does not
take it away from the bundle that reads it.

`read_obfuscated` (on by default) also has the bundle read each text's rewrite
(`guardrail.deobfuscate`): its lines with leetspeak and spaced-out words (`1gn0re`, `h4te`,
`k i l l`) written as the dictionary words they spell, where there are any. A tokenizer splits
such words into pieces it never learned as the word, so the text alone reads as noise; the
higher score of text and rewrite counts, and a text without such words costs two regex
searches. `read_encoded` (on by default) likewise has the bundle read the payloads encoded in a
text (`guardrail.decode`: base64, hex, binary, Morse, ROT13, reversed text and the like)
decoded, each routed by its own script; a text without any costs a dozen linear regex scans.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, model_validator

from guardrail.decode import Decoder
from guardrail.deobfuscate import Deobfuscator
from guardrail.errors import BundleError
from guardrail.guards._spans import off_loop
from guardrail.guards.base import Guard
from guardrail.guards.escalation import EscalateConfig, Escalator
from guardrail.guards.registry import BuildContext, GuardConfig, GuardKind
from guardrail.inference.bundle import (
    HeadSpec,
    Manifest,
    is_path_ref,
    read_manifest,
    resolve_bundle,
)
from guardrail.inference.pool import Analysis
from guardrail.inference.runtime import ClassifierRuntime, get_runtime
from guardrail.language import is_english, script_split
from guardrail.types import PARTIAL_SCAN, CheckContext, Finding, PartialReason, Stage


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
    long_text: Literal["whole", "sample"] = Field(
        default="whole",
        description="whole: every window of a text is scored; sample: at most "
        "GUARDRAIL_INFERENCE_MAX_WINDOWS windows (edges + an even spread), the rest is not "
        "read and the decision carries a partial_scan finding",
    )

    escalate: EscalateConfig | None = Field(
        default=None,
        description="ask a judge guard about uncertain scores (see guards/escalation.py)",
    )
    route_non_english: str | None = Field(
        default=None,
        description="a second bundle (same head and labels unless `route_head` names another "
        "head, e.g. guard-multilingual) for texts that do not read as English; its scores "
        "are mapped onto this bundle's thresholds",
    )
    route_head: str | None = Field(
        default=None,
        description="the head of the `route_non_english` bundle to use (default: the one "
        "named by `head`), for a head only the first bundle has",
    )
    route_when: Literal["not_english", "not_latin"] = Field(
        default="not_english",
        description="which texts `route_non_english` sends: not_english (script, then stop "
        "words) or not_latin (only texts whose letters are mostly not Latin script)",
    )

    read_obfuscated: bool = Field(
        default=True,
        description="also read each text with its leetspeak and spaced-out words (h4te, "
        "k i l l) written as the dictionary words they spell; the higher score counts",
    )
    read_encoded: bool = Field(
        default=True,
        description="also read the payloads encoded in each text (base64, base32, base85, hex, "
        "binary, character codes, percent and escape codes, HTML entities, Morse, ROT13 and "
        "other letter shifts, reversed text) decoded; the higher score counts",
    )

    @model_validator(mode="after")
    def _check_bundle(self, info: ValidationInfo) -> ClassifierConfig:
        if self.route_head is not None and self.route_non_english is None:
            raise ValueError("route_head names a head of the route_non_english bundle: set that")
        routed = self.route_head or self.head
        for ref, head in ((self.bundle, self.head), (self.route_non_english, routed)):
            manifest = manifest_for_validation(ref, info) if ref else None
            if manifest is not None:
                check_head(manifest, head, self.labels)
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
        sample: bool = False,
    ) -> None:
        spec = check_head(runtime.bundle.manifest, head, labels)
        self.name = name
        self.sample = sample  # `long_text: sample`
        self.runtime = runtime
        self.head = head
        self.labels: tuple[str, ...] = tuple(labels or spec.positive)
        thresholds = dict(spec.thresholds)
        if threshold_profile == "strict":
            thresholds.update(spec.thresholds_strict or {})
        self._thresholds = {k: v for k, v in thresholds.items() if k in self.labels}
        # the strict profile is one stricter set for every stage: it ignores the per-stage ones
        self._by_stage = {} if threshold_profile == "strict" else spec.thresholds_by_stage
        self.escalator: Escalator | None = None  # set by `build` for `escalate:`
        self.route: ClassifierGuard | None = None  # set by `build` for `route_non_english:`
        self.route_when: Literal["not_english", "not_latin"] = "not_english"
        self.deobfuscator: Deobfuscator | None = None  # set by `build` for `read_obfuscated`
        self.decoder: Decoder | None = None  # set by `build` for `read_encoded`

    @property
    def reserve_ms(self) -> float:
        """The judge's time (its timeout per try), added to this guard's budget."""
        return 0.0 if self.escalator is None else self.escalator.reserve_s() * 1000

    def bind(self, guards: Mapping[str, Guard]) -> None:
        """Resolve the `escalate.to` judge among the policy's guards."""
        if self.escalator is not None:
            self.escalator.bind(guards)

    @property
    def reported_labels(self) -> frozenset[str]:
        """The head labels this guard reports (`labels`, else every non-negative one)."""
        return frozenset(self.labels)

    @property
    def default_thresholds(self) -> Mapping[str, float]:
        """The bundle's thresholds for the reported labels."""
        return self._thresholds

    def thresholds_for_stages(self, stages: Iterable[Stage]) -> Mapping[str, float]:
        """Per label, the bundle's threshold for a rule on `stages`: each stage's calibrated
        threshold where the bundle has one (else the default), and over several stages the
        lowest, so a rule is never less protective on a stage than that stage's default."""
        out: dict[str, float] = {}
        for label, default in self._thresholds.items():
            out[label] = min(self._by_stage.get(s.value, {}).get(label, default) for s in stages)
        return out

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """One finding per (non-blank text, reported label), scored by the head, and a
        `partial_scan` finding for each text not read whole (by the deadline or sampled)."""
        indexed = [(i, text) for i, text in enumerate(texts) if text.strip()]
        if not indexed:
            return []
        deadline = ctx.deadline
        if deadline is not None:  # the judge's time was added to the budget (`reserve_ms`)
            deadline -= self.reserve_ms / 1000
        parts = (
            [(self, indexed, None)]
            if self.route is None and self.deobfuscator is None and self.decoder is None
            # the script split and the obfuscation and payload searches read every character:
            # off the loop
            else await off_loop([t for _, t in indexed], lambda: self._partition(indexed, deadline))
        )
        reads = [
            g.runtime.score_until([t for _, t in rows], deadline, self.sample)
            for g, rows, _ in parts
        ]
        # one bundle (the usual case) is awaited in this task: `gather` would add a task
        runs = [await reads[0]] if len(reads) == 1 else await asyncio.gather(*reads)
        findings: list[Finding] = []
        for (guard, rows, readings), results in zip(parts, runs, strict=True):
            for (i, _), result in zip(rows, results, strict=True):
                # each guard reads its own head: the routed bundle's may be named otherwise
                found = guard._findings(i, result)
                if readings is not None:  # the text itself is read whole: a cut reading
                    found = [  # leaves no gap; what it finds says which reading it was
                        f.model_copy(update={"reading": readings[i]})
                        for f in found
                        if f.label != PARTIAL_SCAN
                    ]
                findings += found if guard is self else self._rescaled(found, guard, ctx.stage)
        if len(parts) > 1:
            findings = _highest(findings)
        if self.escalator is not None:
            thresholds = self.thresholds_for_stages([ctx.stage])
            shown = _with_decoded(texts, parts)
            findings = await self.escalator.review(texts, findings, ctx, thresholds, shown)
        return findings

    def _partition(
        self, indexed: list[tuple[int, str]], deadline: float | None = None
    ) -> list[tuple[ClassifierGuard, list[tuple[int, str]], dict[int, str] | None]]:
        """(guard, its texts, None for the texts themselves, else the reading each one is:
        `Finding.reading`): with `route_non_english`, the texts
        (or parts, `_by_script`) that do not read as English, or are not Latin, go to the
        routed bundle; with `read_obfuscated`, this guard also reads each text's rewrite
        (`guardrail.deobfuscate`), if it has one; with `read_encoded`, the payloads encoded in
        it (`guardrail.decode`), if any, routed by their own script. Readings are extra reads
        (a read cut by the deadline is no gap), so none is made once `deadline` has passed: the
        texts' own reads keep the budget, under load too."""
        parts: list[tuple[ClassifierGuard, list[tuple[int, str]], dict[int, str] | None]]
        parts = [(g, rows, None) for g, rows in self._routed(indexed)]

        def in_time() -> bool:
            return deadline is None or time.monotonic() < deadline

        if self.deobfuscator is not None and in_time():
            readings = [(i, self.deobfuscator.reading(t)) for i, t in indexed]
            rewritten = [(i, r) for i, r in readings if r is not None]
            if rewritten:
                parts.append(
                    (self, rewritten, dict.fromkeys((i for i, _ in rewritten), "respelled"))
                )
        if self.decoder is not None:
            payloads = [(i, self.decoder.payloads(t) if in_time() else ()) for i, t in indexed]
            found = [(i, "\n".join(p.text for p in ps)) for i, ps in payloads if ps]
            if found:
                schemes = {
                    i: "decoded: " + ", ".join(dict.fromkeys(p.scheme for p in ps))
                    for i, ps in payloads
                    if ps
                }
                parts += [(g, rows, schemes) for g, rows in self._routed(found)]
        return parts

    def _routed(
        self, indexed: list[tuple[int, str]]
    ) -> list[tuple[ClassifierGuard, list[tuple[int, str]]]]:
        if self.route is None:
            return [(self, indexed)]
        if self.route_when == "not_latin":
            own, routed = _by_script(indexed)
        else:
            english = [is_english(t) for _, t in indexed]
            own = [x for x, en in zip(indexed, english, strict=True) if en]
            routed = [x for x, en in zip(indexed, english, strict=True) if not en]
        return [(g, rows) for g, rows in ((self, own), (self.route, routed)) if rows]

    def _findings(self, index: int, result: Analysis) -> list[Finding]:
        head = result.scores.get(self.head, {})  # empty when a deadline came before any window
        findings = [
            Finding(
                guard=self.name,
                label=label,
                score=min(1.0, max(0.0, head.get(label, 0.0))),
                text_index=index,
            )
            for label in self.labels
        ]
        findings += partial_scan(self.name, index, result)
        return findings

    def _rescaled(
        self, findings: list[Finding], routed: ClassifierGuard, stage: Stage
    ) -> list[Finding]:
        """`routed`'s scores on this guard's scale (see the module docstring)."""
        ours = self.thresholds_for_stages([stage])
        theirs = routed.thresholds_for_stages([stage])
        out = []
        for f in findings:
            if f.label in ours and f.label in theirs:
                f = f.model_copy(update={"score": rescale(f.score, theirs[f.label], ours[f.label])})
            out.append(f)
        return out


def _by_script(
    indexed: list[tuple[int, str]],
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """`route_when: not_latin`: (texts for the first bundle, texts for the routed one). A text
    that is mostly Latin goes to the first bundle and its part in other scripts, if any, to the
    routed one as well; a text that is mostly not Latin the other way round. An English attack
    padded with as much Chinese (or a Chinese one with English) is mostly padding to the bundle
    its main script picks, and must not escape the bundle that reads it (the higher score
    counts)."""
    own: list[tuple[int, str]] = []
    routed: list[tuple[int, str]] = []
    for index, text in indexed:
        latin, part = script_split(text)
        main, other = (own, routed) if latin else (routed, own)
        main.append((index, text))
        if part:
            other.append((index, part))
    return own, routed


def _with_decoded(
    texts: Sequence[str],
    parts: Sequence[tuple[ClassifierGuard, list[tuple[int, str]], dict[int, str] | None]],
) -> dict[int, str]:
    """For a judge: each text that had payloads decoded, followed by what they decoded to, so
    that a score from the decoding is judged on what scored (a judge model may not read
    ROT13 or Morse); a respelled text is left as it is (a model reads leetspeak)."""
    decoded: dict[int, list[str]] = {}
    for _, rows, readings in parts:
        for i, reading in rows:
            if readings is not None and readings[i].startswith("decoded"):
                decoded.setdefault(i, []).append(f"[{readings[i]}]\n{reading}")
    return {i: "\n\n".join([texts[i], *extra]) for i, extra in decoded.items()}


def _highest(findings: list[Finding]) -> list[Finding]:
    """One finding per (text, label), the highest-scored: a text two bundles read is reported
    once, as the reader that found most in it saw it."""
    best: dict[tuple[int, str], Finding] = {}
    for finding in findings:
        key = (finding.text_index, finding.label)
        if key not in best or finding.score > best[key].score:
            best[key] = finding
    return list(best.values())


def rescale(score: float, source: float, target: float) -> float:
    """Piecewise-linear, increasing map of [0, 1] onto itself that sends `source` to `target`."""
    if score < source:
        return score * target / source
    if source >= 1.0:
        return target
    return target + (score - source) * (1.0 - target) / (1.0 - source)


def partial_scan(guard: str, index: int, result: Analysis) -> list[Finding]:
    """The `partial_scan` finding of a read that left part of its text unread (none when it
    read everything): reason `budget` after a deadline, `sampled` when the policy sampled."""
    if result.unread <= 0.0:
        return []
    reason: PartialReason = "budget" if result.cut else "sampled"
    score = min(1.0, result.unread)
    return [Finding(guard=guard, label=PARTIAL_SCAN, score=score, text_index=index, reason=reason)]


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
    guard = ClassifierGuard(
        context.name,
        runtime,
        config.head,
        config.labels,
        config.threshold_profile,
        sample=config.long_text == "sample",
    )
    if config.escalate is not None:
        guard.escalator = Escalator(config.escalate, context.name, guard.labels)
    if config.read_obfuscated:
        guard.deobfuscator = runtime.deobfuscator
    if config.read_encoded:
        guard.decoder = Decoder.english()
    if config.route_non_english is not None:
        guard.route = ClassifierGuard(
            context.name,
            shared_runtime(config.route_non_english, context),
            config.route_head or config.head,
            config.labels,
            config.threshold_profile,
            sample=config.long_text == "sample",
        )
        guard.route_when = config.route_when
        # a label the routed bundle cannot score would never fire on non-English texts
        missing = sorted(set(guard.labels) - set(guard.route.labels))
        if missing:
            raise ValueError(
                f"route_non_english bundle {config.route_non_english!r} has no label "
                f"{', '.join(missing)} in head {config.route_head or config.head!r}: name "
                "`labels:` it can score"
            )
        # and one only the routed head has (`route_head` may name a head with more) is not
        # this guard's to report: its findings would not be on this guard's scale
        guard.route.labels = guard.labels
    return guard


KIND = GuardKind(config=ClassifierConfig, build=build)
