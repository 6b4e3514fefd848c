"""The `pii` guard: structured personal data, checksums, overlaps, and labelled-data quality."""

from __future__ import annotations

import asyncio
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn

from guardrail.guards._spans import Hit, longest_first
from guardrail.guards.pii import ENTITIES, international
from guardrail.types import CheckContext, Stage


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail john.doe@example.com now", [("EMAIL", "john.doe@example.com")]),
        ("to user+tag@sub.example.co.uk.", [("EMAIL", "user+tag@sub.example.co.uk")]),
        ("Jöhn@bücher.de", [("EMAIL", "Jöhn@bücher.de")]),
        ("root@localhost is local", []),
        ("card 4111 1111 1111 1111 ok", [("CREDIT_CARD", "4111 1111 1111 1111")]),
        ("card 4111-1111-1111-1111", [("CREDIT_CARD", "4111-1111-1111-1111")]),
        ("amex 378282246310005", [("CREDIT_CARD", "378282246310005")]),
        (
            "mc 5555555555554444, visa 4111111111111111",
            [
                ("CREDIT_CARD", "5555555555554444"),
                ("CREDIT_CARD", "4111111111111111"),
            ],
        ),
        ("ref 12 4111 1111 1111 1111", [("CREDIT_CARD", "4111 1111 1111 1111")]),
        ("bad 4111 1111 1111 1112", []),
        ("id 1234567890123456", []),
        ("acct 41111111111111111111", []),
        ("iban DE89 3704 0044 0532 0130 00 thanks", [("IBAN", "DE89 3704 0044 0532 0130 00")]),
        ("NL91ABNA0417164300", [("IBAN", "NL91ABNA0417164300")]),
        ("BE71 0961 2345 6769 THEN", [("IBAN", "BE71 0961 2345 6769")]),
        ("fr1420041010050500013m02606", [("IBAN", "fr1420041010050500013m02606")]),
        ("DE89 3704 0044 0532 0130 01", []),
        ("ssn 536-22-1945", [("US_SSN", "536-22-1945")]),
        ("ssn 536 22 1945", [("US_SSN", "536 22 1945")]),
        ("ssn 536221945", [("US_SSN", "536221945")]),
        ("SSN: 536.22.1945", [("US_SSN", "536.22.1945")]),
        ("social security number is 536 221945", [("US_SSN", "536 221945")]),
        ("ref 536221945", []),
        ("4111.1111.1111.1111", [("CREDIT_CARD", "4111.1111.1111.1111")]),
        ("4111/1111/1111/1111", [("CREDIT_CARD", "4111/1111/1111/1111")]),
        ("4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", [("CREDIT_CARD", "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1")]),
        ("IBAN DE89-3704-0044-0532-0130-00", [("IBAN", "DE89-3704-0044-0532-0130-00")]),
        ("4111 - 1111 - 1111 - 1111", [("CREDIT_CARD", "4111 - 1111 - 1111 - 1111")]),
        ("4111_1111\t1111  1111", [("CREDIT_CARD", "4111_1111\t1111  1111")]),
        ("41111111 1111 1111", [("CREDIT_CARD", "41111111 1111 1111")]),
        ("ssn 536 / 22 / 1945", [("US_SSN", "536 / 22 / 1945")]),
        ("iban de89_3704_0044_0532_0130_00", [("IBAN", "de89_3704_0044_0532_0130_00")]),
        ("to jane.doe [at] example [dot] com", [("EMAIL", "jane.doe [at] example [dot] com")]),
        ("jane DOT doe AT example DOT org", [("EMAIL", "jane DOT doe AT example DOT org")]),
        ("write jane @ example.co.uk!", [("EMAIL", "jane @ example.co.uk")]),
        ("meet me at home. Bye @ 5pm. See (at) the end.", []),
        ("part 1-536-22-1945-2", []),
        ("host 192.168.1.10 up", [("IP_ADDRESS", "192.168.1.10")]),
        ("v6 2001:db8::ff00:42:8329 up", [("IP_ADDRESS", "2001:db8::ff00:42:8329")]),
        ("mapped ::ffff:10.0.0.1", [("IP_ADDRESS", "::ffff:10.0.0.1")]),
        ("999.1.1.1 1.2.3 1.2.3.4.5 v1.2.3.4", []),
        ("std::vector a::b 12:30:45 ::", []),
        ("call +1 415-555-2671 today", [("PHONE", "+1 415-555-2671")]),
        ("(415) 555-2671", [("PHONE", "(415) 555-2671")]),
        ("ring 020 7946 0958", [("PHONE", "020 7946 0958")]),
        ("Berlin +49 30 901820", [("PHONE", "+49 30 901820")]),
        ("It was 2019, 42 people", []),
    ],
)
def test_entities_are_found_and_validated(
    build_guard: Any, found: Any, text: str, expected: list[Any]
) -> None:
    """Each entity is found by pattern and kept only when its checksum or rules hold."""
    assert found(build_guard("pii"), text) == expected


