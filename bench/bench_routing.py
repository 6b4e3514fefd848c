"""Script routing (`route_when: not_latin`, issue #24): the input stage of a policy with and
without its classifier guards' route to guard-multilingual, in one run.

Everyday English prompts (classifiers/train/probes.py) and everyday prompts in ten non-Latin
scripts (classifiers/train/probes_scripts.py), one caller, `Pipeline.check` in-process, the two
policies interleaved text by text so that load drifts hit both alike. Prints p50/p95 per
(policy, texts) and the two ratios the issue asks for: English routed / English unrouted
(should be 1) and non-Latin routed / English routed (at most 2).

    python bench/bench_routing.py [--policy policies/default.yaml] [--rounds 3]

The inference cache is off (GUARDRAIL_INFERENCE_CACHE_SIZE=0): both policies share the bundles'
runtimes, and a text the first one scored would be a cache hit for the second.

The "unrouted" variant is the policy with `route_non_english` / `route_when` removed from
every guard; the "routed" one has `route_non_english: guard-multilingual` and
`route_when: not_latin` on every classifier guard (as policies/default.yaml ships).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["GUARDRAIL_INFERENCE_CACHE_SIZE"] = "0"  # read when the runtimes are built

from classifiers.train import probes, probes_scripts  # noqa: E402
from classifiers.train.routing_probes import policy_variant  # noqa: E402
from guardrail.pipeline import Pipeline  # noqa: E402
from guardrail.types import Stage  # noqa: E402


async def one(pipeline: Pipeline, text: str) -> float:
    started = time.perf_counter()
    await pipeline.check(Stage.INPUT, [text], pipeline.new_request())
    return (time.perf_counter() - started) * 1000


async def interleaved(
    pipelines: dict[str, Pipeline], groups: dict[str, list[str]], rounds: int
) -> dict[tuple[str, str], list[float]]:
    """ms per text for (pipeline, group): after a warm-up on each group's first texts, every
    text of every group on each pipeline in turn, `rounds` times, so load drifts hit all."""
    for p in pipelines.values():  # warm-up: sessions, arenas, caches
        for texts in groups.values():
            for text in texts[:5]:
                await one(p, text)
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for group, texts in groups.items():
            for text in texts:
                for name, p in pipelines.items():
                    times.setdefault((name, group), []).append(await one(p, text))
    return times


async def run(policy: Path, rounds: int) -> dict[tuple[str, str], list[float]]:
    english = probes.everyday()[:100]
    scripts = [r["text"] for r in probes_scripts.rows("everyday_scripts")]
    with tempfile.TemporaryDirectory() as tmp:
        pipelines = {
            name: Pipeline.from_file(policy_variant(policy, routed, Path(tmp) / f"{name}.yaml"))
            for name, routed in (("unrouted", False), ("routed", True))
        }
    return await interleaved(pipelines, {"english": english, "non-Latin": scripts}, rounds)


def p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def print_table(first: str, times: Iterable[tuple[tuple[str, str], list[float]]]) -> None:
    """A markdown table of p50 / p95 per (variant, text group); `first` names the variant."""
    print(f"| {first} | texts | n | p50 ms | p95 ms |\n|---|---|---|---|---|")
    for (name, group), values in times:
        p50, p95 = p(values, 0.5), p(values, 0.95)
        print(f"| {name} | {group} | {len(values)} | {p50:.2f} | {p95:.2f} |")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--policy", type=Path, default=ROOT / "policies/default.yaml")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    times = asyncio.run(run(args.policy, args.rounds))
    print_table("policy", times.items())
    med = {k: statistics.median(v) for k, v in times.items()}
    en_ratio = med[("routed", "english")] / med[("unrouted", "english")]
    script_ratio = med[("routed", "non-Latin")] / med[("routed", "english")]
    print(f"\nEnglish p50, routed / unrouted: {en_ratio:.2f}")
    print(f"non-Latin p50 / English p50, both routed: {script_ratio:.2f}")


if __name__ == "__main__":
    main()
