"""`pii` guard: structured personal data, found by pattern and confirmed by checksum/rules.

- `EMAIL`: an RE2 pattern (Unicode letters allowed in local part and domain), and one for
  addresses with the "@" and dots spaced or spelled out ("jane [at] example [dot] com",
  "jane DOT doe AT example DOT com");
- `PHONE`: `phonenumbers.PhoneNumberMatcher` (libphonenumber's rules, leniency VALID) for each
  region in `regions`; numbers written with `+country` are found whatever the regions. Right
  after a phone word ("call me at", "tel.", "mobile:", "reach me at", `PHONE_CUE`, within
  `CUE_REACH` characters) leniency POSSIBLE is enough (a plausible length, at least 7 digits,
  not a date, year range or IPv4 address), so local numbers without an area code ("call me
  at 555-1234") are found too. Numbers written with "+", a country code and digit groups
  count by their shape alone (`international`: 8-15 digits, not an amount, decimal or date),
  allocated or not. Never a phone number, valid or not: a date, an IPv4 address, a number a
  time or "/24" goes on from, or one right after an identifier word ("ID:", "account number",
  `ID_CUE`). Cost grows with the number of regions (see `phone_windows`);
- `CREDIT_CARD`: 12–19 digits, contiguous, in groups of at least 4 (the last may be shorter)
  or one digit per group, separated by spaces, tabs, dashes, dots, slashes or underscores (a
  mark may have spaces around it), that pass Luhn (`stdnum.luhn`) and whose first digit and
  length fit a card network (`CARD_LENGTHS`);
- `IBAN`: compact or in groups of four separated as card groups are, any letter case,
  checked with `stdnum.iban` (country length and mod-97);
- `US_SSN`: `AAA-GG-SSSS`, `AAA GG SSSS`, `AAA.GG.SSSS` ... checked with `stdnum.us.ssn` (no
  area 000/666/9xx, group 00, serial 0000, nor known advertising numbers); bare or otherwise
  grouped 9-digit runs only right after a word naming an SSN ("SSN: 123456789"), since too
  many other numbers have that shape;
- `IP_ADDRESS`: IPv4 and IPv6 candidates validated with the stdlib `ipaddress`.

The guard runs on the pipeline's canonical text (guardrail/canonical.py) and reads its dashes,
ideographic full stops and fraction slashes as ASCII (`fold_punctuation`): hidden characters
are gone and every digit, dash, dot, slash and space is ASCII by then, so these patterns need
not spell out other scripts' digits or separators.

Overlaps across entities are resolved: the longest span wins (ties: the order above, phone
last). Labels and span entities are the entity names as written in the config.

Names, places and organisations come from a model, optionally: the token (BIO) head of a
classifier bundle, e.g.

    pii:
      kind: pii
      entities: [EMAIL, PHONE]
      model: {bundle: guard-minilm, entities: [PERSON, LOCATION], thresholds: {PERSON: 0.6}}

Model entities are reported when their score (mean token probability) reaches the threshold
of their type (`model.thresholds`, else the bundle's, else 0.5); a finding's score is its
best entity's. A rule span beats any model span it overlaps; among overlapping model spans
the longest wins. The bundle's runtime is shared with `classifier` guards over the same
bundle, so one encoder pass per text serves injection, harm and pii.
"""

from __future__ import annotations

import asyncio
import bisect
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from itertools import chain
from typing import TYPE_CHECKING, Any, Literal, get_args

import phonenumbers
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from stdnum import iban, luhn
from stdnum.us import ssn

from guardrail.canonical import fold_punctuation
from guardrail.guards._spans import (
    Hit,
    compile_re2,
    longest_first,
    merged_spans,
    off_loop,
    to_findings,
)
from guardrail.guards.registry import BuildContext, GuardConfig, GuardKind
from guardrail.types import CheckContext, Finding, Span

if TYPE_CHECKING:  # the model path imports onnxruntime; rules-only policies never do
    from guardrail.inference.bundle import HeadSpec, Manifest
    from guardrail.inference.entities import Entity as ModelEntity
    from guardrail.inference.runtime import ClassifierRuntime

Entity = Literal["EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS"]
ENTITIES: tuple[str, ...] = get_args(Entity)
# Ties between equally long spans go to the entity listed first (phone matching is loosest).
PRIORITY = ("EMAIL", "IBAN", "CREDIT_CARD", "US_SSN", "IP_ADDRESS", "PHONE")
DEFAULT_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "CA", "AU", "IN")

Detector = Callable[[str], Iterator[tuple[int, int]]]

