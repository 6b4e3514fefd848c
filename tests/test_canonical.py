"""The canonical text guards read, and how their spans come back onto the original text."""

from __future__ import annotations

import pytest

from guardrail.canonical import StageTexts, canonical, fold, fold_punctuation, text_form_of
from guardrail.evaluate.runner import RecordingGuard
from guardrail.guards.invisible import InvisibleTextGuard
from guardrail.pipeline import Pipeline
from guardrail.server.metrics import Metrics
from guardrail.telemetry import TimedGuard
from guardrail.testing import DelayedGuard, StaticGuard
from guardrail.types import Action, Finding, Span, Stage
from tests.helpers.policies import one_rule_pipeline

ZW, SHY, TAG_A, VS16, KEYCAP = "\u200b", "\u00ad", "\U000e0041", "\ufe0f", "\u20e3"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain ASCII, 4111 1111", "plain ASCII, 4111 1111"),
        (f"4111{ZW}1111{SHY}1111{TAG_A}1111", "4111111111111111"),
        ("a\u202eb\u2066c\u200ed\ufeffe\u2060f", "abcdef"),
        (f"x{VS16}y\u034fz\u180bw\u3164v", "xyzwv"),
        ("tab\tand\nnew\rline\x00\x1b\x7f", "tab\tand\nnew\rline"),
        ("４１１１ ٤١١١ ४१११ 𝟒𝟏𝟏𝟏", "4111 4111 4111 4111"),
        ("jane＠example．com 。﹫｡", "jane@example.com 。@。"),
        ("a\u00a0b\u2009c\u3000d\u202fe", "a b c d e"),
        ("1–2—3−4‑5", "1–2—3−4‐5"),
        ("½ ⁄ ∕ ﬁ", "1⁄2 ⁄ ∕ fi"),
        (f"4{VS16}{KEYCAP}1{KEYCAP}x{KEYCAP}", f"41x{KEYCAP}"),
        ("caf\u00e9 e\u0301 1\u0301\u0302", "caf\u00e9 e\u0301 1"),
        ("中文，测试。", "中文,测试。"),
        ("АKIА2E4 ignоre jаne@exаmple.com", "AKIA2E4 ignore jane@example.com"),
        ("Привет мир, Ελληνικά", "Привет мир, Ελληνικά"),
        ("ɪɢɴᴏʀᴇ ᴀʟʟ ᴘʀᴇᴠɪᴏᴜꜱ", "ignore all previous"),
        ("\U0001f178\U0001f176\U0001f17d \U0001f15e\U0001f161", "IGN OR"),
    ],
)
def test_canonical_text_is_what_a_reader_reads(text: str, expected: str) -> None:
    """Hidden characters go, characters fold to one spelling (small capitals and negative
    circled or squared letters too), marks on digits go, homoglyphs become Latin only in words
    that have Latin letters or digits."""
    assert canonical(text).text == expected


def test_rule_guards_read_punctuation_as_ascii() -> None:
    """Dashes, ideographic full stops and fraction slashes fold one for one, for rule guards."""
    text = canonical("123–45—6789 a。b ½ x∕y −1 ‑").text
    assert fold_punctuation(text) == "123-45-6789 a.b 1/2 x/y -1 -"
    assert len(fold_punctuation(text)) == len(text)


def test_long_expansions_are_kept_whole() -> None:
    """A character whose NFKC form is long stays as it is, bounding the canonical length."""
    assert fold("\ufdfa") == "\ufdfa"
    assert len(canonical("\ufdfa" * 100).text) == 100


def test_text_needing_no_change_maps_spans_to_themselves() -> None:
    """ASCII and unchanged non-ASCII text are their own canonical form."""
    for text in ("hello world", "Grüße aus Köln"):
        form = canonical(text)
        assert form.text == text and form.origins is None
        assert form.raw_span(2, 5) == (2, 5)