@pytest.mark.parametrize(
    ("entities", "text", "expected"),
    [
        (["EMAIL"], "a@b.io 536-22-1945", [("EMAIL", "a@b.io")]),
        (["US_SSN", "PHONE"], "a@b.io 536-22-1945", [("US_SSN", "536-22-1945")]),
        (["IBAN", "EMAIL", "IBAN"], "x NL91ABNA0417164300", [("IBAN", "NL91ABNA0417164300")]),
        (["US_SSN"], "ssn 536-00-1945 536-22-0000 078-05-1120", []),
        (["US_SSN"], "ssn 000-12-3456 666-12-3456 912-34-5678", []),
    ],
)
def test_only_configured_entities_are_reported(
    build_guard: Any, found: Any, entities: list[str], text: str, expected: list[Any]
) -> None:
    """`entities` chooses which detectors run; labels are the entity names."""
    assert found(build_guard("pii", entities=entities), text) == expected


def test_longest_overlapping_span_wins(build_guard: Any, scan: Any) -> None:
    """Digits that are both a card and a possible phone number are reported once, as a card."""
    findings = scan(build_guard("pii"), "pay with 4111 1111 1111 1111 please")
    assert [f.label for f in findings] == ["CREDIT_CARD"]


@settings(deadline=None)  # builds a guard per example; the machine is shared
@given(st.text(alphabet="0123456789", min_size=15, max_size=15), st.sampled_from([" ", "-", ""]))
def test_any_grouped_visa_number_is_a_card(
    build_guard: Any, found: Any, body: str, sep: str
) -> None:
    """A Luhn-valid 16-digit Visa number, grouped by 4 with spaces, dashes or nothing, is found."""
    number = "4" + body[:14]
    number += luhn.calc_check_digit(number)
    grouped = sep.join(number[i : i + 4] for i in range(0, 16, 4))
    assert found(build_guard("pii", entities=["CREDIT_CARD"]), f"card: {grouped}.") == [
        ("CREDIT_CARD", grouped)
    ]


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(1, 10), st.integers(0, 3))))
def test_overlap_resolution_keeps_the_longest(raw: list[tuple[int, int, int]]) -> None:
    """Kept spans are disjoint, and every dropped span overlaps a kept one at least as long."""
    hits = [Hit(start, start + size, "X", priority) for start, size, priority in raw]
    kept = longest_first(hits)
    assert all(a.end <= b.start for a, b in pairwise(kept))
    for hit in hits:
        rivals = [k for k in kept if k.start < hit.end and hit.start < k.end]
        assert any(k.end - k.start >= hit.end - hit.start for k in rivals)


def test_regions_decide_national_phone_formats(build_guard: Any, found: Any) -> None:
    """A national number is found only when its region is configured."""
    text = "ring 020 7946 0958"
    assert found(build_guard("pii", regions=["US"]), text) == []
    assert found(build_guard("pii", regions=["GB"]), text) == [("PHONE", "020 7946 0958")]


def phones_found(build_guard: Any, found: Any, text: str, region: str = "US") -> list[str]:
    """What a PHONE-only guard for one region finds in `text`, in text order."""
    guard = build_guard("pii", entities=["PHONE"], regions=[region])
    return [value for _, value in found(guard, text)]


