"""Fixtures for the inference tests: a tiny real bundle (no torch) and runtimes over it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from guardrail.inference.runtime import ClassifierRuntime, load_runtime
from guardrail.settings import Settings
from tests.helpers.tiny_bundle import build_tiny_bundle


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid tiny bundle, built once per session (do not modify it: use `bundle_copy`)."""
    return build_tiny_bundle(tmp_path_factory.mktemp("bundles") / "tiny")


@pytest.fixture
def bundle_copy(tiny_bundle: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny bundle that a test may corrupt."""
    return Path(shutil.copytree(tiny_bundle, tmp_path / "tiny"))


@pytest.fixture
def settings() -> Settings:
    """Explicit inference settings (two workers, no batching, default cache)."""
    return Settings(inference_workers=2, inference_threads=1, inference_batching=False)


@pytest.fixture
def runtime(tiny_bundle: Path, settings: Settings) -> Iterator[ClassifierRuntime]:
    """A runtime over the tiny bundle, closed after the test."""
    with load_runtime(tiny_bundle, settings=settings) as rt:
        yield rt


@pytest.fixture(scope="session")
def pii_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny bundle with a `pii` token head and a WordPiece tokenizer (see PII_TAGS)."""
    return build_tiny_bundle(tmp_path_factory.mktemp("bundles") / "tiny-pii", pii=True)


@pytest.fixture
def pii_runtime(pii_bundle: Path, settings: Settings) -> Iterator[ClassifierRuntime]:
    """A runtime over the tiny pii bundle, closed after the test."""
    with load_runtime(pii_bundle, settings=settings) as rt:
        yield rt
