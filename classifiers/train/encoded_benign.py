"""How often benign text of the shared data has an encoded payload, and what reading it costs.

    python -m classifiers.train.encoded_benign [--policy policies/default.yaml]

For every benign row of ../shared/data (not dev/): does `guardrail.decode` find a payload, and
for those rows, does the policy decide otherwise with `read_encoded` on than off? Prompts are
checked at the input stage, documents (`channel:document`, the injection documents files) at
`retrieved`, assistant answers (harm/completions) at `output`. Prints counts per file and per
scheme, never a row (the data holds hateful text). Needs no torch: the serving path only
(`.venv` has it).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from guardrail.decode import Decoder
from guardrail.pipeline import Pipeline
from guardrail.types import Stage

from . import data as D
from .probes import with_option

ROOT = Path(__file__).resolve().parents[2]
FILES = [
    "benign/prompts.jsonl",
    "benign/prompts_multilingual.jsonl",
    "injection/prompts.jsonl",
    "injection/prompts_multilingual.jsonl",
    "injection/documents.jsonl",
    "injection/documents_multilingual.jsonl",
    "harm/prompts.jsonl",
    "harm/text.jsonl",
    "harm/completions.jsonl",
]
BENIGN = ("benign", "safe")


async def measure(policy: Path, data_dir: Path) -> dict[str, Any]:
    decoder = Decoder.english()
    with tempfile.TemporaryDirectory() as tmp:
        on = Pipeline.from_file(with_option(policy, "read_encoded", True, Path(tmp) / "on.yaml"))
        off = Pipeline.from_file(with_option(policy, "read_encoded", False, Path(tmp) / "off.yaml"))
    counts: dict[str, collections.Counter[str]] = {}
    schemes: collections.Counter[str] = collections.Counter()
    scan_s = 0.0
    for name in FILES:
        path = data_dir / name
        if not path.exists():
            continue
        c = counts.setdefault(name, collections.Counter())
        for row in D.read_jsonl(path):
            if row.get("label") not in BENIGN:
                continue
            text = row["text"]
            c["benign rows"] += 1
            started = time.perf_counter()
            payloads = decoder.payloads(text)
            scan_s += time.perf_counter() - started
            if not payloads:
                continue
            c["with a payload"] += 1
            schemes.update(p.scheme.split("/")[0] for p in payloads)
            doc = "documents" in name or "channel:document" in row.get("categories", [])
            stage = Stage.OUTPUT if "completions" in name else Stage.INPUT
            stage = Stage.RETRIEVED if doc else stage
            a = await off.check(stage, [text], off.new_request())
            b = await on.check(stage, [text], on.new_request())
            c["blocked, read_encoded off"] += a.blocked
            c["blocked, read_encoded on"] += b.blocked
    return {
        "files": {k: dict(v) for k, v in counts.items()},
        "schemes": dict(schemes),
        "scan_seconds": round(scan_s, 1),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--policy", type=Path, default=ROOT / "policies/default.yaml")
    ap.add_argument("--data-dir", type=Path, default=D.DEFAULT_DATA_DIR)
    args = ap.parse_args(argv)
    print(json.dumps(asyncio.run(measure(args.policy, args.data_dir)), indent=1))


if __name__ == "__main__":
    main()