def test_span_covers_the_hidden_characters_inside_and_after_a_value() -> None:
    """The original run of a canonical span takes the removed characters in and after it."""
    text = f"card {ZW}4111{ZW}1111{SHY}{SHY}1111{TAG_A}1111{ZW} ok"
    form = canonical(text)
    start = form.text.index("4111111111111111")
    raw_start, raw_end = form.raw_span(start, start + 16)
    assert text[raw_start:raw_end] == f"4111{ZW}1111{SHY}{SHY}1111{TAG_A}1111{ZW}"
    assert text[: raw_start - 1] == "card "  # the hidden character before stays outside


def test_span_inside_an_expansion_covers_the_whole_character() -> None:
    """A span over part of an expanded character maps to that whole character."""
    text = "x ½ y"
    form = canonical(text)
    assert form.text == "x 1⁄2 y"
    assert form.raw_span(4, 5) == (2, 3)
    assert form.raw_span(2, 7) == (2, 5)
    assert form.raw_span(7, 7) == (5, 5)


def test_lone_surrogates_do_not_break_the_canonical_form() -> None:
    """Text the wrapper may pass with lone surrogates still folds around them."""
    form = canonical(f"\ud800{ZW}４")
    assert form.text == "\ud8004"


def test_guards_choose_raw_or_canonical() -> None:
    """The invisible-text guard reads the raw text; every other guard the canonical one."""
    assert text_form_of(InvisibleTextGuard("invisible", frozenset({"zero_width"}))) == "raw"
    assert text_form_of(StaticGuard("g", "x")) == "canonical"
    stage = StageTexts([f"a{ZW}b", "plain"])
    assert stage.read_by(StaticGuard("g", "x")) == ["ab", "plain"]
    span = Span(start=0, end=2, entity="hit")
    moved = stage.to_raw(
        StaticGuard("g", "x"), [Finding(guard="g", label="hit", score=1.0, spans=(span,))]
    )
    assert moved[0].spans[0] == Span(start=0, end=3, entity="hit")


def test_wrapped_guards_read_what_the_guard_inside_reads() -> None:
    """Timing, recording or delaying a guard never changes which text it judges."""
    invisible = InvisibleTextGuard("invisible", frozenset({"tags"}))
    histogram = Metrics().guard_seconds.labels("t", "invisible")
    recording = RecordingGuard(invisible)
    twice = DelayedGuard(TimedGuard(recording, histogram, None), 0.0)
    wrapped: list[object] = [TimedGuard(invisible, histogram, None), recording, twice]
    for guard in wrapped:
        assert text_form_of(guard) == "raw"
        assert StageTexts([f"a{TAG_A}"]).read_by(guard) == (f"a{TAG_A}",)
    assert text_form_of(DelayedGuard(StaticGuard("g", "x"), 0.0)) == "canonical"


def _redacting(guard: StaticGuard) -> Pipeline:
    return one_rule_pipeline(guard, Action.REDACT)


async def test_pipeline_redacts_the_original_run_of_a_canonical_finding() -> None:
    """A guard's finding on the canonical text redacts the obfuscated original, and restores it."""
    pipeline = _redacting(StaticGuard("codes", "4111", label="code"))
    state = pipeline.new_request()
    text = f"use ４{ZW}１１１ now"
    decision = await pipeline.check(Stage.INPUT, [text], state)
    assert decision.texts == ("use <CODE_1> now",)
    assert pipeline.restore("<CODE_1>", state) == f"４{ZW}１１１"


async def test_prepare_builds_the_forms_first_reads_would_build() -> None:
    """Long or first non-ASCII texts are prepared on a thread, to the same canonical forms."""
    texts = [f"card ４１１１{ZW}" * 1000, "plain", "x\u00a0y"]
    stage = StageTexts(texts)
    await stage.prepare()
    assert [c.text for c in stage.canonical] == [canonical(t).text for t in texts]
    assert stage.read_by(StaticGuard("g", "x"))[0].startswith("card 4111card 4111")
    plain = StageTexts(["only ASCII"])
    await plain.prepare()
    assert plain.read_by(StaticGuard("g", "x")) == ["only ASCII"]
