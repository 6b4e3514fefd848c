"""The eval runner: rows go through Pipeline.check unchanged, and every score is kept."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from guardrail.evaluate.data import Example
from guardrail.evaluate.report import RuleInfo, build_report, format_report
from guardrail.evaluate.runner import RecordingGuard, evaluate, rule_scores
from guardrail.pipeline import Pipeline
from guardrail.policy.compile import CompiledRule, Policy
from guardrail.policy.model import Options
from guardrail.types import Action, CheckContext, FailMode, Finding, Mode, Stage


class ScoreGuard:
    """Scores "bad" 0.9, "meh" 0.3 and anything else 0.1 under label `bad` (and `other` 0.2)."""

    def __init__(self, name: str = "score") -> None:
        self.name = name

    @property
    def default_thresholds(self) -> Mapping[str, float]:
        return {"bad": 0.5}

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        out = []
        for i, text in enumerate(texts):
            score = 0.9 if "bad" in text else 0.3 if "meh" in text else 0.1
            out.append(Finding(guard=self.name, label="bad", score=score, text_index=i))
            out.append(Finding(guard=self.name, label="other", score=0.2, text_index=i))
        return out


class BrokenGuard:
    """Always raises (so its rule's fail mode decides)."""

    name = "broken"

    @property
    def default_thresholds(self) -> Mapping[str, float]:
        return {}

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        raise RuntimeError("down")


def make_rule(
    name: str,
    guard: str,
    mode: Mode = Mode.ENFORCE,
    labels: frozenset[str] | None = None,
    fail: FailMode = FailMode.CLOSED,
) -> CompiledRule:
    return CompiledRule(
        name=name,
        guard=guard,
        stages=frozenset({Stage.INPUT}),
        action=Action.BLOCK,
        mode=mode,
        fail=fail,
        timeout_ms=1000,
        message="no",
        code="content_blocked",
        labels=labels,
        thresholds={"bad": 0.5},
        threshold=None,
        restore=False,
    )


def make_pipeline(rules: list[CompiledRule], guards: dict[str, object]) -> Pipeline:
    policy = Policy(
        name="t", path=None, content_hash="0", options=Options(), rules=tuple(rules), guards=guards
    )  # type: ignore[arg-type]
    return Pipeline(policy)


ROWS = [
    Example("bad thing", "attack"),
    Example("meh thing", "attack"),
    Example("fine thing", "benign"),
    Example("bad joke", "benign"),
]


async def test_recording_guard_passes_findings_through_and_keeps_them_per_request() -> None:
    """The wrapped scan returns the guard's findings unchanged; pop() hands them over once."""
    recorder = RecordingGuard(ScoreGuard())
    ctx = CheckContext(stage=Stage.INPUT, request_id="r1")
    found = await recorder.scan(["meh"], ctx)
    assert found == await ScoreGuard().scan(["meh"], ctx)
    assert recorder.pop("r1") == found
    assert recorder.pop("r1") == []
    assert recorder.default_thresholds == {"bad": 0.5}


async def test_evaluate_keeps_scores_below_the_threshold() -> None:
    """A rule that did not fire on "meh" (0.3 < 0.5) still has its 0.3 score for the PR curve."""
    pipeline = make_pipeline([make_rule("r", "score")], {"score": ScoreGuard()})
    outcomes = await evaluate(pipeline, ROWS, Stage.INPUT)
    assert [o.fired for o in outcomes] == [{"r"}, set(), set(), {"r"}]
    assert [o.scores["r"]["bad"] for o in outcomes] == [0.9, 0.3, 0.1, 0.9]
    assert [o.positive for o in outcomes] == [True, True, False, False]
    assert [o.action for o in outcomes] == [Action.BLOCK, Action.ALLOW, Action.ALLOW, Action.BLOCK]


async def test_evaluate_leaves_the_given_pipeline_alone() -> None:
    """The recording wrappers live on a copy of the policy, not on the caller's pipeline."""
    guard = ScoreGuard()
    pipeline = make_pipeline([make_rule("r", "score")], {"score": guard})
    await evaluate(pipeline, ROWS[:1], Stage.INPUT)
    assert pipeline.policy.guards["score"] is guard


async def test_shadow_rules_count_as_fired_but_do_not_change_the_action() -> None:
    """Per rule, shadow hits are predictions; overall, only enforced actions are."""
    rule = make_rule("r", "score", mode=Mode.SHADOW)
    outcomes = await evaluate(make_pipeline([rule], {"score": ScoreGuard()}), ROWS, Stage.INPUT)
    assert outcomes[0].fired == {"r"} and outcomes[0].action is Action.ALLOW


async def test_failed_guards_are_recorded_for_both_fail_modes() -> None:
    """A guard error is reported per row whether its rule fails open or closed."""
    rules = [make_rule("open", "broken", fail=FailMode.OPEN)]
    outcomes = await evaluate(make_pipeline(rules, {"broken": BrokenGuard()}), ROWS, Stage.INPUT)
    assert {o.failed for o in outcomes} == {("broken",)}
    closed = [make_rule("closed", "broken")]
    outcomes = await evaluate(make_pipeline(closed, {"broken": BrokenGuard()}), ROWS, Stage.INPUT)
    assert {o.failed for o in outcomes} == {("broken",)}
    assert {o.action for o in outcomes} == {Action.BLOCK}


def test_rule_scores_only_use_the_labels_a_rule_covers() -> None:
    """A rule with `labels: [bad]` does not see the guard's `other` scores."""
    findings = [
        Finding(guard="score", label="bad", score=0.3),
        Finding(guard="score", label="bad", score=0.4),
        Finding(guard="score", label="other", score=0.8),
        Finding(guard="elsewhere", label="bad", score=1.0),
    ]
    rules = [make_rule("narrow", "score", labels=frozenset({"bad"})), make_rule("all", "score")]
    assert rule_scores(rules, findings) == {
        "narrow": {"bad": 0.4},
        "all": {"bad": 0.4, "other": 0.8},
    }


async def test_report_gives_auprc_for_scored_rules_only() -> None:
    """Scores 0.9/0.3 (positive), 0.1/0.9 (negative): AP = 0.5*0.5 + 0.5*(2/3) = 0.583333."""
    pipeline = make_pipeline([make_rule("r", "score")], {"score": ScoreGuard()})
    outcomes = await evaluate(pipeline, ROWS, Stage.INPUT)
    infos = [RuleInfo("r", "score", "enforce", "block", scored=True)]
    report = build_report(outcomes, infos, frozenset({Action.BLOCK}))
    rule = report["rules"]["r"]
    assert (rule["tp"], rule["fp"], rule["tn"], rule["fn"]) == (1, 1, 1, 1)
    # by label: "bad" as above; "other" ties every row at 0.2 -> AP = share of positives = 0.5
    assert (rule["auprc"], rule["auprc_by_label"]) == (0.583333, {"bad": 0.583333, "other": 0.5})
    plain = [RuleInfo("r", "score", "enforce", "block", scored=False)]
    unscored = build_report(outcomes, plain, frozenset())
    assert unscored["rules"]["r"]["auprc"] is None


async def test_format_report_warns_about_guard_failures() -> None:
    """The text report names a failing guard and how many rows it missed."""
    rules = [make_rule("open", "broken", fail=FailMode.OPEN)]
    outcomes = await evaluate(make_pipeline(rules, {"broken": BrokenGuard()}), ROWS, Stage.INPUT)
    infos = [RuleInfo("open", "broken", "enforce", "block", scored=False)]
    text = format_report(build_report(outcomes, infos, frozenset({Action.BLOCK})))
    assert "WARNING guard 'broken' failed (error/timeout) on 4 rows" in text
