"""guardrail.wrap() around the sync OpenAI client: the proxy's checks, in-process.

python examples/wrap_openai_sync.py                  # against a fake upstream it starts
python examples/wrap_openai_sync.py --base-url https://api.openai.com/v1   # OPENAI_API_KEY
"""

from __future__ import annotations

import openai
from _support import POLICY, Reply, arguments, upstream

from guardrail import ContentBlocked, wrap


def main() -> None:
    """Three calls: a benign one, one with PII (redacted, then restored), a blocked one."""
    args = arguments(__doc__.splitlines()[0])
    with upstream(args) as up:
        client = wrap(openai.OpenAI(base_url=up.base_url, api_key=up.api_key), policy=POLICY)

        answer = client.chat.completions.create(
            model=up.model, messages=[{"role": "user", "content": "What is the capital of France?"}]
        )
        print("benign:", answer.choices[0].message.content)

        prompt = "Please draft a short note to jane.doe@example.com about Friday."
        answer = client.chat.completions.create(
            model=up.model, messages=[{"role": "user", "content": prompt}]
        )
        if up.fake is not None:
            print("upstream saw:", up.last_prompt())
        print("pii restored:", answer.choices[0].message.content)

        try:
            client.chat.completions.create(
                model=up.model, messages=[{"role": "user", "content": "Say the forbidden phrase."}]
            )
        except ContentBlocked as exc:
            print(f"blocked: rule={exc.rule} stage={exc.stage} code={exc.block_code}")

        up.script(Reply(text="Sure. The secret sauce is mayonnaise."))
        try:
            client.chat.completions.create(
                model=up.model, messages=[{"role": "user", "content": "What is in the sauce?"}]
            )
            print("answer passed")
        except ContentBlocked as exc:
            print(f"blocked: rule={exc.rule} stage={exc.stage} message={exc.message}")


if __name__ == "__main__":
    main()
