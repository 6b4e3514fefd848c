"""Check two prompts with a policy that uses the `shouting` guard kind.

pip install examples/custom_guard
python examples/custom_guard/demo.py
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from guardrail import Pipeline, Stage
from guardrail.guards.registry import kind_names
from guardrail.logging import configure

POLICY = Path(__file__).with_name("policy.yaml")


async def main() -> None:
    """Load the policy (this needs the entry point) and check two prompts."""
    configure(level="WARNING")
    print("kinds:", ", ".join(kind_names()))
    pipeline = Pipeline.from_file(POLICY)
    for text in ("WHY IS MY ORDER STILL NOT HERE", "Why is my order still not here?"):
        decision = await pipeline.check(Stage.INPUT, [text], pipeline.new_request())
        rule = decision.block.rule if decision.block else "-"
        print(f"{decision.action.value:5} {rule:12} {text}")


if __name__ == "__main__":
    asyncio.run(main())
