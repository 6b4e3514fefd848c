"""The `topics` guard (issue #23): deny-lists and allow-lists of topics in plain words, scored
zero-shot from the shipped encoder's embedding, on real prompts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError

from guardrail.guards.base import Guard
from guardrail.guards.classifier import ClassifierGuard
from guardrail.guards.registry import BuildContext, get_kind
from guardrail.guards.topics import OFF_TOPIC, TopicsConfig, TopicsGuard
from guardrail.policy.load import load_policy_text
from guardrail.types import PARTIAL_SCAN, CheckContext, Finding, Stage
from tests.guards.conftest import build, scan_texts
from tests.helpers.tiny_bundle import build_tiny_bundle

MEDICAL = "medical symptoms, diagnosis and treatment of illness"
INVESTING = "investment advice about stocks, shares, crypto and retirement savings"
SUPPORT = {
    "orders": "orders, shipping and delivery of a purchase",
    "billing": "billing, invoices, charges, refunds and payments",
    "account": "user account, login, password and sign-in problems",
}
CHEST = "I have had chest pain and shortness of breath for two days, what could be causing it?"
BITCOIN = "Should I move my pension savings into bitcoin?"
LIMERICK = "Can you write a limerick about a cat who loves cheese?"
PIZZA = "What is the best pizza topping?"
CHARGED = "I was charged twice this month, please refund one of the payments."
SYMPTOMS = [
    "The pain gets worse when I climb stairs and my doctor ordered an ECG.",
    "My blood pressure was high at the clinic and I was given a new prescription.",
    "Could this be a heart problem or an infection of the lungs?",
]
FILLER = "The harbour was quiet that morning and the boats rocked gently. "
CTX = CheckContext(stage=Stage.INPUT)


@pytest.fixture(scope="module")
def deny() -> Guard:
    """A deny-list of two topics over the shipped guard-minilm encoder."""
    return build("topics", name="no-advice", deny={"medical": MEDICAL, "investing": INVESTING})


@pytest.fixture(scope="module")
def allow() -> Guard:
    """A customer-support allow-list of three topics."""
    return build("topics", name="support-only", allow=SUPPORT)


def _fired(guard: Guard, text: str) -> set[str]:
    """Labels whose score reaches the guard's default threshold."""
    thresholds = guard.default_thresholds
    return {f.label for f in scan_texts(guard, text) if f.score >= thresholds.get(f.label, 2.0)}


def test_the_registry_builds_the_kind(deny: Guard) -> None:
    """`kind: topics` is a registered kind whose guard satisfies the Guard protocol."""
    assert get_kind("topics").config is TopicsConfig
    assert isinstance(deny, TopicsGuard) and isinstance(deny, Guard)
    assert deny.reported_labels == {"medical", "investing", PARTIAL_SCAN}
    assert deny.default_thresholds == {"medical": 0.4, "investing": 0.4}


@pytest.mark.parametrize(
    ("text", "fired"),
    [
        (CHEST, {"medical"}),
        (BITCOIN, {"investing"}),
        (LIMERICK, set()),
        (PIZZA, set()),
        ("Write a Python function that returns the median of a list.", set()),
        ("Recommend a TV series like Grey's Anatomy", set()),
    ],
)
def test_deny_list_flags_the_topics_a_text_is_on(deny: Guard, text: str, fired: set[str]) -> None:
    """A medical question fires `medical`, an investing one `investing`, others nothing
    (a TV series named after a hospital included)."""
    assert _fired(deny, text) == fired


def test_deny_list_reports_every_topic_per_text(deny: Guard) -> None:
    """One finding per (text, topic) with the text's index; blank texts are skipped."""
    findings = scan_texts(deny, CHEST, "   ", PIZZA)
    assert sorted((f.text_index, f.label) for f in findings) == [
        (0, "investing"),
        (0, "medical"),
        (2, "investing"),
        (2, "medical"),
    ]
    assert all(0.0 <= f.score <= 1.0 for f in findings)


@pytest.mark.parametrize(
    ("text", "off"),
    [
        (CHARGED, False),
        ("I forgot my password and the reset email never arrives.", False),
        ("Can I change the delivery address of my order?", False),
        (LIMERICK, True),
        (PIZZA, True),
        ("Who is going to win the next election?", True),
    ],
)
def test_allow_list_flags_texts_off_every_allowed_topic(allow: Guard, text: str, off: bool) -> None:
    """Support requests pass; a poem, food and politics are `off_topic`."""
    assert _fired(allow, text) == ({OFF_TOPIC} if off else set())


def test_allow_list_default_threshold_is_on_one_minus_similarity(allow: Guard) -> None:
    """`off_topic` scores 1 - similarity, so its default threshold is 1 - 0.435."""
    assert allow.default_thresholds == {OFF_TOPIC: 0.565}
    assert allow.reported_labels == {OFF_TOPIC, PARTIAL_SCAN}
    (finding,) = scan_texts(allow, LIMERICK)
    assert finding.label == OFF_TOPIC and finding.score > 0.8


