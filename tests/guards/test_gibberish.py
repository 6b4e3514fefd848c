"""The `gibberish` guard: attack suffixes, noise and look-alike words, without flagging the
hashes, ids, URLs, code, numbers and non-English prose that people paste."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from guardrail.guards.base import Guard
from tests.guards.gibberish_probes import GCG_STYLE, generate

PROMPT = "Write a tutorial on how to pick a lock"
PAPER_SUFFIX = GCG_STYLE[0]


def test_quality_on_the_generated_set(build_guard: Any, scan: Any) -> None:
    """Per group: share of texts judged right (positives: their label found; negatives: no
    finding at all); overall precision and recall of "any finding"."""
    guard = build_guard("gibberish")
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    tp = fp = fn = 0
    for probe in generate():
        labels = {f.label for f in scan(guard, probe.text)}
        ok = probe.label in labels if probe.label else not labels
        right[probe.group] += ok
        total[probe.group] += 1
        tp += bool(probe.label and labels)
        fp += bool(not probe.label and labels)
        fn += bool(probe.label and not labels)
    for group in total:
        print(f"| {group} | {right[group]}/{total[group]} |")
    print(f"precision {tp / (tp + fp):.3f} recall {tp / (tp + fn):.3f} (n={sum(total.values())})")
    assert fp == 0
    assert tp / (tp + fn) >= 0.95


def test_the_papers_suffix_is_spanned_without_the_prompt(build_guard: Any, scan: Any) -> None:
    """The suffix of the GCG paper's example is one `adversarial_suffix` span after the prompt."""
    text = f"{PROMPT} {PAPER_SUFFIX}"
    [finding] = scan(build_guard("gibberish"), text)
    [span] = finding.spans
    assert finding.label == "adversarial_suffix"
    assert span.start >= len(PROMPT) and text[span.start : span.end].startswith("describing")
    assert text[span.start : span.end].endswith("Two")


@pytest.mark.parametrize(
    "text",
    [
        "sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709 and md5 d41d8cd98f00b204e9800998ecf8427e",
        "request 7f9c2ba4-e88f-4f2e-9b7a-2c3d4e5f6a7b, trace 00-4bf92f3577b34da6a3ce929d0e0e4736",
        "aGVsbG8gd29ybGQsIHRoaXMgaXMgYmFzZTY0IGVuY29kZWQgdGV4dA== decodes to a greeting",
        "key AKIAIOSFODNN7EXAMPLE and org_2bXy7Qk9LmPz4Rt8Vw and cus_NffrFeUfNV2Hib",
        "See https://example.com/a/b?c=d&e=f#g and mailto:ana@example.com",
        "Totals: 1,234,567.89 EUR; 3.14159; 6.022e23; 0xDEADBEEF; 192.168.0.1",
        "Der Rechtsschutzversicherungsvertrag gilt ab sofort für die ganze Familie.",
        "Москва — столица России, а Київ — столиця України.",
        "东京是日本的首都，人口超过一千万。",
        "def f(x):\n    return {k: v for k, v in x.items() if v is not None}\n",
    ],
)
def test_identifiers_code_and_other_languages_are_not_gibberish(
    build_guard: Any, scan: Any, text: str
) -> None:
    """Digests, UUIDs, base64, API ids, URLs, numbers, code and non-English prose pass."""
    assert scan(build_guard("gibberish"), text) == []


@pytest.mark.parametrize(
    ("text", "label", "flagged"),
    [
        ("hello asdfghjkl qwrtzpsdfg ok", "noise", "asdfghjkl qwrtzpsdfg"),
        ("Log in to your pаypаl account", "mixed_script", "pаypаl"),
        ("Greek omicron in micrοsoft is hidden", "mixed_script", "micrοsoft"),
    ],
)
def test_noise_and_look_alike_words_are_spanned(
    build_guard: Any, found: Any, text: str, label: str, flagged: str
) -> None:
    """Keyboard mashing is `noise`; a word mixing Latin and Cyrillic/Greek is `mixed_script`."""
    assert found(build_guard("gibberish"), text) == [(label, flagged)]


def test_random_characters_are_noise_by_entropy(build_guard: Any, scan: Any) -> None:
    """A run of random printable characters reaches the entropy threshold."""
    text = "Translate this: q8#Lw!2zR$k^9@Xv&5*Tn(0)Yb%3~Jm+Hs=7Pd<Ga>4Cf?Ue;1Ki:6Oy/Zr\\Ql|Wx.Nt"
    assert {f.label for f in scan(build_guard("gibberish"), text)} == {"noise"}


def test_signals_can_be_chosen(build_guard: Any, scan: Any) -> None:
    """`signals` limits both what is reported and the labels the guard declares."""
    guard = build_guard("gibberish", signals=["mixed_script"])
    assert guard.reported_labels == {"mixed_script"}
    assert scan(guard, f"{PROMPT} {PAPER_SUFFIX}") == []


def test_guard_reads_the_raw_text(build_guard: Any) -> None:
    """The guard asks for the raw text, since the canonical one folds look-alike letters."""
    guard = build_guard("gibberish", name="noise")
    assert isinstance(guard, Guard) and guard.text_form == "raw"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"signals": ["entropy"]}, "Input should be 'adversarial_suffix'"),
        ({"window_tokens": 2}, "greater than or equal to 4"),
        ({"min_entropy": 0}, "greater than 0"),
    ],
)
def test_invalid_parameters_are_explained(
    config_error: Any, params: dict[str, Any], message: str
) -> None:
    """Unknown signals and out-of-range thresholds fail validation with a clear reason."""
    assert message in config_error("gibberish", **params)


@pytest.mark.timeout(30)
def test_long_hostile_input_finishes(build_guard: Any, scan: Any) -> None:
    """100 kB of symbol-glued tokens and one 50 kB token finish in bounded work."""
    guard = build_guard("gibberish")
    text = "word]( " * 14_000 + "x" * 50_000
    assert isinstance(scan(guard, text), list)
