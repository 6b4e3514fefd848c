"""Hypothesis strategies for the fuzz tests: JSON-ish values and wire bodies that are
sometimes right, often almost right, and sometimes nonsense -- plus awkward Unicode.

Example counts: `GUARDRAIL_FUZZ_EXAMPLES` (per property; the default keeps `pytest` fast).
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("GUARDRAIL_FUZZ_EXAMPLES", "100"))
"""Examples per pure property (parsers, SSE)."""
SERVER_EXAMPLES = max(1, EXAMPLES // 10)
"""Examples per property that goes through a running server (slower per example)."""

# Characters that break naive code: NUL, line/paragraph separators, NEL, BOM, bidi
# overrides, zero-width, Unicode tags (ASCII smuggling), astral emoji, a combining mark.
AWKWARD = '\x00\u2028\u2029\x85\ufeff\u202e\u2066\u200b\U000e0041\U0001f600\u0301\r\n\t"\\<>'

text = st.text(
    alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from(AWKWARD)), max_size=40
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(text, kids, max_size=4),
    max_leaves=12,
)

STAGES = st.sampled_from(["input", "retrieved", "tool"])
OPENAI_ROLES = st.sampled_from(["user", "assistant", "system", "developer", "tool", "function"])
PART_TYPES = st.sampled_from(["text", "refusal", "image_url", "input_audio"])
BLOCK_TYPES = st.sampled_from(
    ["text", "tool_use", "tool_result", "document", "search_result", "image", "thinking"]
)


def sometimes(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`strategy` mostly, any JSON value now and then (the almost-right case)."""
    return st.one_of(strategy, strategy, strategy, json_values)


def _extra() -> st.SearchStrategy[dict[str, Any]]:
    """Unknown fields, which must survive a round trip untouched."""
    return st.dictionaries(st.sampled_from(["x_extra", "metadata", "name", "n"]), json_values)


openai_part = st.fixed_dictionaries(
    {"type": sometimes(PART_TYPES)},
    optional={
        "text": sometimes(text),
        "refusal": sometimes(text),
        "guardrail_stage": sometimes(STAGES),
        "image_url": json_values,
    },
)
tool_call = st.fixed_dictionaries(
    {"id": text, "type": st.just("function")},
    optional={"function": sometimes(st.fixed_dictionaries({"name": text, "arguments": text}))},
)
openai_message = st.fixed_dictionaries(
    {"role": sometimes(OPENAI_ROLES)},
    optional={
        "content": sometimes(st.none() | text | st.lists(sometimes(openai_part), max_size=3)),
        "tool_calls": sometimes(st.lists(sometimes(tool_call), max_size=2)),
        "function_call": sometimes(st.fixed_dictionaries({"name": text, "arguments": text})),
        "guardrail_stage": sometimes(STAGES),
        "tool_call_id": text,
    },
)
openai_chat = st.builds(
    lambda base, extra: {**extra, **base},
    st.fixed_dictionaries(
        {"messages": sometimes(st.lists(sometimes(openai_message), max_size=4))},
        optional={"model": sometimes(text), "stream": sometimes(st.booleans())},
    ),
    _extra(),
)
openai_completion = st.builds(
    lambda base, extra: {**extra, **base},
    st.fixed_dictionaries(
        {"prompt": sometimes(text | st.lists(text, max_size=3))},
        optional={"model": text, "suffix": sometimes(text)},
    ),
    _extra(),
)

anthropic_block: st.SearchStrategy[Any] = st.recursive(
    st.fixed_dictionaries(
        {"type": sometimes(BLOCK_TYPES)},
        optional={"text": sometimes(text), "id": text, "name": text, "input": json_values},
    ),
    lambda kids: st.fixed_dictionaries(
        {"type": sometimes(BLOCK_TYPES)},
        optional={
            "content": sometimes(text | st.lists(kids, max_size=3)),
            "source": sometimes(
                st.fixed_dictionaries(
                    {"type": sometimes(st.sampled_from(["text", "content", "base64", "url"]))},
                    optional={
                        "data": sometimes(text),
                        "content": sometimes(text | st.lists(kids, max_size=2)),
                        "media_type": text,
                    },
                )
            ),
            "tool_use_id": text,
            "guardrail_stage": sometimes(STAGES),
        },
    ),
    max_leaves=6,
)
anthropic_message = st.fixed_dictionaries(
    {
        "role": sometimes(st.sampled_from(["user", "assistant"])),
        "content": sometimes(text | st.lists(sometimes(anthropic_block), max_size=3)),
    }
)
anthropic_body = st.builds(
    lambda base, extra: {**extra, **base},
    st.fixed_dictionaries(
        {"messages": sometimes(st.lists(sometimes(anthropic_message), max_size=4))},
        optional={
            "model": text,
            "max_tokens": sometimes(st.integers(min_value=1, max_value=64)),
            "system": sometimes(text | st.lists(anthropic_block, max_size=2)),
            "stop_sequences": json_values,
            "tools": json_values,
            "tool_choice": json_values,
            "stream": sometimes(st.booleans()),
        },
    ),
    _extra(),
)
