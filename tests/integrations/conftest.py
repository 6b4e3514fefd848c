"""Fixtures for the litellm plug-in tests (see support.py)."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from tests.integrations.support import base_url, fake, fake_server

__all__ = ["base_url", "fake", "fake_server"]
