"""Property: however PII or a secret is spelled, the text that goes upstream does not spell it
(issue #16, class 1); and clean text goes upstream byte for byte.

Values are generated valid (cards pass Luhn, SSNs and IBANs their checks, AWS key ids are
base32) and then obfuscated as a model would still read them: invisible characters anywhere
(zero-width, soft hyphen, tags, bidi controls, variation selectors), other separators (NBSP,
thin space, en dash, minus, dots, slashes, none), other decimal digits (fullwidth, Arabic-Indic,
Devanagari, mathematical...), confusable `@` and dots, fullwidth letters, Cyrillic and Greek
look-alike letters, and letter case.
Each text goes through the rule guards of the shipped default policy (`pipeline.check`, input
stage); the classifier guards are left out to keep a few hundred examples to seconds.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import iban, luhn
from stdnum.us import ssn

from guardrail.canonical import _IGNORABLE_RANGES
from guardrail.pipeline import Pipeline
from guardrail.types import Action, Stage
from tests.adversarial.test_canonical_text import reads_as

RULES_POLICY = Path(__file__).parent / "policies" / "canonical_rules.yaml"
EXAMPLES = settings(max_examples=120, deadline=None)

INVISIBLE = [
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\u200f", "\u202a",
    "\u202e", "\u2066", "\u2069", "\u061c", "\ufe0f", "\ufe00", "\u034f", "\u180e", "\u180b",
    *(chr(c) for c in (0xE0001, 0xE0020, 0xE0041, 0xE007A, 0xE007F, 0xE0100)),
]  # fmt: skip
DIGIT_ZEROS = [0x30, 0xFF10, 0x660, 0x6F0, 0x966, 0x9E6, 0xE50, 0x1D7CE, 0x1D7F6, 0x1040]
NUMBER_SEPARATORS = [
    *(" ", "-", ".", "/", "_", "\t", "  ", " - ", " / "),
    *("\u00a0", "\u2009", "\u202f", "\u2013", "\u2014", "\u2212", "\u3000", "\uff0f"),
]
AT_SIGNS = ["@", "\uff20", "\ufe6b"]
DOTS = [".", "\uff0e", "\u3002", "\uff61", "\u2024"]
# Latin letters and Cyrillic or Greek letters drawn the same
HOMOGLYPHS = {
    "A": "АΑ", "B": "ВΒ", "E": "ЕΕ", "K": "КΚ", "M": "МΜ", "H": "НΗ", "O": "ОΟ", "P": "РΡ",
    "C": "С", "T": "ТΤ", "X": "ХΧ", "a": "а", "e": "е", "o": "оο", "p": "р", "c": "с", "x": "х",
}  # fmt: skip
DIGITS, LETTERS = "0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
BASE32 = LETTERS + "234567"


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    """The default policy's rule guards and rules (invisible text, secrets, PII)."""
    return Pipeline.from_file(RULES_POLICY)


def _decided(pipeline: Pipeline, text: str) -> tuple[Action, str]:
    decision = asyncio.run(pipeline.check(Stage.INPUT, [text], pipeline.new_request()))
    return decision.action, decision.texts[0]


# -- valid values (numbers as their printed groups) ---------------------------------------------


def _chars(alphabet: str, size: int) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(alphabet), min_size=size, max_size=size)


@st.composite
def cards(draw: st.DrawFn) -> list[str]:
    """A Luhn-valid Visa, Mastercard or Amex number, in its printed groups."""
    prefix, length, sizes = draw(
        st.sampled_from([("4", 16, (4, 4, 4, 4)), ("51", 16, (4, 4, 4, 4)), ("37", 15, (4, 6, 5))])
    )
    body = prefix + draw(_chars(DIGITS, length - len(prefix) - 1))
    number = body + luhn.calc_check_digit(body)
    groups, at = [], 0
    for size in sizes:
        groups.append(number[at : at + size])
        at += size
    return groups