_EMAIL = compile_re2(
    r"[\p{L}\p{N}_%+-][\p{L}\p{N}._%+-]*@[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?"
    r"(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)*\.\p{L}{2,}"
)
# Addresses written so that filters miss them and readers do not: "jane.doe [at] example [dot]
# com", "jane(at)example(.)com", "jane DOT doe AT example DOT com", "jane @ example.com".
_SPELLED_AT = r"(?:\s+@\s*|@\s+|\s*[\[({<]\s*(?:@|(?i:at))\s*[\])}>]\s*| AT )"
_SPELLED_DOT = r"(?:\.|\s*[\[({<]\s*(?:\.|(?i:dot))\s*[\])}>]\s*| DOT )"
_EMAIL_PART = r"[\p{L}\p{N}_%+-]+"
_SPELLED_EMAIL = compile_re2(
    rf"{_EMAIL_PART}(?:{_SPELLED_DOT}{_EMAIL_PART})*{_SPELLED_AT}"
    rf"{_EMAIL_PART}(?:{_SPELLED_DOT}{_EMAIL_PART})*{_SPELLED_DOT}\p{{L}}{{2,}}"
)
_SPELLED_AT_SIGN = compile_re2(_SPELLED_AT)  # a cheap look before the Unicode-class search
# Between groups of digits (or of an IBAN's characters) as people write them: one space, tab
# or punctuation mark, a few spaces or tabs, or a mark with spaces around it ("4111 - 1111").
_GROUP_GAP = r"(?:[ \t]{0,2}[./_-][ \t]{0,2}|[ \t]{1,3})"
_DIGIT_GROUPS = compile_re2(rf"\d+(?:{_GROUP_GAP}\d+)*")
# within a short matched run, the stdlib `re` costs less per call than RE2
_DIGITS = re.compile(r"[0-9]+")
_ALNUMS = re.compile(r"[A-Za-z0-9]+")
MIN_CARD_DIGITS = 12
_IBAN = compile_re2(
    r"[A-Za-z]{2}\d{2}"
    rf"(?:[A-Za-z0-9]{{11,30}}|(?:{_GROUP_GAP}?[A-Za-z0-9]{{4}}){{2,7}}"
    rf"(?:{_GROUP_GAP}?[A-Za-z0-9]{{1,3}})?)"
)
_PHONE_RUN = compile_re2(r"\p{Nd}[\p{Nd} ()./\-]{4,}\p{Nd}")
_ISO_DATE = compile_re2(r"\d{4}-\d{2}-\d{2}")
_IPV4_SHAPE = r"\d{1,3}(?:\.\d{1,3}){3}"
# Words that announce a phone number (English and the default regions' languages); a lenient
# match counts when one ends right before it (only punctuation and up to three of "at", "on",
# "is", "no", "nr", "number", "me", "us" between them).
_CUE_WORDS = (
    r"\b(?:phone|telephone|tel|mobile|mob|cell|cellphone|fax|call|ring|dial|whatsapp|sms|"
    r"text me|txt|hotline|telefon|handy|t[ée]l[ée]phone|portable|tel[ée]fono|m[óo]vil|"
    r"cellulare|telefoon|mobiel|reach (?:me|us)|reachable|contact)\b"
)
PHONE_CUE_WORD = compile_re2(_CUE_WORDS, ignore_case=True)
PHONE_CUE = compile_re2(
    _CUE_WORDS + r"[^\p{L}\p{N}]*(?:(?:at|on|is|no|nr|number|me|us)\b[^\p{L}\p{N}]*){0,3}$",
    ignore_case=True,
)
# Words that label the number before them in contact blocks and signatures ("020 7946 0958
# office", "555 0100 (mobile)", "28-64-66-98 Büro"): group 1 is the digit run. The label must
# end its line or come before punctuation, so "2500000 mobile phones" is no phone number.
PHONE_LABEL = compile_re2(
    r"(\p{Nd}[\p{Nd} ()./\-]{4,}\p{Nd})[ \t]*[-–—:(]?[ \t]*"
    r"(?:office|mobile|mob|cell|cellphone|fax|home|work|landline|phone|tel|telephone|"
    r"whatsapp|b[üu]ro|mobil|privat|bureau|domicile|portable|oficina|m[óo]vil|casa|ufficio|"
    r"cellulare|kantoor|mobiel|thuis)\b[ \t]*(?:[^\p{L}\p{N} \t]|$)",
    ignore_case=True,
)
CUE_REACH = 40  # characters before a number searched for PHONE_CUE (and ID_CUE)
# Words that name another kind of number: one right after them ("ID: 4155552671", "account
# number is 0123456789", "ISBN 0306406152") is that, not a phone number, even when it is valid
# in a region. "Caller ID" is the exception: group 1 marks it.
ID_CUE = compile_re2(
    r"\b(?:(caller[ -]?)?id|account|acct|isbn|issn|order|invoice|policy|tracking|serial|"
    r"passport|licen[cs]e|ticket|case|claim|booking|confirmation|transaction|reference|ref|"
    r"sku|part|patent|routing|registration)[^\p{L}\p{N}]*"
    r"(?:(?:no|nr|num|number|is|code|id)\b[^\p{L}\p{N}]*){0,3}$",
    ignore_case=True,
)
# "+", a country code and digit groups: the international way to write a number (E.123). Made-up
# or unallocated numbers fail libphonenumber's VALID check, but whoever writes one this way
# means a phone number; extensions ("x123", "ext. 12") are part of it. See `international`.
_INTERNATIONAL = compile_re2(
    r"\+\d+(?:[ .\-]?\(\d{1,4}\)[ .\-]?\d+|[ .\-]\d+)+(?: ?(?:x|ext\.?) ?\d{1,5})?",
    ignore_case=True,
)
# signed numbers that are no phone numbers: amounts in thousands ("+12 345 678", "+1.250.000,50"),
# decimals ("+0.0012345678") and coordinates ("+40.7128-074.0060")
_SIGNED_NUMBER = compile_re2(
    r"\+\d{1,3}(?:[ .,]\d{3})+(?:[.,]\d{1,2})?|\+\d+\.\d+(?:[-+]\d+\.\d+)?"
)
# an amount in thousands after a phone word ("contact 1.500.000 users", "... 10 000 000 people");
# spaced groups only when round, since "12 345 678" is how some countries write phone numbers
_THOUSANDS = compile_re2(r"\d{1,3}(?:[.,]\d{3})+(?:[.,]\d{1,2})?|\d{1,3}(?: \d{3})* 000")
_EXTENSION = compile_re2(r" ?(?:x|ext\.?) ?\d{1,5}$", ignore_case=True)
INTERNATIONAL_DIGITS = range(8, 16)  # E.164: at most 15 digits; fewer than 8 is no phone number
# dates, year ranges and IPv4 addresses (or networks) have the length of a phone number, and
# libphonenumber finds some of them valid in a region: a phone word before them ("reachable at
# 10.0.12.1") is not enough either
_NOT_A_PHONE = compile_re2(
    r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}[./-]\d{1,2}[./-]\d{1,2}|"
    r"(?:19|20)\d{2} ?[-/] ?(?:19|20)?\d{2}|" + _IPV4_SHAPE + r"(?:/\d{1,2})?"
)
_SSN = compile_re2(rf"\d{{3}}{_GROUP_GAP}\d{{2}}{_GROUP_GAP}\d{{4}}")
# After a word that names one ("SSN: 123456789", "social security number is 123 45-6789"),
# nine digits are an SSN however they are grouped; group 1 is the number.
_SSN_CUED = compile_re2(
    r"\b(?:ssn|ss#|social[ -]security(?:[ -]?(?:number|num|no|nr|#))?)\b[^\p{L}\p{N}]{0,5}"
    r"(?:(?:is|was|number|num|no|nr|reads)\b[^\p{L}\p{N}]{0,5}){0,2}"
    r"(\d{3}[ ./-]?\d{2}[ ./-]?\d{4})\b",
    ignore_case=True,
)
_IPV4 = compile_re2(_IPV4_SHAPE)
# The embedded-IPv4 alternative comes first so that "::ffff:10.0.0.1" is taken whole.
_IPV6 = compile_re2(
    r"[0-9A-Fa-f]*:[0-9A-Fa-f]*:(?:[0-9A-Fa-f]*:)*(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]*)"
)