@pytest.mark.parametrize(
    ("text", "phones"),
    [
        ("call me at 555-1234", ["555-1234"]),
        ("Tel. no.: 555 1234", ["555 1234"]),
        ("Phone:\n555 1234 (after six)", ["555 1234"]),
        ("order 5551234 shipped", []),
        ("I called 5551234 times", []),
        ("call me tomorrow about ticket 5551234", []),
        ("Call us on 12.05.2024 at 10:30", []),
        ("Phone: 2023-2024 season tickets", []),
        ("Tel.: 12 34 56", []),
        ("call me at 4111 1111 1111 1111", []),
        ("you can reach me at 555-1234", ["555-1234"]),
        ("Contact: 555 1234", ["555 1234"]),
        ("the database is reachable at 192.168.10.1", []),
        ("the subnet is reachable at 192.168.100.0/24", []),
        ("contact me at 01.02.2024 10:30", []),
        ("we hope to reach 1.500.000 users", []),
        ("contact 10 000 000 people", []),
    ],
)
def test_a_phone_word_right_before_a_local_number_is_enough(
    build_guard: Any, found: Any, text: str, phones: list[str]
) -> None:
    """A number of possible length (7+ digits, not a date, year range, IP address, time, card or
    round amount) counts only when a phone word ends right before it."""
    assert phones_found(build_guard, found, text) == phones


@pytest.mark.parametrize(
    ("text", "phones"),
    [
        ("Ana Ruiz\n12 Main St\n555 1234 office\n", ["555 1234"]),
        ("Ana Ruiz\n12 Main St\n555 1234\n", []),
        ("555-1234 (mobile)", ["555-1234"]),
        ("desk 555 1234 - Büro", ["555 1234"]),
        ("5551234 fax, 5559876 cell", ["5551234", "5559876"]),
        ("We sold 5551234 mobile phones", []),
        ("Order 5551234 (mobile)", []),
        ("1,250,000 home.", []),
        ("12.05.2024 office", []),
        ("192.168.100.1 office", []),
    ],
)
def test_a_phone_label_right_after_a_local_number_is_enough(
    build_guard: Any, found: Any, text: str, phones: list[str]
) -> None:
    """A number of possible length followed by a phone label that ends the line or comes
    before punctuation ("office", "(mobile)", "Büro") counts, as in contact blocks; a label
    that goes on into a noun phrase, an identifier word, amounts, dates and IPs do not."""
    assert phones_found(build_guard, found, text) == phones


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("Desk: +123456 789 012", ["+123456 789 012"]),
        ("see +1-234-567-8901x234.", ["+1-234-567-8901x234"]),
        ("or +12 (3)456 789 01 ext. 12", ["+12 (3)456 789 01 ext. 12"]),
        ("write to +33.1.23.45.67.89", ["+33.1.23.45.67.89"]),
        ("revenue up +12 345 678 this year", []),
        ("net +1 234 567.89 and +12.345.678,90", []),
        ("yield +1.2345678 today", []),
        ("at +40.7128-074.0060/ now", []),
        ("build +10.0.19041.1234 out", []),
        ("isbn +978-3-16-148410-0", []),
        ("Wed Oct 10 20:19:24 +0000 2018", []),
        ("+2024-01-15 10:30:00 INFO", []),
        ("released +2024-01-15", []),
        ("+1 2 3 4 5 6 7 8", []),
        ("id a+12 345 6789", []),
        ("score +15-20", []),
        ("+12 3456 7890 1234 5678", []),
    ],
)
def test_numbers_written_with_a_country_code_need_not_be_allocated(
    text: str, numbers: list[str]
) -> None:
    """'+', a country code and digit groups (8-15 digits) is a phone number by its shape alone;
    amounts, decimals, coordinates, versions, ISBNs, time zones, dates, single digits and
    numbers glued to a word are not."""
    assert [text[a:b] for a, b in international(text)] == numbers


def test_spaced_groups_after_a_phone_word_are_a_number_unless_round(
    build_guard: Any, found: Any
) -> None:
    """'12 345 678' after a phone word is a phone number where 8 digits are possible (here
    Denmark); a round amount in thousands is not."""
    assert phones_found(build_guard, found, "Tel: 12 345 678", "DK") == ["12 345 678"]
    assert phones_found(build_guard, found, "contact 12 000 000 people", "DK") == []


