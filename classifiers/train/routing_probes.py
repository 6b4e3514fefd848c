"""What `route_when: not_latin` changes, on our own probes in ten non-Latin scripts (issue #24).

    python -m classifiers.train.routing_probes [--write]

Runs probes_scripts.py's everyday prompts, attacks and harmful requests through the input
stage of policies/default.yaml twice: with every classifier guard routed to guard-multilingual
for non-Latin text (as shipped) and with the route removed (guard-minilm reads everything).
Prints blocked/n per set and language; `--write` stores them in e5_metrics.json
(`routing_probes`), rewrites guard-multilingual's MODEL_CARD.md and refreshes its hashes.
No shared data is read: the probes are ours.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from . import probes_scripts

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies/default.yaml"
METRICS = ROOT / "classifiers/train/e5_metrics.json"
BUNDLE = ROOT / "classifiers/guard-multilingual"


def policy_variant(policy: Path, routed: bool, out: Path) -> Path:
    """`policy` with every classifier guard routed to guard-multilingual for non-Latin text
    (`routed`) or with no route at all, written to `out`."""
    yaml = YAML()
    data: Any = yaml.load(policy.read_text())
    for guard in data.get("guards", {}).values():
        if guard.get("kind") != "classifier":
            continue
        guard.pop("route_non_english", None)
        guard.pop("route_when", None)
        # a head only guard-minilm has (injection_prompts) names guard-multilingual's own
        route_head = guard.pop("route_head", None)
        if routed:
            guard["route_non_english"] = "guard-multilingual"
            guard["route_when"] = "not_latin"
            if route_head is not None:
                guard["route_head"] = route_head
    with out.open("w") as f:
        yaml.dump(data, f)
    return out


async def _blocked(policy: Path, rows: list[dict[str, str]]) -> dict[str, list[int]]:
    from guardrail.pipeline import Pipeline
    from guardrail.types import Stage

    pipeline = Pipeline.from_file(policy)
    out: dict[str, list[int]] = {}
    for row in rows:
        decision = await pipeline.check(Stage.INPUT, [row["text"]], pipeline.new_request())
        counts = out.setdefault(row["lang"], [0, 0])
        counts[0] += int(decision.blocked)
        counts[1] += 1
    return out


def measure(policy: Path = POLICY) -> dict[str, dict[str, dict[str, list[int]]]]:
    """{variant: {probe set: {lang: [blocked, n]}}} for the unrouted and routed policy."""
    os.environ["GUARDRAIL_INFERENCE_CACHE_SIZE"] = "0"
    result: dict[str, dict[str, dict[str, list[int]]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, routed in (("unrouted", False), ("routed", True)):
            path = policy_variant(policy, routed, Path(tmp) / f"{name}.yaml")
            result[name] = {
                s: asyncio.run(_blocked(path, probes_scripts.rows(s))) for s in probes_scripts.SETS
            }
    return result


def write(result: dict[str, Any]) -> None:
    """Store the result in e5_metrics.json, rewrite the card, refresh the bundle's hashes."""
    import yaml

    from .e5_card import write_card
    from .refit import rehash

    metrics = json.loads(METRICS.read_text())
    metrics["routing_probes"] = result
    METRICS.write_text(json.dumps(metrics, indent=1) + "\n")
    info = yaml.safe_load((BUNDLE / "bundle.yaml").read_text())["training"]
    write_card(BUNDLE / "MODEL_CARD.md", metrics, info)
    rehash(BUNDLE)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help="update e5_metrics.json and the card")
    args = ap.parse_args(argv)
    result = measure()
    for name, sets in result.items():
        for s, langs in sets.items():
            blocked = sum(v[0] for v in langs.values())
            total = sum(v[1] for v in langs.values())
            print(f"{name:9s} {s:18s} {blocked}/{total}")
    if args.write:
        write(result)


if __name__ == "__main__":
    main()