def _free(text: str, start: int, end: int, joins: Callable[[str], bool]) -> bool:
    """True when the characters just outside `[start, end)` do not continue the match."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not joins(before) and not joins(after)


def _alnum(char: str) -> bool:
    return char.isalnum() or char == "_"


def emails(text: str) -> Iterator[tuple[int, int]]:
    """E-mail addresses, also with the "@" and dots spelled out or spaced (`_SPELLED_EMAIL`)."""
    if "@" in text:  # the Unicode-class search costs ~0.1 ms per kB; this costs nothing
        for match in _EMAIL.finditer(text):
            yield match.start(), match.end()
    if _SPELLED_AT_SIGN.search(text) is not None:
        for match in _SPELLED_EMAIL.finditer(text):
            yield match.start(), match.end()


# First digit -> lengths the networks starting with it issue (UATP and JCB 1800; JCB 2131, Mir
# and Mastercard 2-series; Amex, Diners, JCB; Visa; Mastercard, Maestro; Discover, UnionPay).
CARD_LENGTHS: Mapping[str, range | tuple[int, ...]] = {
    "1": (15,),
    "2": range(15, 20),
    "3": range(14, 20),
    "4": (13, 16, 19),
    "5": range(12, 20),
    "6": range(12, 20),
}


def _is_card(digits: str) -> bool:
    lengths = CARD_LENGTHS.get(digits[:1], ())
    return len(digits) in lengths and luhn.is_valid(digits)


def credit_cards(text: str) -> Iterator[tuple[int, int]]:
    """Card numbers: within each run of digit groups, the longest Luhn-valid stretches."""
    for run in _DIGIT_GROUPS.finditer(text):
        if run.end() - run.start() < MIN_CARD_DIGITS:  # dates, times, amounts: no card
            continue
        if _free(text, run.start(), run.end(), _alnum):
            yield from _cards_in_run(run.group(), run.start())


def _cards_in_run(run: str, offset: int) -> Iterator[tuple[int, int]]:
    groups = _groups(run, offset, _DIGITS)
    if len(groups) >= 12 and all(len(group) == 1 for group, _, _ in groups):
        groups = [("".join(g for g, _, _ in groups), groups[0][1], groups[-1][2])]  # 4 1 1 1 …
    first = 0
    while first < len(groups):
        last = _longest_valid(groups, first)
        if last is None:
            first += 1
            continue
        yield groups[first][1], groups[last][2]
        first = last + 1


def _groups(run: str, offset: int, group: re.Pattern[str]) -> list[tuple[str, int, int]]:
    """(group, start, end) for each match of `group` in `run`, which starts at `offset`."""
    return [(m.group(), offset + m.start(), offset + m.end()) for m in group.finditer(run)]


def _longest_valid(groups: list[tuple[str, int, int]], first: int) -> int | None:
    """Index of the last group of the longest card starting at group `first`, if any.

    Cards are printed in groups of at least 4 digits (only the last may be shorter), so
    "536-22-1945 ..." or "12-3456" runs are never read as one. Longer groups count too: a
    hidden character between two groups of four shows them as one of eight.
    """
    digits, candidates = "", []
    for last in range(first, len(groups)):
        if last > first and len(groups[last - 1][0]) < 4:
            break
        digits += groups[last][0]
        if len(digits) > 19:  # no card is longer
            break
        candidates.append((last, digits))
    return next((last for last, number in reversed(candidates) if _is_card(number)), None)


def ibans(text: str) -> Iterator[tuple[int, int]]:
    """IBANs, compact or in groups of four; trailing groups are dropped until one checks."""
    for match in _IBAN.finditer(text):
        groups = _groups(match.group(), match.start(), _ALNUMS)
        for last in range(len(groups) - 1, -1, -1):
            start, end = groups[0][1], groups[last][2]
            value = "".join(group for group, _, _ in groups[: last + 1])
            if _free(text, start, end, _alnum) and iban.is_valid(value):
                yield start, end
                break


def us_ssns(text: str) -> Iterator[tuple[int, int]]:
    """US social security numbers written with dashes, dots or spaces, and nine digits grouped
    any way after a word that names an SSN."""
    for match in _SSN.finditer(text):
        free = _free(text, match.start(), match.end(), lambda c: _alnum(c) or c in "-")
        if free and _is_ssn(match.group()):
            yield match.start(), match.end()
    for match in _SSN_CUED.finditer(text):
        if _is_ssn(match.group(1)):
            yield match.start(1), match.end(1)


def _is_ssn(number: str) -> bool:
    return ssn.is_valid("".join(c for c in number if c.isdigit()))


def ip_addresses(text: str) -> Iterator[tuple[int, int]]:
    """IPv4 and IPv6 addresses."""
    for match in _IPV4.finditer(text):
        free = _free(text, match.start(), match.end(), lambda c: _alnum(c) or c == ".")
        if free and _valid_ip(match.group(), ipaddress.IPv4Address):
            yield match.start(), match.end()
    for match in _IPV6.finditer(text):
        value = match.group().rstrip(":")
        end = match.start() + len(value)
        if _free(text, match.start(), end, _alnum) and _plausible_ipv6(value):
            yield match.start(), end


def _valid_ip(value: str, kind: Callable[[str], Any]) -> bool:
    try:
        kind(value)
    except ValueError:
        return False
    return True


def _plausible_ipv6(value: str) -> bool:
    """Valid, and not a short run like "a::b" or "::" that code and times are made of."""
    groups = [group for group in value.split(":") if group]
    return (len(groups) >= 3 or "." in value) and _valid_ip(value, ipaddress.IPv6Address)


def phone_windows(text: str) -> Iterator[tuple[int, int]]:
    """Disjoint stretches of `text` around runs of digits and phone punctuation.

    libphonenumber's matcher scans the whole text with Python `re` once per region; giving
    it only these stretches (found in one linear RE2 pass) keeps prose cheap. Each stretch
    keeps a few characters before (for "+" and the matcher's left-context checks) and after
    (for extensions such as " ext. 1234"). Runs with fewer than 7 digits (no valid number is
    that short, country code included) and ISO dates are skipped: libphonenumber rejects them
    too, at about 1.4 ms per run for ten regions. Digit-dense texts still cost about 0.1 ms
    per character for ten regions.
    """
    start = end = -1
    for run in _PHONE_RUN.finditer(text):
        if _ISO_DATE.fullmatch(run.group()) or sum(c.isdigit() for c in run.group()) < 7:
            continue
        run_start, run_end = _around(text, run.start(), run.end())
        if run_start > end:
            if end >= 0:
                yield start, end
            start = run_start
        end = max(end, run_end)
    if end >= 0:
        yield start, end


def _around(text: str, start: int, end: int) -> tuple[int, int]:
    """A digit run's stretch for the matcher: 2 characters before it ("+" and the left-context
    checks) and 12 after it (extensions such as " ext. 1234")."""
    return max(0, start - 2), min(len(text), end + 12)


def _matches(
    text: str, stretch: tuple[int, int], regions: Sequence[str], leniency: int
) -> set[tuple[int, int]]:
    """Numbers libphonenumber finds in text[stretch] for any of `regions`, once each."""
    lo, hi = stretch
    return {
        (lo + match.start, lo + match.end)
        for region in regions
        for match in phonenumbers.PhoneNumberMatcher(text[lo:hi], region, leniency=leniency)
    }


def phone_detector(regions: Sequence[str]) -> Detector:
    """Phone numbers valid in any of `regions` (or internationally written), and numbers of a
    possible length for one of them right after a phone word (PHONE_CUE) or right before a
    phone label (PHONE_LABEL)."""
    valid_only = phonenumbers.Leniency.VALID

    def phones(text: str) -> Iterator[tuple[int, int]]:
        valid = set().union(*(_matches(text, w, regions, valid_only) for w in phone_windows(text)))
        for span in sorted(valid):
            if not _named_otherwise(text, span) and not _not_a_phone(text, *span):
                yield span
        blocked = merged_spans(valid)
        for span in international(text):
            if not _overlaps(blocked, span):
                blocked = merged_spans([*blocked, span])
                if not _named_otherwise(text, span):
                    yield span
        yield from _lenient(text, regions, blocked, chain(_cued(text), _labelled(text)))

    return phones


def _named_otherwise(text: str, span: tuple[int, int]) -> bool:
    """Whether an identifier word (ID_CUE) ends right before the number at `span`."""
    found = ID_CUE.search(text[max(0, span[0] - CUE_REACH) : span[0]])
    return found is not None and not found.group(1)


def international(text: str) -> Iterator[tuple[int, int]]:
    """Numbers written as "+country digits" with at least one separator, 8-15 digits (extension
    not counted), not glued to a word or another number, grouped like a phone number
    (`_phone_groups`), and not a date, IPv4 address, time, amount, decimal or coordinate pair.
    Contiguous ones ("+14155552671") and unallocated ones grouped like thousands ("+420 123 456
    789") are left to libphonenumber's VALID check: a bare "+" and digits is as often a count or
    a score change as a phone number."""
    if "+" not in text:
        return
    for match in _INTERNATIONAL.finditer(text):
        start, end = match.start(), match.end()
        number = _EXTENSION.sub("", match.group())
        if (
            sum(c.isdigit() for c in number) in INTERNATIONAL_DIGITS
            and _free(text, start, end, lambda c: _alnum(c) or c in "+")
            and _phone_groups(number)
            and _SIGNED_NUMBER.fullmatch(number) is None
            and not _not_a_phone(text, start + 1, end)
        ):
            yield start, end


def _phone_groups(number: str) -> bool:
    """Digit groups after "+" as phone numbers have them: a country code not starting with 0
    ("+0000 2018" is a time zone and a year), a last group of at least two digits (ISBNs end in
    one), not all single digits, and no group after the first longer than four when the only
    separator is "." (version numbers such as "+10.0.19041.1234")."""
    groups = "".join(c if c.isdigit() else " " for c in number).split()
    dotted = not any(c in number for c in " -()")
    return (
        number[1] != "0"
        and len(groups[-1]) >= 2
        and max(map(len, groups)) > 1
        and not (dotted and max(map(len, groups[1:])) > 4)
    )


def _not_a_phone(text: str, start: int, end: int) -> bool:
    """A date, year range or IPv4 address, or a number a time, fraction or network suffix goes
    on from ("01.02.2024 10:30", "192.168.1.0/24")."""
    runs_on = end + 1 < len(text) and text[end] in ":/" and text[end + 1].isdigit()
    return runs_on or _NOT_A_PHONE.fullmatch(text[start:end]) is not None


# a digit run that context marks as a phone number, and the test a number in it must pass
_Candidate = tuple[tuple[int, int], Callable[[tuple[int, int]], bool]]


def _lenient(
    text: str,
    regions: Sequence[str],
    blocked: list[tuple[int, int]],
    candidates: Iterable[_Candidate],
) -> Iterator[tuple[int, int]]:
    """Numbers of a possible length (`_possible`) in each candidate run that pass its test and
    overlap neither `blocked` nor a number found before them."""
    for run, fits in candidates:
        for span in _possible(text, run, regions, blocked):
            if not _overlaps(blocked, span) and fits(span):
                blocked = merged_spans([*blocked, span])
                yield span


def _cued(text: str) -> Iterator[_Candidate]:
    """After each phone word, the first digit run within CUE_REACH characters; a number there
    counts when PHONE_CUE anchors right before its start. Work grows with the number of phone
    words, not with the text."""
    for cue in PHONE_CUE_WORD.finditer(text):
        run = _PHONE_RUN.search(text[cue.end() : cue.end() + CUE_REACH + 64])
        if run is not None and run.start() < CUE_REACH:
            yield (cue.end() + run.start(), cue.end() + run.end()), partial(_after_cue, text)


def _after_cue(text: str, span: tuple[int, int]) -> bool:
    """Whether PHONE_CUE ends right before the number at `span`."""
    return PHONE_CUE.search(text[max(0, span[0] - CUE_REACH) : span[0]]) is not None


def _labelled(text: str) -> Iterator[_Candidate]:
    """Digit runs that a phone label follows at the end of a line or before punctuation, as
    contact blocks and signatures write them ("020 7946 0958 office", "555 0100 (mobile)"); a
    number there counts when it reaches the label and no identifier word comes before it."""
    for label in PHONE_LABEL.finditer(text):
        yield label.span(1), partial(_before_label, text, label.end(1))


def _before_label(text: str, label_at: int, span: tuple[int, int]) -> bool:
    """Whether the number at `span` ends where its label's digit run ends (`label_at`) and is
    not named otherwise (`_named_otherwise`)."""
    return span[1] == label_at and not _named_otherwise(text, span)


def _possible(
    text: str, run: tuple[int, int], regions: Sequence[str], blocked: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Numbers libphonenumber finds possible (not necessarily valid) for one of `regions` in
    the digit run at `run`, sorted, unless `blocked` overlaps the run: those with at least 7
    digits that are no date, year range, IPv4 address, time or amount in thousands."""
    if _overlaps(blocked, run):
        return []
    found = _matches(text, _around(text, *run), regions, phonenumbers.Leniency.POSSIBLE)
    return [
        span
        for span in sorted(found)
        if sum(c.isdigit() for c in text[span[0] : span[1]]) >= 7
        and not _not_a_phone(text, *span)
        and _THOUSANDS.fullmatch(text[span[0] : span[1]]) is None
    ]


def _overlaps(blocked: list[tuple[int, int]], span: tuple[int, int]) -> bool:
    """Whether `span` overlaps any interval of `blocked` (sorted and disjoint, see _union)."""
    i = bisect.bisect_left(blocked, span)
    return any(a < span[1] and span[0] < b for a, b in blocked[max(0, i - 1) : i + 1])


STATIC_DETECTORS: Mapping[str, Detector] = {
    "EMAIL": emails,
    "CREDIT_CARD": credit_cards,
    "IBAN": ibans,
    "US_SSN": us_ssns,
    "IP_ADDRESS": ip_addresses,
}


class PiiModelConfig(BaseModel):
    """Entities found by a bundle's token head (names, places, organisations...)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    bundle: str = Field(
        description="bundle name (GUARDRAIL_BUNDLES_DIR, then classifiers/) or a path with a "
        "slash, relative to the policy file"
    )
    head: str | None = Field(
        default=None,
        description="the token head to use (default: the head named pii, else the only one)",
    )
    entities: list[str] | None = Field(
        default=None,
        min_length=1,
        description="entity types to report, e.g. [PERSON, LOCATION, ORGANIZATION] "
        "(default: every type of the head)",
    )
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="minimum entity score per type (default: the bundle's thresholds, else 0.5)",
    )

    @field_validator("thresholds")
    @classmethod
    def _in_range(cls, value: dict[str, float]) -> dict[str, float]:
        for name, threshold in value.items():
            if not 0.0 <= threshold <= 1.0:
                raise ValueError(f"thresholds.{name} must be between 0 and 1, got {threshold}")
        return value

    def check(self, manifest: Manifest) -> tuple[str, HeadSpec]:
        """The token head's name and spec; ValueError when this config does not fit it."""
        name = self.head or _default_token_head(manifest)
        spec = manifest.heads.get(name)
        if spec is None:
            raise ValueError(f"bundle {manifest.name} has no head {name!r}")
        if spec.type != "token":
            raise ValueError(f"head {name!r} of bundle {manifest.name} is not a token head")
        types = spec.entity_types
        for field, names in (("entities", self.entities or []), ("thresholds", self.thresholds)):
            unknown = [n for n in names if n not in types]
            if unknown:
                raise ValueError(
                    f"model.{field}: unknown entity types {', '.join(unknown)}; head {name!r} "
                    f"of bundle {manifest.name} has: {', '.join(types)}"
                )
        return name, spec


def _default_token_head(manifest: Manifest) -> str:
    tokens = [name for name, head in manifest.heads.items() if head.type == "token"]
    if "pii" in tokens or len(tokens) == 1:
        return "pii" if "pii" in tokens else tokens[0]
    if not tokens:
        raise ValueError(
            f"bundle {manifest.name} has no token head (heads: {', '.join(manifest.heads)}), "
            "so it cannot find PII entities"
        )
    raise ValueError(f"bundle {manifest.name} has several token heads ({tokens}): set model.head")


class PiiConfig(GuardConfig):
    """Rule `entities` (labels), phone `regions`, and a `model` for names, places, orgs."""

    model_config = ConfigDict(strict=True)

    kind: Literal["pii"] = "pii"
    entities: list[str] = Field(default=list(ENTITIES), min_length=1)
    regions: list[str] = Field(default=list(DEFAULT_REGIONS), min_length=1)
    model: PiiModelConfig | None = Field(
        default=None, description="also report the entities of a bundle's token head"
    )

    @model_validator(mode="after")
    def _check_model(self, info: ValidationInfo) -> PiiConfig:
        if self.model is not None:
            from guardrail.guards.classifier import manifest_for_validation

            manifest = manifest_for_validation(self.model.bundle, info)
            if manifest is not None:
                self.model.check(manifest)
        return self

    @field_validator("entities")
    @classmethod
    def _known_entities(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in ENTITIES]
        if unknown:
            raise ValueError(
                f"unknown entities: {', '.join(unknown)}; valid: {', '.join(ENTITIES)}"
            )
        return list(dict.fromkeys(value))

    @field_validator("regions")
    @classmethod
    def _known_regions(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(
                f"unknown phone regions: {', '.join(unknown)}; use ISO 3166 alpha-2 codes "
                "such as US, GB, DE"
            )
        return list(dict.fromkeys(value))


class EntityModel:
    """A bundle's token head, thresholded per entity type."""

    def __init__(
        self, runtime: ClassifierRuntime, head: str, thresholds: Mapping[str, float]
    ) -> None:
        self.runtime = runtime
        self.head = head
        self.thresholds = dict(thresholds)  # type -> threshold, for every reported type
        runtime.expect_entities()  # classifier guards' passes over this bundle decode them too

    async def find(self, texts: Sequence[str]) -> list[list[ModelEntity]]:
        """The reported entities of each text (blank texts are not scored)."""
        indexed = [i for i, text in enumerate(texts) if text.strip()]
        found: list[list[ModelEntity]] = [[] for _ in texts]
        if not indexed:
            return found
        results = await self.runtime.analyze([texts[i] for i in indexed])
        for i, result in zip(indexed, results, strict=True):
            found[i] = [
                e
                for e in result.entities.get(self.head, ())
                if e.type in self.thresholds and e.score >= self.thresholds[e.type]
            ]
        return found


class PiiGuard:
    """Runs one detector per configured entity and keeps the longest of overlapping spans;
    with a model, adds its entities where no rule span overlaps them."""

    def __init__(
        self, name: str, detectors: Mapping[str, Detector], model: EntityModel | None = None
    ) -> None:
        self.name = name
        self._detectors = dict(detectors)
        self.model = model

    @property
    def reported_labels(self) -> frozenset[str]:
        """The configured entities and, with a model, the entity types it reports."""
        model_types = self.model.thresholds if self.model is not None else {}
        return frozenset(self._detectors) | frozenset(model_types)

    @property
    def default_thresholds(self) -> Mapping[str, float]:
        """Rule hits score 1.0; model entities were thresholded per type by the guard."""
        return dict(self.model.thresholds) if self.model is not None else {}

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """One finding per (text, entity) with a span per occurrence."""
        if self.model is None:
            rules = await self._rule_hits(texts)
            found: list[list[ModelEntity]] = [[] for _ in texts]
        else:  # the pass runs on the inference pool while the rules run here
            found, rules = await asyncio.gather(self.model.find(texts), self._rule_hits(texts))
        return [
            finding
            for index, hits in enumerate(rules)
            for finding in to_findings(self.name, index, hits)
            + model_findings(self.name, index, outside(found[index], hits))
        ]

    async def _rule_hits(self, texts: Sequence[str]) -> list[list[Hit]]:
        """Rule hits per text, off the event loop when the input is large."""

        def run() -> list[list[Hit]]:
            return [self._hits(text) for text in texts]

        return await off_loop(texts, run)

    def _hits(self, text: str) -> list[Hit]:
        text = fold_punctuation(text)  # "123–45–6789" is grouped like "123-45-6789"
        hits = [
            Hit(start, end, entity, PRIORITY.index(entity))
            for entity, detect in self._detectors.items()
            for start, end in detect(text)
        ]
        return longest_first(hits)


def outside(entities: Sequence[ModelEntity], rules: Sequence[Hit]) -> list[ModelEntity]:
    """Entities that overlap no rule hit (`rules`: sorted by start, pairwise disjoint)."""
    kept = []
    for entity in entities:
        at = bisect.bisect_left(rules, entity.start, key=lambda h: h.end)
        # rules[at] is the first hit ending after the entity starts (end > start)
        if at < len(rules) and rules[at].end == entity.start:
            at += 1
        if at == len(rules) or rules[at].start >= entity.end:
            kept.append(entity)
    return kept


def model_findings(guard: str, index: int, entities: Sequence[ModelEntity]) -> list[Finding]:
    """One finding per entity type: the longest of overlapping spans, scored by its best."""
    ranked = sorted(entities, key=lambda e: -e.score)
    hits = longest_first(Hit(e.start, e.end, e.type, rank) for rank, e in enumerate(ranked))
    scores = {(e.start, e.end, e.type): e.score for e in entities}
    by_type: dict[str, list[Hit]] = {}
    for hit in hits:
        by_type.setdefault(hit.label, []).append(hit)
    return [
        Finding(
            guard=guard,
            label=label,
            score=min(1.0, max(0.0, max(scores[(h.start, h.end, label)] for h in group))),
            text_index=index,
            spans=tuple(Span(start=h.start, end=h.end, entity=label) for h in group),
        )
        for label, group in by_type.items()
    ]


def build(config: PiiConfig, context: BuildContext) -> PiiGuard:
    """Pick the detectors of the configured entities (and the model's shared runtime)."""
    available = {**STATIC_DETECTORS, "PHONE": phone_detector(config.regions)}
    detectors = {entity: available[entity] for entity in config.entities}
    model = build_model(config.model, context) if config.model is not None else None
    return PiiGuard(context.name, detectors, model)


def build_model(config: PiiModelConfig, context: BuildContext) -> EntityModel:
    """The token head over the policy's shared runtime for the bundle."""
    from guardrail.guards.classifier import shared_runtime

    runtime = shared_runtime(config.bundle, context)
    head, spec = config.check(runtime.bundle.manifest)
    types = config.entities or spec.entity_types
    thresholds = {t: config.thresholds.get(t, spec.thresholds.get(t, 0.5)) for t in types}
    return EntityModel(runtime, head, thresholds)


KIND = GuardKind(config=PiiConfig, build=build)