def test_unallocated_international_numbers_reach_the_guard(build_guard: Any, found: Any) -> None:
    """A '+' number no region allocates is still redacted by the guard (no phone word needed)."""
    assert phones_found(build_guard, found, "Desk: +123456 789 012") == ["+123456 789 012"]


@pytest.mark.parametrize(
    ("text", "phones"),
    [
        ("ID: 4155552671", []),
        ("account number is 4155552671", []),
        ("Order no. +1 415-555-2671 shipped", []),
        ("Caller ID: 415-555-2671", ["415-555-2671"]),
        ("Customer ID 12, phone 415-555-2671", ["415-555-2671"]),
        ("in case of trouble call 415 555 2671", ["415 555 2671"]),
    ],
)
def test_a_number_named_as_an_identifier_is_not_a_phone(
    build_guard: Any, found: Any, text: str, phones: list[str]
) -> None:
    """A valid-looking number right after an identifier word (ID, account number, order no.)
    is not reported as a phone; 'Caller ID' and a phone word closer to the number still are."""
    assert phones_found(build_guard, found, text) == phones


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"entities": ["EMAIL", "PASSPORT"]},
            f"unknown entities: PASSPORT; valid: {', '.join(ENTITIES)}",
        ),
        ({"entities": []}, "at least 1"),
        ({"regions": ["US", "XX"]}, "unknown phone regions: XX"),
        ({"regions": "US"}, "Input should be a valid list"),
        ({"entity": ["EMAIL"]}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_parameters_are_explained(
    config_error: Any, params: dict[str, Any], message: str
) -> None:
    """Unknown entities or regions fail validation and list what is valid."""
    assert message in config_error("pii", **params)


GOLD_TYPES = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
}
# Floors a little under what was measured (see the report); PHONE is limited by national
# formats of regions outside the default list and by invalid made-up numbers in the data
# without a phone word or "+" (measured: precision 0.979, recall 0.912 with the "+" shape rule
# and identifier words; 0.967 / 0.873 with the phone-word rule alone; 0.958 / 0.667 before).
FLOORS = {
    "EMAIL": (0.95, 0.95),
    "PHONE": (0.97, 0.95),
    "CREDIT_CARD": (0.95, 0.95),
    "IBAN": (0.95, 0.95),
    "US_SSN": (0.95, 0.95),
    "IP_ADDRESS": (0.95, 0.95),
}


@pytest.mark.slow
def test_quality_on_labelled_pii(
    build_guard: Any, scan: Any, shared_jsonl: Any, span_tally: Any
) -> None:
    """Per-entity span precision/recall on ../shared/data/pii/pii_spans.jsonl stay above floors."""
    guard = build_guard("pii")
    pairs = []
    for row in shared_jsonl("pii/pii_spans.jsonl"):
        gold = [
            (s["start"], s["end"], GOLD_TYPES[s["type"]])
            for s in row["spans"]
            if s["type"] in GOLD_TYPES
        ]
        predicted = [(s.start, s.end, f.label) for f in scan(guard, row["text"]) for s in f.spans]
        pairs.append((gold, predicted))
    tallies = span_tally(pairs)
    report = {
        k: (round(t.precision, 3), round(t.recall, 3), t.tp, t.fp, t.fn) for k, t in tallies.items()
    }
    print(f"pii precision/recall (tp, fp, fn): {report}")
    for entity, (precision, recall) in FLOORS.items():
        assert tallies[entity].precision >= precision, report
        assert tallies[entity].recall >= recall, report


def test_large_inputs_leave_the_event_loop_free(build_guard: Any) -> None:
    """Scanning a large text runs on a worker thread, so other coroutines keep running."""
    guard = build_guard("pii")
    text = "call 415 555 2671 or mail a@b.io " * 2000

    async def ticks_during_scan() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        findings = await guard.scan([text], CheckContext(stage=Stage.INPUT))
        task.cancel()
        assert {f.label for f in findings} == {"PHONE", "EMAIL"}
        return ticks

    assert asyncio.run(ticks_during_scan()) > 1
