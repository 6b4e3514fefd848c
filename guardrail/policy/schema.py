"""JSON Schema of policy files, with each guard kind's parameters (for editors)."""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field, create_model

from guardrail.guards.registry import available_kinds
from guardrail.policy.model import PolicyFile

SCHEMA_ID = "https://guardrail.dev/schema/policy-v1.json"


def policy_json_schema() -> dict[str, Any]:
    """PolicyFile's schema with `guards` values checked against the registered kinds."""
    configs = tuple(kind.config for kind in available_kinds().values())
    guard_type: Any = (
        Annotated[Union[configs], Field(discriminator="kind")]  # noqa: UP007
        if len(configs) > 1
        else configs[0]
    )
    model = create_model(
        "Policy",
        __base__=PolicyFile,
        guards=(dict[str, guard_type], Field(default_factory=dict)),
    )
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "guardrail policy"
    return schema
