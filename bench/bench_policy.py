"""Latency of whole policies through `Pipeline.check` (in-process, one caller).

Prints p50/p95 per policy and prompt size as a markdown table. The "rules only" variant is
policies/default.yaml with its classifier guards and their rules removed.

    python bench/bench_policy.py [--iterations 300]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from guardrail.pipeline import Pipeline  # noqa: E402
from guardrail.types import Stage  # noqa: E402

WORDS = [
    "the",
    "quarterly",
    "report",
    "shows",
    "revenue",
    "growth",
    "in",
    "three",
    "regions",
    "while",
    "costs",
    "stayed",
    "flat",
    "and",
    "the",
    "team",
    "plans",
    "to",
    "hire",
    "two",
    "engineers",
    "next",
    "month",
    "to",
    "support",
    "the",
    "new",
    "product",
    "line",
]


def prompt(chars: int, seed: int) -> str:
    """A realistic-looking prompt of about `chars` characters with one email in it."""
    rng = random.Random(seed)
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < chars - 40:
        words.append(rng.choice(WORDS))
    words.insert(len(words) // 2, f"contact{seed}@example.com")
    words.insert(len(words) // 3, f"call +1 415 555 {seed % 10_000:04d}")
    return " ".join(words)[:chars]


def rules_only(default: Path, out: Path) -> Path:
    """Write default.yaml minus classifier guards/rules to `out`."""
    yaml = YAML()
    data = yaml.load(default.read_text())
    classifiers = {n for n, g in data["guards"].items() if g["kind"] == "classifier"}
    for name in classifiers:
        del data["guards"][name]
    data["rules"] = [r for r in data["rules"] if r["guard"] not in classifiers]
    data["tests"] = []
    data["name"] = "rules-only"
    with out.open("w") as fh:
        yaml.dump(data, fh)
    return out


async def measure(pipeline: Pipeline, size: int, iterations: int) -> tuple[float, float]:
    """p50/p95 ms of `check`; every call gets a different prompt so no cache can answer."""
    texts = [f"ref {i}: " + prompt(size, size * 100_000 + i) for i in range(iterations + 20)]
    for text in texts[:20]:  # warm-up
        await pipeline.check(Stage.INPUT, [text], pipeline.new_request())
    times = []
    for text in texts[20:]:
        start = time.perf_counter()
        await pipeline.check(Stage.INPUT, [text], pipeline.new_request())
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--no-classifiers", action="store_true")
    args = parser.parse_args()
    from guardrail.logging import configure

    configure(level="WARNING")
    default = ROOT / "policies" / "default.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        policies = {"rules only": rules_only(default, Path(tmp) / "rules.yaml")}
        if not args.no_classifiers:
            policies["default (rules + classifiers)"] = default
        print("| policy | prompt | p50 ms | p95 ms |\n|---|---|---|---|")
        for label, path in policies.items():
            pipeline = Pipeline.from_file(path)
            for size in (200, 10_000):
                p50, p95 = asyncio.run(measure(pipeline, size, args.iterations))
                print(f"| {label} | {size:,} chars | {p50:.3f} | {p95:.3f} |")


if __name__ == "__main__":
    main()
