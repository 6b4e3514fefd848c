"""What the streaming hold-back costs a client: time to first token and delay per character.

    .venv/bin/python bench/bench_stream.py [--policy policies/default.yaml] [--window N]
                                           [--runs 5] [--chars-per-chunk 4] [--chunk-ms 20]

A paced upstream on 127.0.0.1 streams a typical answer (five short paragraphs, ~740
characters, sentences of 40-120 characters) at `chars-per-chunk` characters every `chunk-ms`
milliseconds (4 / 20 ms: ~200 characters/s, about 50 tokens/s). The same answer is read
directly and through a real proxy (`guardrail.server.app.create_app` over the policy, in this
process; `--window` overrides its `stream_window_chars`), with httpx. For each character
the time it reached the client is compared with the time it reached the client directly;
reported: time to first token, delay per character (median, p95, max), total time, and the
number of content events. The classifier result cache is off, as no two real answers are
alike. Numbers from a shared 2-core machine are noisy: compare the rows of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# every real answer is new: no classifier result may come from the cache of an earlier run
os.environ.setdefault("GUARDRAIL_INFERENCE_CACHE_SIZE", "0")

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from guardrail.logging import configure
from guardrail.pipeline import Pipeline
from guardrail.server.app import create_app
from guardrail.testing import serve_app
from guardrail.upstream import shapes
from guardrail.upstream.openai_http import OpenAIHttpUpstream

ROOT = Path(__file__).resolve().parents[1]
ANSWER = (
    "Good question! Sourdough needs three things: flour, water and time. "
    "Start by feeding your starter the evening before, so that it is lively in the morning.\n\n"
    "Mix 500 g of bread flour with 350 g of water and let it rest for an hour. "
    "Then add 100 g of starter and 10 g of salt, and squeeze them in by hand.\n\n"
    "Over the next three hours, stretch and fold the dough every thirty minutes. "
    "It should become smooth, airy and a little wobbly.\n\n"
    "Shape it into a tight ball, put it in a floured basket and leave it in the fridge "
    "overnight. The cold slows the yeast and deepens the flavour.\n\n"
    "Bake it in a preheated pot at 250 degrees for twenty minutes with the lid on, then "
    "another twenty-five without it. Let it cool for an hour before you cut it. Enjoy!"
)
TIME_CAP_S = 60.0  # no single read runs longer than this


def paced_upstream(chars: int, delay_s: float) -> Starlette:
    """An OpenAI chat endpoint that streams ANSWER at a fixed pace."""

    async def events() -> AsyncIterator[bytes]:
        pieces = shapes.split(ANSWER, chars)
        for chunk in shapes.chat_chunks(pieces, model="bench"):
            yield f"data: {json.dumps(chunk)}\n\n".encode()
            await asyncio.sleep(delay_s)
        yield b"data: [DONE]\n\n"

    async def chat(request: Request) -> StreamingResponse:
        await request.body()
        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


def read(base: str) -> tuple[list[float], int]:
    """Stream one answer: the arrival time (s, from the request) of each character, events."""
    arrivals: list[float] = []
    events = 0
    body = {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "bread"}]}
    started = time.perf_counter()
    with httpx.stream("POST", base + "/v1/chat/completions", json=body, timeout=30) as response:
        for line in response.iter_lines():
            if time.perf_counter() - started > TIME_CAP_S:
                raise RuntimeError("a read ran past the time cap")
            if not line.startswith("data: {"):
                continue
            choices = json.loads(line[6:]).get("choices") or [{}]
            text = (choices[0].get("delta") or {}).get("content") or ""
            if text:
                events += 1
                arrivals += [time.perf_counter() - started] * len(text)
    return arrivals, events


def summary(name: str, runs: list[tuple[list[float], int]], base: list[float]) -> str:
    """One table row: medians over the runs."""
    ttft = statistics.median(r[0][0] for r in runs) * 1000
    total = statistics.median(r[0][-1] for r in runs) * 1000
    delays = sorted((t - b) * 1000 for r in runs for t, b in zip(r[0], base, strict=True))
    p95 = delays[int(0.95 * (len(delays) - 1))]
    events = statistics.median(r[1] for r in runs)
    return (
        f"| {name} | {ttft:.0f} | {statistics.median(delays):.0f} | {p95:.0f} | "
        f"{delays[-1]:.0f} | {total:.0f} | {events:.0f} |"
    )


def load(policy: Path, window: int | None) -> Pipeline:
    """The policy, with `stream_window_chars` overridden by a policy that extends it."""
    if window is None:
        return Pipeline.from_file(policy)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "window.yaml"
        path.write_text(
            f"version: 1\nextends: {policy.resolve()}\noptions: {{stream_window_chars: {window}}}\n"
        )
        return Pipeline.from_file(path)


def main() -> None:
    """Measure and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policy", type=Path, default=ROOT / "policies" / "default.yaml")
    parser.add_argument("--window", type=int, default=None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chars-per-chunk", type=int, default=4)
    parser.add_argument("--chunk-ms", type=float, default=20.0)
    args = parser.parse_args()
    configure("WARNING")
    upstream_app = paced_upstream(args.chars_per_chunk, args.chunk_ms / 1000)
    with serve_app(upstream_app) as upstream:
        pipeline = load(args.policy, args.window)
        proxy_app = create_app(pipeline, OpenAIHttpUpstream(upstream.url + "/v1"))
        with serve_app(proxy_app) as proxy:
            read(proxy.url)  # warm-up: model sessions, connections
            direct = [read(upstream.url) for _ in range(args.runs)]
            guarded = [read(proxy.url) for _ in range(args.runs)]
    base = [statistics.median(r[0][i] for r in direct) for i in range(len(ANSWER))]
    window = pipeline.policy.options.stream_window_chars
    print(f"{len(ANSWER)} characters, {args.chars_per_chunk} per chunk every {args.chunk_ms} ms;")
    print(f"policy {args.policy.name} (stream_window_chars {window}); {args.runs} runs each\n")
    print("| target | TTFT ms | delay p50 ms | delay p95 ms | delay max ms | total ms | events |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(summary("direct", direct, base))
    print(summary("guardrail", guarded, base))


if __name__ == "__main__":
    main()
