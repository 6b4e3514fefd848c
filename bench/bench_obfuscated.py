"""`read_obfuscated` (leetspeak and spaced words read as the words they spell) or `read_encoded`
(encoded payloads read decoded): the input stage of a policy with and without it, in one run.

Three kinds of text, one caller, `Pipeline.check` in-process, the two policies interleaved text
by text so that load drifts hit both alike:

* everyday English prompts (classifiers/train/probes.py): no obfuscated word, so the option
  costs its regex searches only;
* the same prompts respelled (`probes.obfuscated_everyday`): each has a rewrite, which the
  classifier guards score in a second pass;
* long benign documents (20,000 and 100,000 characters of prose, no obfuscated word): the
  searches over a long text.

With `--option read_encoded` the second kind is `probes.encoded_everyday` (everyday prompts
encoded in base64, hex, ROT13 ..., and questions about hashes, ids, JWTs and data URIs: the
encoded ones have a decoded reading, scored in a second pass), and a 100,000-character base64
data URI joins the documents.

Prints p50/p95 per (policy, texts) and the ratio on / off per kind.

    python bench/bench_obfuscated.py [--policy policies/default.yaml] [--rounds 3]
        [--option read_obfuscated|read_encoded]

The inference cache is off (GUARDRAIL_INFERENCE_CACHE_SIZE=0): both policies share the bundles'
runtimes, and a text the first one scored would be a cache hit for the second. "off" is the
policy with the option false on every guard that has it (`probes.with_option`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ["GUARDRAIL_INFERENCE_CACHE_SIZE"] = "0"  # read when the runtimes are built

from bench_routing import interleaved, print_table  # noqa: E402  (a sibling script, not a package)

from classifiers.train import probes  # noqa: E402
from guardrail.pipeline import Pipeline  # noqa: E402

PROSE = (
    "The quarterly report covers revenue, hiring and the roadmap for the coming year. "
    "Each team summarised its goals, the risks it sees and what it needs from the others. "
)


async def run(
    policy: Path, rounds: int, option: str = "read_obfuscated"
) -> dict[tuple[str, str], list[float]]:
    groups = {"everyday": probes.everyday()[:100]}
    if option == "read_encoded":
        groups["encoded"] = probes.encoded_everyday()[:100]
    else:
        groups["respelled"] = probes.obfuscated_everyday()[:100]
    # each copy differs (its number), so no cache of one reading serves the next copy
    groups["20k document"] = [f"Copy {i}. " + (PROSE * 200)[:20_000] for i in range(5)]
    groups["100k document"] = [f"Copy {i}. " + (PROSE * 1000)[:100_000] for i in range(3)]
    if option == "read_encoded":
        image = base64.b64encode(bytes(range(256)) * 293).decode()[:100_000]
        uri = "data:image/png;base64," + image
        groups["100k data URI"] = [f"Shrink copy {i}: {uri}" for i in range(3)]
    with tempfile.TemporaryDirectory() as tmp:
        pipelines = {
            name: Pipeline.from_file(
                probes.with_option(policy, option, on, Path(tmp) / f"{name}.yaml")
            )
            for name, on in (("off", False), ("on", True))
        }
    return await interleaved(pipelines, groups, rounds)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--policy", type=Path, default=ROOT / "policies/default.yaml")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--option", choices=("read_obfuscated", "read_encoded"), default="read_obfuscated"
    )
    args = ap.parse_args(argv)
    times = asyncio.run(run(args.policy, args.rounds, args.option))
    print_table(args.option, sorted(times.items(), key=lambda kv: (kv[0][1], kv[0][0])))
    print()
    for group in dict.fromkeys(g for _, g in times):
        on, off = statistics.median(times[("on", group)]), statistics.median(times[("off", group)])
        print(f"{group}: p50 on / off = {on / off:.2f}")


if __name__ == "__main__":
    main()
