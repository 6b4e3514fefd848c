"""In-process edges: the proxy's flow for code that calls a model itself.

`edge.Edge` runs a policy around one call exactly as the proxy does (same stages, same
order, same hold-back for streams); `guardrail.client.wrap` (OpenAI SDK clients) and
`integrations.litellm` (litellm's proxy and SDK) are thin adapters around it.
"""
