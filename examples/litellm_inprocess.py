"""guardrail around litellm.acompletion / litellm.completion, in-process.

python examples/litellm_inprocess.py                 # against a fake upstream it starts
python examples/litellm_inprocess.py --base-url https://api.openai.com/v1 --model gpt-4o-mini
"""

from __future__ import annotations

import asyncio

from _support import POLICY, Reply, arguments, upstream

from guardrail import ContentBlocked
from guardrail.integrations.litellm import GuardedLitellm


async def main() -> None:
    """A redacted call, a blocked call and a guarded stream through litellm."""
    args = arguments(__doc__.splitlines()[0])
    with upstream(args) as up:
        guarded = GuardedLitellm(POLICY)
        call = {"model": f"openai/{up.model}", "api_base": up.base_url, "api_key": up.api_key}

        prompt = "Call me back on +1 415 555 0100 please."
        answer = await guarded.acompletion(**call, messages=[{"role": "user", "content": prompt}])
        if up.fake is not None:
            print("upstream saw:", up.last_prompt())
        print("answer:", answer.choices[0].message.content)

        try:
            await guarded.acompletion(**call, messages=[{"role": "user", "content": "kaboom"}])
        except ContentBlocked as exc:
            print(f"blocked: rule={exc.rule} stage={exc.stage}")

        up.script(Reply(text="A harmless beginning, then the secret sauce. More.", chunk_chars=3))
        stream = await guarded.acompletion(
            **call, stream=True, messages=[{"role": "user", "content": "Tell me."}]
        )
        text, finish = "", None
        async for chunk in stream:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        print(f"streamed ({finish}): {text}")


if __name__ == "__main__":
    asyncio.run(main())
