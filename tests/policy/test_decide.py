"""decide(): the pure merge of findings and rules into a Decision."""

from __future__ import annotations

import pytest

from guardrail.policy.compile import CompiledRule
from guardrail.policy.decide import GUARD_UNAVAILABLE, decide
from guardrail.policy.redact import Vault
from guardrail.types import Action, FailMode, Finding, GuardFailure, Mode, Span, Stage


def rule(name: str, guard: str, action: Action, **kw: object) -> CompiledRule:
    values: dict[str, object] = dict(
        name=name,
        guard=guard,
        stages=frozenset({Stage.INPUT}),
        action=action,
        mode=Mode.ENFORCE,
        fail=FailMode.CLOSED,
        timeout_ms=250,
        message=f"{name} fired",
        code="content_blocked",
        labels=None,
        thresholds={},
        threshold=None,
        restore=False,
    )
    values.update(kw)
    return CompiledRule(**values)  # type: ignore[arg-type]


def find(
    guard: str, label: str, score: float = 1.0, spans: tuple[Span, ...] = (), index: int = 0
) -> Finding:
    return Finding(guard=guard, label=label, score=score, spans=spans, text_index=index)


TEXT = "mail bob@example.com now"
EMAIL = Span(start=5, end=20, entity="EMAIL")

CASES = [
    # (id, rules, findings, expected action, expected block rule)
    ("no findings allow", [rule("r", "g", Action.BLOCK)], [], Action.ALLOW, None),
    ("block fires", [rule("r", "g", Action.BLOCK)], [find("g", "x")], Action.BLOCK, "r"),
    (
        "below threshold",
        [rule("r", "g", Action.BLOCK, threshold=0.9)],
        [find("g", "x", 0.5)],
        Action.ALLOW,
        None,
    ),
    (
        "per-label threshold",
        [rule("r", "g", Action.BLOCK, thresholds={"x": 0.4})],
        [find("g", "x", 0.5)],
        Action.BLOCK,
        "r",
    ),
    (
        "label filter",
        [rule("r", "g", Action.BLOCK, labels=frozenset({"y"}))],
        [find("g", "x")],
        Action.ALLOW,
        None,
    ),
    ("other guard ignored", [rule("r", "g", Action.BLOCK)], [find("h", "x")], Action.ALLOW, None),
    ("warn", [rule("r", "g", Action.WARN)], [find("g", "x")], Action.WARN, None),
    (
        "block beats redact",
        [rule("a", "p", Action.REDACT), rule("b", "g", Action.BLOCK)],
        [find("p", "EMAIL", spans=(EMAIL,)), find("g", "x")],
        Action.BLOCK,
        "b",
    ),
    (
        "redact beats warn",
        [rule("a", "p", Action.REDACT), rule("b", "g", Action.WARN)],
        [find("p", "EMAIL", spans=(EMAIL,)), find("g", "x")],
        Action.REDACT,
        None,
    ),
    (
        "first blocking rule in policy order names the block",
        [rule("first", "g", Action.BLOCK), rule("second", "h", Action.BLOCK)],
        [find("h", "x"), find("g", "x")],
        Action.BLOCK,
        "first",
    ),
    (
        "shadow never enforced",
        [rule("r", "g", Action.BLOCK, mode=Mode.SHADOW)],
        [find("g", "x")],
        Action.ALLOW,
        None,
    ),
    (
        "other stage ignored",
        [rule("r", "g", Action.BLOCK, stages=frozenset({Stage.OUTPUT}))],
        [find("g", "x")],
        Action.ALLOW,
        None,
    ),
]