def ssns() -> st.SearchStrategy[list[str]]:
    """A valid US SSN as its three groups."""
    numbers = st.builds(
        "{:03d}{:02d}{:04d}".format, st.integers(1, 899), st.integers(1, 99), st.integers(1, 9999)
    ).filter(ssn.is_valid)
    return numbers.map(lambda n: [n[:3], n[3:5], n[5:]])


@st.composite
def ibans(draw: st.DrawFn) -> list[str]:
    """A valid German or Dutch IBAN in groups of four."""
    country = draw(st.sampled_from(["DE", "NL"]))
    if country == "DE":
        bban = draw(_chars(DIGITS, 18))
    else:
        bban = draw(_chars(LETTERS, 4)) + draw(_chars(DIGITS, 10))
    value = country + iban.calc_check_digits(country + "00" + bban) + bban
    assert iban.is_valid(value)
    return [value[i : i + 4] for i in range(0, len(value), 4)]


@st.composite
def phones(draw: st.DrawFn) -> list[str]:
    """A North American number written internationally: +1, area, exchange, line."""
    area = draw(st.integers(201, 989))
    exchange = draw(st.integers(200, 999))
    return ["+1", str(area), str(exchange), f"{draw(st.integers(0, 9999)):04d}"]


@st.composite
def emails(draw: st.DrawFn) -> str:
    """A plain address: letters and digits, dotted local part, one subdomain level."""
    word = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
    local = ".".join(draw(st.lists(word, min_size=1, max_size=3)))
    domain = draw(st.text("abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=10))
    tld = draw(st.sampled_from(["com", "org", "de", "io", "co.uk"]))
    return f"{local}@{domain}.{tld}"


@st.composite
def aws_key_ids(draw: st.DrawFn) -> str:
    """An AWS access key id: a prefix and 16 base32 characters."""
    prefix = draw(st.sampled_from(["AKIA", "ASIA"]))
    return prefix + draw(_chars(BASE32, 16))


# -- obfuscations ------------------------------------------------------------------------------


def _other_digits(draw: st.DrawFn, text: str) -> str:
    """Each ASCII digit written in a decimal digit of another script (one script per value,
    or a mix)."""
    mixed = draw(st.booleans())
    zero = draw(st.sampled_from(DIGIT_ZEROS))
    out = []
    for char in text:
        if char.isdigit():
            script = draw(st.sampled_from(DIGIT_ZEROS)) if mixed else zero
            char = chr(script + int(char))
        out.append(char)
    return "".join(out)


def _sprinkle(draw: st.DrawFn, text: str) -> str:
    """Runs of invisible characters inserted at some positions inside the value."""
    positions = draw(st.sets(st.integers(0, len(text)), max_size=6))
    out = []
    for index, char in enumerate(text + "\0"):
        if index in positions:
            out.append("".join(draw(st.lists(st.sampled_from(INVISIBLE), min_size=1, max_size=3))))
        out.append(char)
    return "".join(out)[:-1]


def _letter_case(draw: st.DrawFn, text: str) -> str:
    """Letters in random case, some of them fullwidth or a Cyrillic or Greek look-alike."""
    out = []
    for char in text:
        if char.isascii() and char.isalpha():
            char = draw(st.sampled_from([char.lower(), char.upper()]))
            look = draw(st.sampled_from(["keep", "keep", "fullwidth", "homoglyph"]))
            if look == "fullwidth":
                char = chr(ord(char) - 0x21 + 0xFF01)
            elif look == "homoglyph" and char in HOMOGLYPHS:
                char = draw(st.sampled_from(HOMOGLYPHS[char]))
        out.append(char)
    return "".join(out)


@st.composite
def spelled(draw: st.DrawFn) -> tuple[str, str, str]:
    """(tag, the value, the value as written), obfuscated in ways a model reads through."""
    kind = draw(st.sampled_from(["CREDIT_CARD", "US_SSN", "IBAN", "PHONE", "EMAIL", "AWS"]))
    if kind in ("EMAIL", "AWS"):
        value = draw(emails() if kind == "EMAIL" else aws_key_ids())
        written = _letter_case(draw, value)
        if kind == "EMAIL":
            written = written.replace("@", draw(st.sampled_from(AT_SIGNS)))
            written = "".join(draw(st.sampled_from(DOTS)) if c == "." else c for c in written)
        written = _other_digits(draw, written)
        return ("AWS_ACCESS_KEY_ID" if kind == "AWS" else kind), value, _sprinkle(draw, written)
    numbers = {"CREDIT_CARD": cards(), "US_SSN": ssns(), "IBAN": ibans(), "PHONE": phones()}
    groups = draw(numbers[kind])
    value = "".join(groups)
    joiners = [*NUMBER_SEPARATORS, ""] if kind != "PHONE" else [" ", "-", ".", "\u00a0", "\u2013"]
    written = draw(st.sampled_from(joiners)).join(groups)
    if kind == "IBAN":
        written = _letter_case(draw, written)
    return kind, value, _sprinkle(draw, _other_digits(draw, written))


CONTEXT: dict[str, tuple[str, str]] = {
    "CREDIT_CARD": ("My card number is ", ", is it still valid?"),
    "US_SSN": ("My SSN is ", ", fill in the form."),
    "IBAN": ("Transfer it to IBAN ", " please."),
    "PHONE": ("Call me on ", " tomorrow."),
    "EMAIL": ("Email me at ", " about the invoice."),
    "AWS_ACCESS_KEY_ID": ("Why does my key ", " not work with S3?"),
}


@EXAMPLES
@given(case=spelled())
def test_no_spelling_of_a_value_goes_upstream(
    pipeline: Pipeline, case: tuple[str, str, str]
) -> None:
    """The decided text reads as the message with the value's placeholder, whatever its spelling."""
    tag, value, written = case
    before, after = CONTEXT[tag]
    action, decided = _decided(pipeline, before + written + after)
    assert action in (Action.REDACT, Action.REWRITE)
    assert f"<{tag}_1>" in decided
    assert reads_as(value) not in reads_as(decided)
    assert reads_as(decided) == reads_as(f"{before}<{tag}_1>{after}")


# Clean text: any letters, marks, punctuation, symbols and spaces of any script (fullwidth
# forms, NBSP, ligatures and dashes included, which the canonical form folds), but no digits,
# no `@` and no invisible or control characters, so no PII, no secret, nothing to strip.
# Default-ignorable code points are invisible whatever their category (Hangul fillers are
# letters, variation selectors and the combining grapheme joiner marks): not clean text.
_IGNORABLE = "".join(chr(c) for low, high in _IGNORABLE_RANGES for c in range(low, high + 1))
_CLEAN_CHARS = st.characters(
    categories=("Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Pd", "Ps", "Pe", "Po", "Sm", "Sc", "Zs"),
    exclude_characters="@＠﹫" + _IGNORABLE,
)
_FOLDED = st.sampled_from(["ｆｕｌｌ", "\u00a0", "ﬁ", "–", "−", "。", "Ⅻ", "ℌ", "ǆ", "カ", "ｶ"])


@EXAMPLES
@given(parts=st.lists(st.text(_CLEAN_CHARS, max_size=12) | _FOLDED, max_size=12))
def test_clean_text_is_forwarded_byte_identical(pipeline: Pipeline, parts: list[str]) -> None:
    """Text with nothing to redact or strip goes upstream exactly as it came, folding or not."""
    text = " ".join(parts)
    action, decided = _decided(pipeline, text)
    assert action is Action.ALLOW
    assert decided == text


def test_reads_as_is_independent_of_guardrail() -> None:
    """The oracle folds as a reader would: digits, width, case and hidden characters."""
    assert reads_as("Ａ\u200b٤\u00ad２x\ufe0f-𝟕") == "a42x7"
