"""The shipped policy packs (policies/*.yaml) as `guardrail serve` runs them: each builds the
proxy app and answers through it, its classifier guards use the named `guard-minilm` bundle,
and a threshold a pack writes down only ever tightens the bundle's calibrated one."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from guardrail.guards.classifier import ClassifierGuard
from guardrail.pipeline import Pipeline
from guardrail.policy.load import load_policy
from guardrail.testing import FakeUpstream
from tests.e2e.clients import openai_client
from tests.e2e.conftest import ProxyFactory

ROOT = Path(__file__).resolve().parents[2]
POLICIES = sorted((ROOT / "policies").glob("*.yaml"))
PACKS = ("rag-agent", "customer-support", "code-assistant", "strict")


def test_the_packs_are_shipped() -> None:
    """Each use-case pack is a file in policies/ (so the tests below cover it)."""
    assert {f"{name}.yaml" for name in PACKS} <= {p.name for p in POLICIES}


@pytest.mark.parametrize("path", POLICIES, ids=[p.stem for p in POLICIES])
def test_pack_serves_a_plain_question(
    proxy_url: ProxyFactory, fake: FakeUpstream, path: Path
) -> None:
    """The proxy app built from the pack (as `guardrail serve` builds it) forwards a plain
    English question and returns the upstream's answer."""
    prompt = "What is the capital of France?"
    answer = openai_client(proxy_url(path)).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": prompt}]
    )
    assert answer.choices[0].message.content == f"echo: {prompt}"
    assert len(fake.requests) == 1


def _classifier_bundles(path: Path) -> list[str]:
    """The `bundle` of every classifier guard in a policy file and the files it extends."""
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    bundles = [
        str(guard.get("bundle"))
        for guard in (data.get("guards") or {}).values()
        if guard.get("kind") == "classifier"
    ]
    base = data.get("extends")
    return bundles + (_classifier_bundles(path.parent / base) if base else [])


@pytest.mark.parametrize("name", PACKS)
def test_classifiers_use_the_named_bundle(name: str) -> None:
    """Every classifier guard of a pack loads `guard-minilm` by name, so a retrained bundle
    in its place is what the pack runs."""
    path = ROOT / "policies" / f"{name}.yaml"
    assert any(isinstance(g, ClassifierGuard) for g in load_policy(path).guards.values())
    assert set(_classifier_bundles(path)) == {"guard-minilm"}


# The one deliberate loosening: default.yaml's `injection` on user prompts (the
# `injection_prompts` head), chosen on dev/ with the signature rules beside it
# (classifiers/guard-minilm/MODEL_CARD.md, "Session 12"); the policies that extend
# default.yaml inherit it. Any other, or another value, fails below.
CHOSEN_LOOSER = {("block-injection", "injection"): 0.72}


@pytest.mark.parametrize("path", POLICIES, ids=[p.stem for p in POLICIES])
def test_written_thresholds_only_tighten(path: Path) -> None:
    """A classifier rule's own threshold is never above the bundle's calibrated one for its
    stages and labels (a single `threshold:` would also replace the labels it was not meant
    for: strict.yaml's 0.3 used to lift `jailbreak` from 0.026 to 0.3), except the documented
    choice in CHOSEN_LOOSER, at exactly its value."""
    policy = Pipeline.from_file(path).policy
    looser = []
    for rule in policy.rules:
        guard = policy.guards[rule.guard]
        if not isinstance(guard, ClassifierGuard):
            continue
        calibrated = guard.thresholds_for_stages(rule.stages)
        labels = rule.labels if rule.labels is not None else guard.reported_labels
        looser += [
            (rule.name, label)
            for label in sorted(labels)
            if label in calibrated
            and rule.threshold_for(label) > calibrated[label]
            and CHOSEN_LOOSER.get((rule.name, label)) != rule.threshold_for(label)
        ]
    assert looser == []


EXTENDS_DEFAULT = [
    p
    for p in POLICIES
    if YAML(typ="safe").load(p.read_text(encoding="utf-8")).get("extends") == "default.yaml"
]


@pytest.mark.parametrize("path", EXTENDS_DEFAULT, ids=[p.stem for p in EXTENDS_DEFAULT])
def test_a_pack_extending_default_never_loosens_its_rules(path: Path) -> None:
    """A rule a pack redefines under a default.yaml name fires at no higher threshold, label by
    label, than default's (strict.yaml's `injection`-only override once lifted `jailbreak`)."""
    default = {r.name: r for r in Pipeline.from_file(ROOT / "policies/default.yaml").policy.rules}
    looser = []
    for rule in Pipeline.from_file(path).policy.rules:
        base = default.get(rule.name)
        if base is None:
            continue
        labels = set(rule.thresholds) & set(base.thresholds)
        looser += [
            (rule.name, label, rule.threshold_for(label), base.threshold_for(label))
            for label in sorted(labels)
            if rule.threshold_for(label) > base.threshold_for(label)
        ]
    assert EXTENDS_DEFAULT and looser == []