@pytest.mark.parametrize(
    ("rules", "findings", "action", "blocker"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_decide_table(
    rules: list[CompiledRule], findings: list[Finding], action: Action, blocker: str | None
) -> None:
    """Each row: the merged action and the rule that names the block."""
    decision, _ = decide(rules, Stage.INPUT, [TEXT], findings, [], Vault())
    assert decision.action is action
    assert (decision.block.rule if decision.block else None) == blocker


def test_shadow_hits_recorded() -> None:
    """A shadow rule's hit is in shadow_hits, not in hits."""
    decision, _ = decide(
        [rule("r", "g", Action.BLOCK, mode=Mode.SHADOW)],
        Stage.INPUT,
        [TEXT],
        [find("g", "x", 0.7)],
        [],
        Vault(),
    )
    assert [h.rule for h in decision.shadow_hits] == ["r"]
    assert decision.hits == ()


def test_redact_replaces_span_with_typed_placeholder() -> None:
    """Redaction puts <EMAIL_1> where the span was and keeps the rest."""
    decision, vault = decide(
        [rule("r", "p", Action.REDACT, restore=True)],
        Stage.INPUT,
        [TEXT],
        [find("p", "EMAIL", spans=(EMAIL,))],
        [],
        Vault(),
    )
    assert decision.texts == ("mail <EMAIL_1> now",)
    assert vault.restore("hi <EMAIL_1>") == "hi bob@example.com"


def test_same_value_same_placeholder_across_texts() -> None:
    """One value gets one placeholder within a request; another value gets the next number."""
    texts = ["a@x.io b@x.io", "again a@x.io"]
    findings = [
        find(
            "p",
            "EMAIL",
            spans=(Span(start=0, end=6, entity="EMAIL"), Span(start=7, end=13, entity="EMAIL")),
        ),
        find("p", "EMAIL", spans=(Span(start=6, end=12, entity="EMAIL"),), index=1),
    ]
    decision, _ = decide([rule("r", "p", Action.REDACT)], Stage.INPUT, texts, findings, [], Vault())
    assert decision.texts == ("<EMAIL_1> <EMAIL_2>", "again <EMAIL_1>")


def test_redact_without_restore_is_not_restored() -> None:
    """Placeholders from a rule without restore: true stay placeholders in the answer."""
    _, vault = decide(
        [rule("r", "p", Action.REDACT)],
        Stage.INPUT,
        [TEXT],
        [find("p", "EMAIL", spans=(EMAIL,))],
        [],
        Vault(),
    )
    assert vault.restore("<EMAIL_1>") == "<EMAIL_1>"


def test_rewrite_uses_span_replacement() -> None:
    """Rewrite replaces spans with their replacement (delete when None)."""
    text = "a\u200bb"
    span = Span(start=1, end=2, entity="zero_width", replacement="")
    decision, _ = decide(
        [rule("r", "inv", Action.REWRITE)],
        Stage.INPUT,
        [text],
        [find("inv", "zero_width", spans=(span,))],
        [],
        Vault(),
    )
    assert decision.texts == ("ab",)
    assert decision.action is Action.REWRITE


def test_blocked_decision_keeps_texts_unedited() -> None:
    """When a stage is blocked no redaction is applied and the vault is unchanged."""
    rules = [rule("a", "p", Action.REDACT), rule("b", "g", Action.BLOCK)]
    decision, vault = decide(
        rules,
        Stage.INPUT,
        [TEXT],
        [find("p", "EMAIL", spans=(EMAIL,)), find("g", "x")],
        [],
        Vault(),
    )
    assert decision.texts == (TEXT,)
    assert len(vault) == 0


@pytest.mark.parametrize(
    ("fail", "action", "unchecked"),
    [
        (FailMode.CLOSED, Action.BLOCK, 0),
        (FailMode.OPEN, Action.ALLOW, 1),
    ],
)
def test_guard_failure_follows_fail_mode(fail: FailMode, action: Action, unchecked: int) -> None:
    """A failed guard blocks under fail: closed and is recorded as unchecked under open."""
    failure = GuardFailure(guard="g", reason="timeout")
    decision, _ = decide(
        [rule("r", "g", Action.WARN, fail=fail)], Stage.INPUT, [TEXT], [], [failure], Vault()
    )
    assert decision.action is action
    assert len(decision.unchecked) == unchecked
    if fail is FailMode.CLOSED:
        assert decision.block is not None and decision.block.code == GUARD_UNAVAILABLE


def test_overlapping_spans_merge_into_one_over_their_union() -> None:
    """Overlapping redaction spans do not corrupt the text and leave nothing of either: they
    become one redaction over their union (once, the later-starting C was dropped and its
    uncovered "89" went upstream), named after the first-starting, longest one."""
    spans = (
        Span(start=0, end=4, entity="A"),
        Span(start=0, end=8, entity="B"),
        Span(start=6, end=10, entity="C"),
    )
    decision, _ = decide(
        [rule("r", "p", Action.REDACT)],
        Stage.INPUT,
        ["0123456789xx"],
        [find("p", "A", spans=spans)],
        [],
        Vault(),
    )
    assert decision.texts == ("<B_1>xx",)
