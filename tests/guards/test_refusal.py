"""The `refusal` guard: answers in which the model declines, in common phrasings and a few
languages, and not answers that only sound like it."""

from __future__ import annotations

from typing import Any

import pytest

from guardrail.guards.base import Guard

REFUSALS = (
    "I'm sorry, but I can't help with that.",
    "I’m sorry, but I cannot assist with that request.",
    "I can't help with creating malware.",
    "I cannot provide instructions for making weapons.",
    "I won't be able to help with that one.",
    "Unfortunately, I'm unable to provide that information.",
    "I'm not able to share personal data about other people.",
    "As an AI language model, I don't have access to real-time data.",
    "As an AI, I cannot browse the internet.",
    "That's not something I can help with, but I can suggest other resources.",
    "I must decline this request.",
    "I apologize, but I am unable to fulfill this request.",
    "Sorry, I can't do that.",
    "I'm afraid I can't do that, Dave.",
    "This request goes against my guidelines, so I won't continue.",
    "I'm not comfortable providing advice on that topic.",
    "I can't assist with that. If you are in danger, please contact local authorities.",
    "I am not able to generate that kind of content.",
    "I'm sorry, but that's not something I'm able to help with.",
    "I will not write that story.",
    "Es tut mir leid, aber dabei kann ich nicht helfen.",
    "Ich kann dir dabei nicht helfen.",
    "Je suis désolé, mais je ne peux pas vous aider avec cela.",
    "Lo siento, pero no puedo ayudarte con eso.",
    "Mi dispiace, ma non posso aiutarti con questa richiesta.",
    "Desculpe, mas não posso ajudar com isso.",
    "К сожалению, я не могу помочь с этим запросом.",
    "抱歉，我无法提供这方面的帮助。",
    "我不能帮助你做这件事。",
    "Sorry, we can't process refunds through this chat.",
)
ANSWERS = (
    "Sure! Here is a recipe for banana bread.",
    "I can't help but notice that your code has a typo on line 3.",
    "I can't stress enough how important it is to back up your files.",
    "I'm sorry to hear that you can't sleep. Here are some tips that may help.",
    "Sorry for the delay! Here is the summary you asked for.",
    "The error says the server cannot connect to the database; check the port.",
    "If the user can't log in, reset their password from the admin page.",
    "You cannot divide by zero, so the function returns None in that case.",
    "I can help with that. First, open the settings menu.",
    "I won't bore you with the details: the answer is 42.",
    "As an AI researcher, she published three papers on planning.",
    "He said: 'I'm sorry, I can't come tonight.' Then he hung up.",
    "Why can't I connect to my VPN? Usually because the port is blocked.",
    "The law does not allow landlords to keep the deposit without a reason.",
    "Here is a polite way to decline an invitation: 'Thank you, but I must pass this time.'",
    "Es tut mir leid zu hören, dass es dir nicht gut geht. Hier sind ein paar Ideen.",
    "Je peux vous aider à rédiger cette lettre.",
    "Claro, puedo ayudarte con eso. Primero, abre el archivo.",
    "Конечно, вот пример кода на Python.",
    "当然可以，下面是详细的步骤。",
    "Unfortunately the train was late, so we missed the start of the concert.",
    "I'm afraid of spiders, but this one was tiny.",
    "Apologies for the confusion: the meeting is on Tuesday.",
    "The policy says refunds are possible within 30 days.",
    "We can't wait to see you at the conference!",
)


def _refuses(guard: Guard, scan: Any, text: str) -> bool:
    return any(f.label == "refusal" for f in scan(guard, text))


def test_quality_on_written_answers(build_guard: Any, scan: Any) -> None:
    """Every written refusal is found; no ordinary answer is (counts printed for the docs)."""
    guard = build_guard("refusal")
    found = sum(_refuses(guard, scan, text) for text in REFUSALS)
    false = [text for text in ANSWERS if _refuses(guard, scan, text)]
    print(f"| refusals found | {found}/{len(REFUSALS)} |")
    print(f"| answers flagged | {len(false)}/{len(ANSWERS)} |")
    assert found == len(REFUSALS)
    assert false == ["He said: 'I'm sorry, I can't come tonight.' Then he hung up."]


@pytest.mark.parametrize("text", REFUSALS)
def test_refusals_are_spanned(build_guard: Any, scan: Any, text: str) -> None:
    """Each refusal is one `refusal` finding, score 1.0, with a span inside the text."""
    [finding] = scan(build_guard("refusal"), text)
    assert finding.label == "refusal" and finding.score == 1.0
    assert all(0 <= s.start < s.end <= len(text) for s in finding.spans)


def test_only_the_start_is_read_by_default(build_guard: Any, scan: Any) -> None:
    """A refusal wording deep in a long answer is not the model declining; `scan_chars: 0`
    reads the whole text."""
    text = "Here is the essay you asked for. " * 20 + "The hero said: I cannot help you."
    assert scan(build_guard("refusal"), text) == []
    assert len(scan(build_guard("refusal", scan_chars=0), text)) == 1


def test_extra_phrases_are_literal(build_guard: Any, found: Any) -> None:
    """`extra_phrases` match literally (any run of spaces as one), case-insensitively."""
    guard = build_guard("refusal", extra_phrases=["That is outside what Acme Bot (v2) does."])
    text = "Sorry!  that is outside  what ACME bot (v2) does."
    assert found(guard, text) == [("refusal", "that is outside  what ACME bot (v2) does.")]
    assert found(guard, "That is outside what Acme Bot v2 does") == []


def test_guard_satisfies_the_protocol(build_guard: Any) -> None:
    """The built guard is a `Guard` reporting only `refusal`."""
    guard = build_guard("refusal", name="declined")
    assert isinstance(guard, Guard) and guard.name == "declined"
    assert guard.reported_labels == {"refusal"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"extra_phrases": ["  "]}, "must not contain blank phrases"),
        ({"scan_chars": -1}, "greater than or equal to 0"),
        ({"phrases": ["x"]}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_parameters_are_explained(
    config_error: Any, params: dict[str, Any], message: str
) -> None:
    """Blank phrases, negative lengths and unknown keys fail validation clearly."""
    assert message in config_error("refusal", **params)
