"""guardrail.wrap() around AsyncOpenAI, streaming: the answer is checked through a hold-back
window, redacted values come back restored, and a violating answer is cut off.

    python examples/wrap_openai_async_stream.py          # against a fake upstream it starts
    python examples/wrap_openai_async_stream.py --base-url https://api.openai.com/v1
"""

from __future__ import annotations

import asyncio
from typing import Any

import openai
from _support import POLICY, Reply, arguments, upstream

from guardrail import wrap


async def show(client: openai.AsyncOpenAI, model: str, prompt: str) -> None:
    """Stream one answer, printing the text and how it finished."""
    stream: Any = await client.chat.completions.create(
        model=model, stream=True, messages=[{"role": "user", "content": prompt}]
    )
    text, finish = "", None
    async with stream:
        async for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
                finish = chunk.choices[0].finish_reason or finish
    print(f"streamed ({finish}): {text}")


async def main() -> None:
    """Two streams: one that restores an e-mail, one that is cut by an output rule."""
    args = arguments(__doc__.splitlines()[0])
    with upstream(args) as up:
        raw = openai.AsyncOpenAI(base_url=up.base_url, api_key=up.api_key)
        client = wrap(raw, policy=POLICY)
        up.script(Reply(text="I will write to <EMAIL_1> today. " * 3, chunk_chars=3))
        await show(client, up.model, "Repeat back my e-mail, jane.doe@example.com, three times.")
        if up.fake is not None:
            print("upstream saw:", up.last_prompt())
        reply = "Here is a long and harmless introduction. Then: detonate now! And more text."
        up.script(Reply(text=reply, chunk_chars=4))
        await show(client, up.model, "Tell me a story.")
        await raw.close()


if __name__ == "__main__":
    asyncio.run(main())
