"""Latency of each rule guard's `scan` on one text (in-process, one caller).

Prints p50/p95 per guard for a ~200-character prompt and a ~10 kB document as a markdown
table. Texts are prose with a sprinkling of what the guards look for (an email, a phone
number, a card, a key-shaped token, a zero-width space). Iterations are bounded by count
and by a time budget per cell, so a slow guard cannot stall the run.

    python bench/bench_rules.py [--iterations 200] [--budget 5] [--line-words 12] [--only code]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from guardrail.guards.base import Guard  # noqa: E402
from guardrail.guards.injection_signature_table import SIGNATURES  # noqa: E402
from guardrail.guards.registry import BuildContext, get_kind  # noqa: E402
from guardrail.types import CheckContext, Stage  # noqa: E402

PROSE = (
    "the quarterly report shows revenue growth in three regions while costs stayed flat and "
    "the team plans to hire two engineers next month to support the new product line "
    "please review section 4.2 before the meeting on 2024-03-18 at 10:30"
)
WORDS = PROSE.split()
EXTRAS = [
    "jane.roe@example.com",
    "+1 415-555-2671",
    "4111 1111 1111 1111",
    "key=ghp_" + "x1Y2z3" * 6,
    "zero\u200bwidth",
    "192.168.10.4",
    "https://bit.ly/3xYzAb",
]
KEYWORDS = [f"codename{i}" for i in range(100)] + ["project bluebird", "operation nightjar"]

# json_schema reads documents, not prose: its row scans the same text as a JSON document of
# 80-character lines (about 8 % longer), valid against this schema.
LINES_SCHEMA = {
    "type": "object",
    "properties": {"lines": {"type": "array", "items": {"type": "string", "maxLength": 80}}},
    "required": ["lines"],
    "additionalProperties": False,
}

# (row name, kind, parameters)
GUARDS: list[tuple[str, str, dict[str, Any]]] = [
    ("regex", "regex", {"patterns": {"ticket": r"[A-Z]{2,5}-\d+", "url": r"https?://\S+"}}),
    ("keywords (102 words)", "keywords", {"keywords": {"codenames": KEYWORDS}}),
    ("invisible_text", "invisible_text", {}),
    ("secrets", "secrets", {}),
    ("secrets (no detect-secrets)", "secrets", {"use_detect_secrets": False}),
    ("pii (10 phone regions)", "pii", {}),
    ("pii (phone region US)", "pii", {"regions": ["US"]}),
    (
        "pii (no phone)",
        "pii",
        {"entities": ["EMAIL", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS"]},
    ),
    ("length (chars + tokens)", "length", {"max_chars": 20_000, "max_tokens": 5_000}),
    (
        "urls (deny list, report_all)",
        "urls",
        {"deny_domains": ["evil.example"], "report_all": True},
    ),
    ("code", "code", {}),
    ("code (4 languages)", "code", {"languages": ["python", "sql", "shell", "javascript"]}),
    ("gibberish", "gibberish", {}),
    ("refusal (whole text)", "refusal", {"scan_chars": 0}),
    (
        "canary (token + prompt overlap)",
        "canary",
        {"canaries": ["gr-canary-7f3a9c21"], "system_prompt": PROSE},
    ),
    ("language (allow-list)", "language", {"allow": ["en", "fr", "de"]}),
    ("json_schema (valid document)", "json_schema", {"schema": LINES_SCHEMA}),
    (f"injection_signatures ({len(SIGNATURES)} patterns)", "injection_signatures", {}),
]
SIZES = {"200 chars": 200, "10 kB": 10_000}


def text_of(chars: int, seed: int, line_words: int = 0) -> str:
    """Prose of about `chars` characters with one extra every ~60 words; one paragraph, or
    a line break after every `line_words` words."""
    rng = random.Random(seed)
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < chars:
        words.append(rng.choice(EXTRAS) if rng.random() < 1 / 60 else rng.choice(WORDS))
    if line_words:
        words = [w + ("\n" if (i + 1) % line_words == 0 else " ") for i, w in enumerate(words)]
        return "".join(words)[:chars]
    return " ".join(words)[:chars]


def as_document(text: str) -> str:
    """`text` as a JSON document of `LINES_SCHEMA`."""
    return json.dumps({"lines": [text[i : i + 80] for i in range(0, len(text), 80)]})


def build(kind: str, params: dict[str, Any]) -> Guard:
    """Build a guard as a policy would."""
    guard_kind = get_kind(kind)
    config = guard_kind.config.model_validate({"kind": kind, **params})
    return guard_kind.build(config, BuildContext(name=kind))


async def measure(guard: Guard, texts: list[str], iterations: int, budget: float) -> list[float]:
    """Milliseconds per scan, cycling through `texts`, within `iterations` and `budget` s."""
    ctx = CheckContext(stage=Stage.INPUT)
    await guard.scan(texts[:1], ctx)  # warm-up (lazy tables, caches)
    samples: list[float] = []
    deadline = time.perf_counter() + budget
    while len(samples) < iterations and time.perf_counter() < deadline:
        text = texts[len(samples) % len(texts)]
        start = time.perf_counter()
        await guard.scan([text], ctx)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def percentile(samples: list[float], q: int) -> float:
    """The q-th percentile (inclusive method); the sample itself when there is only one."""
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--budget", type=float, default=5.0, help="seconds per cell at most")
    parser.add_argument("--line-words", type=int, default=0, help="break lines every N words")
    parser.add_argument("--only", default="", help="rows whose name contains this text")
    args = parser.parse_args()
    corpora = {
        size: [text_of(chars, seed, args.line_words) for seed in range(20)]
        for size, chars in SIZES.items()
    }
    print("| guard | text | p50 ms | p95 ms | runs |")
    print("|---|---|---:|---:|---:|")
    for row, kind, params in GUARDS:
        if args.only not in row:
            continue
        guard = build(kind, params)
        for size, texts in corpora.items():
            texts = [as_document(t) for t in texts] if kind == "json_schema" else texts
            samples = asyncio.run(measure(guard, texts, args.iterations, args.budget))
            p50, p95 = percentile(samples, 50), percentile(samples, 95)
            print(f"| {row} | {size} | {p50:.2f} | {p95:.2f} | {len(samples)} |")


if __name__ == "__main__":
    main()