def test_a_threshold_in_the_config_replaces_the_default() -> None:
    """`threshold:` is the similarity at which a text is on a topic, in both modes."""
    strict_deny = build("topics", deny={"medical": MEDICAL}, threshold=0.2)
    strict_allow = build("topics", allow=SUPPORT, threshold=0.3)
    assert strict_deny.default_thresholds == {"medical": 0.2}
    assert strict_allow.default_thresholds == {OFF_TOPIC: 0.7}


def test_several_descriptions_of_a_topic_count_as_one_topic() -> None:
    """A list of descriptions is one topic: its score is the best description's."""
    one = build("topics", deny={"investing": INVESTING})
    two = build("topics", deny={"investing": [INVESTING, "whether to buy gold or bitcoin"]})
    (a,) = scan_texts(one, BITCOIN)
    (b,) = scan_texts(two, BITCOIN)
    assert a.label == b.label == "investing"
    # descriptions are embedded in one padded batch: int8 padding moves a score by ~1e-7
    assert b.score >= a.score - 1e-4


def test_long_texts_take_the_best_window(deny: Guard) -> None:
    """A medical account that fills the last window of ~4,000 words scores as it does alone:
    the score is the maximum over windows, not the whole text's average."""
    body = " ".join([CHEST, *SYMPTOMS] * 8)  # > 512 tokens: a window of its own

    def medical(text: str) -> float:
        return next(f.score for f in scan_texts(deny, text) if f.label == "medical")

    long, alone, filler = medical(FILLER * 400 + body), medical(body), medical(FILLER * 400)
    assert abs(long - alone) < 0.05
    assert long > filler + 0.25


def test_a_short_passage_drowned_in_a_window_is_missed(deny: Guard) -> None:
    """Documented limit: one on-topic sentence inside ~600 words of other text is not seen
    (the window's mean embedding is about the rest)."""
    assert _fired(deny, FILLER * 60 + CHEST) == set()
    assert _fired(deny, FILLER * 2 + CHEST) == {"medical"}


def test_topics_and_classifiers_share_one_pass_per_text() -> None:
    """A policy with injection, harm and topics guards over one bundle runs the encoder once
    per text: the embedding comes from the classifiers' pass."""
    policy = load_policy_text(
        f"""
version: 1
guards:
  injection: {{kind: classifier, bundle: guard-minilm, head: injection}}
  harm: {{kind: classifier, bundle: guard-minilm, head: harm}}
  advice: {{kind: topics, deny: {{medical: "{MEDICAL}"}}}}
rules:
  - {{name: no-injection, guard: injection, stages: [input], action: block}}
  - {{name: no-medical, guard: advice, stages: [input], action: block}}
"""
    )
    inj, harm, topics = (policy.guards[n] for n in ("injection", "harm", "advice"))
    assert isinstance(inj, ClassifierGuard) and isinstance(topics, TopicsGuard)
    assert topics.runtime is inj.runtime
    texts = [f"{CHEST} (asked on day {n})" for n in range(3)]
    before = inj.runtime.forward_passes

    async def all_three() -> list[list[Finding]]:
        return await asyncio.gather(*(g.scan(texts, CTX) for g in (inj, harm, topics)))

    _, _, found = asyncio.run(all_three())
    assert inj.runtime.forward_passes - before == len(texts)
    assert {f.label for f in found if f.score >= 0.4} == {"medical"}


def test_a_rule_label_must_be_a_topic() -> None:
    """A rule's `thresholds` key that is not one of the guard's topics is a policy error."""
    with pytest.raises(Exception, match="medicine"):
        load_policy_text(
            f"""
version: 1
guards:
  advice: {{kind: topics, deny: {{medical: "{MEDICAL}"}}}}
rules:
  - {{name: r, guard: advice, stages: [input], action: block, thresholds: {{medicine: 0.5}}}}
"""
        )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "exactly one of allow"),
        ({"allow": SUPPORT, "deny": {"medical": MEDICAL}}, "exactly one of allow"),
        ({"deny": {}}, "at least 1"),
        ({"deny": {"Medical Advice": MEDICAL}}, "lower-case"),
        ({"deny": {"off_topic": MEDICAL}}, "lower-case"),
        ({"deny": {"medical": "  "}}, "non-empty"),
        ({"deny": {"medical": []}}, "non-empty"),
        ({"deny": {"medical": MEDICAL}, "threshold": 1.5}, "less than or equal to 1"),
        ({"deny": {"medical": MEDICAL}, "colour": "red"}, "Extra inputs"),
    ],
)
def test_config_errors_say_what_is_wrong(params: dict[str, object], message: str) -> None:
    """Bad topic lists, names, descriptions and thresholds fail validation, saying why."""
    with pytest.raises(ValidationError, match=message):
        TopicsConfig.model_validate({"kind": "topics", **params})


def test_a_bundle_without_an_embedding_is_refused(tmp_path: Path) -> None:
    """A bundle that declares no embedding output cannot back a topics guard."""
    tiny = build_tiny_bundle(tmp_path / "tiny")
    raw = {"kind": "topics", "deny": {"medical": MEDICAL}, "bundle": str(tiny)}
    with pytest.raises(ValidationError, match="declares no embedding"):
        TopicsConfig.model_validate(raw)
    config = TopicsConfig.model_construct(**{**raw, "allow": None, "threshold": None})
    with pytest.raises(ValueError, match="declares no embedding"):
        get_kind("topics").build(config, BuildContext(name="t"))
