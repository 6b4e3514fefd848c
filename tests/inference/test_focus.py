"""A closer look at suspicious windows (bundle `focus:`): sub-windows of a window whose
injection score reaches the level are scored too, so a paragraph diluted in 500 tokens of
benign text is judged on a window of its own size (issue #18)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from guardrail.errors import BundleError
from guardrail.inference.bundle import REPO_BUNDLES_DIR, Bundle, FocusSpec, load_bundle
from guardrail.inference.runtime import ClassifierRuntime
from guardrail.inference.windows import Windowing
from guardrail.settings import Settings
from tests.adversarial.test_long_text import INJECTION, document

REAL = REPO_BUNDLES_DIR / "guard-minilm"
pytestmark = pytest.mark.skipif(
    not (REAL / "bundle.yaml").is_file(), reason="classifiers/guard-minilm not built yet"
)
SETTINGS = Settings(inference_workers=2, inference_batching=False, inference_cache_size=0)
BENIGN = "\n\n".join(document(3)[:2400].split("\n\n")[:-1])  # ~2,300 characters, one window


def runtime_with(focus: FocusSpec | None, settings: Settings = SETTINGS) -> ClassifierRuntime:
    """The shipped bundle with `focus` in place of its own."""
    bundle = load_bundle(REAL)
    return ClassifierRuntime(
        Bundle(bundle.path, bundle.manifest.model_copy(update={"focus": focus})), settings
    )


@pytest.fixture(scope="module")
def shipped() -> Iterator[ClassifierRuntime]:
    """The bundle as shipped (its own `focus:`)."""
    with ClassifierRuntime(load_bundle(REAL), SETTINGS) as runtime:
        yield runtime


@pytest.fixture(scope="module")
def unfocused() -> Iterator[ClassifierRuntime]:
    """The same bundle without `focus:`: full windows only."""
    with runtime_with(None) as runtime:
        yield runtime


@pytest.fixture(scope="module")
def diluted(unfocused: ClassifierRuntime) -> str:
    """The one window's text of the long-text test's newsletter (input, 30 %) that holds the
    injected paragraph: ~2,500 characters, mostly benign."""
    doc = document(1, INJECTION, 0.3)
    at = doc.index(INJECTION)
    for window in unfocused.windows(doc):
        spans = [o for o in window.offsets if o is not None]
        if spans[0][0] <= at < spans[-1][1]:
            return doc[spans[0][0] : spans[-1][1]]
    raise AssertionError("no window holds the paragraph")


def injection(runtime: ClassifierRuntime, text: str) -> float:
    return runtime.score_sync([text])[0]["injection"]["injection"]


def test_shipped_bundle_declares_a_focus() -> None:
    """guard-minilm looks closer at windows whose injection score reaches its level."""
    focus = load_bundle(REAL).manifest.focus
    assert focus is not None and focus.head == "injection" and focus.labels == ["injection"]


def test_diluted_paragraph_is_caught_only_by_the_closer_look(
    shipped: ClassifierRuntime, unfocused: ClassifierRuntime, diluted: str
) -> None:
    """The full window scores the diluted paragraph under the threshold; its sub-windows do
    not, so the text's score crosses it (the long-text test's forwarded cell)."""
    threshold = shipped.heads["injection"].thresholds["injection"]
    before = shipped.pool.stats.focused
    assert injection(unfocused, diluted) < threshold
    assert injection(shipped, diluted) >= threshold
    assert shipped.pool.stats.focused > before


def test_benign_window_gets_no_closer_look(shipped: ClassifierRuntime) -> None:
    """A benign text below the level costs no extra pass: no sub-window is scored."""
    before = shipped.pool.stats.focused
    score = injection(shipped, BENIGN)
    assert score < load_bundle(REAL).manifest.focus.above  # type: ignore[union-attr]
    assert shipped.pool.stats.focused == before


def test_every_sub_window_of_a_suspicious_window_is_scored(unfocused: ClassifierRuntime) -> None:
    """With the level at its lowest, each window is cut into the spec's sub-windows, all
    scored (count from the windowing, not from the model)."""
    spec = FocusSpec(head="injection", labels=["injection"], above=1e-9, max_length=64, stride=32)
    rows = unfocused.rows(BENIGN)
    sub = Windowing(
        max_length=64,
        stride=32,
        prefix=unfocused.windowing.prefix,
        suffix=unfocused.windowing.suffix,
    )
    expected = sum(len(sub.rows(row[1:-1])) for row in rows)
    with runtime_with(spec) as runtime:
        runtime.score_sync([BENIGN])
        assert runtime.pool.stats.focused == expected > len(rows)


def test_sub_windows_under_min_score_do_not_count(
    unfocused: ClassifierRuntime, diluted: str
) -> None:
    """Sub-windows are scored but none reaches min_score: the text keeps its full-window score."""
    spec = FocusSpec(
        head="injection",
        labels=["injection"],
        above=1e-9,
        min_score=0.99999,
        max_length=256,
        stride=128,
    )
    with runtime_with(spec) as runtime:
        assert injection(runtime, diluted) == pytest.approx(injection(unfocused, diluted))
        assert runtime.pool.stats.focused > 0


def test_only_focus_labels_are_raised(
    shipped: ClassifierRuntime, unfocused: ClassifierRuntime, diluted: str
) -> None:
    """Other heads and labels keep their full-window scores (their thresholds were calibrated
    on full windows)."""
    focused, plain = shipped.score_sync([diluted])[0], unfocused.score_sync([diluted])[0]
    assert focused["harm"] == pytest.approx(plain["harm"])
    assert focused["injection"]["jailbreak"] == pytest.approx(plain["injection"]["jailbreak"])
    assert focused["injection"]["benign"] == pytest.approx(plain["injection"]["benign"])


def test_batched_pool_looks_closer_too(shipped: ClassifierRuntime, diluted: str) -> None:
    """With cross-request batching on, sub-windows go through the batcher with the same result."""
    batching = Settings(inference_workers=2, inference_batching=True, inference_cache_size=0)
    with ClassifierRuntime(load_bundle(REAL), batching) as runtime:
        assert injection(runtime, diluted) == pytest.approx(
            injection(shipped, diluted), abs=2e-3
        )  # padding in a batch moves int8 scores a little
        assert runtime.pool.stats.focused > 0


@pytest.mark.parametrize(
    ("focus", "message"),
    [
        ({"head": "nope", "labels": ["x"]}, "not a softmax or sigmoid head"),
        ({"head": "pii", "labels": ["O"]}, "not a softmax or sigmoid head"),
        ({"head": "injection", "labels": ["toxic"]}, "are not labels of head"),
        ({"head": "injection", "labels": ["injection"], "max_length": 512}, "max_length"),
        ({"head": "injection", "labels": ["injection"], "stride": 300}, "stride"),
    ],
)
def test_inconsistent_focus_is_refused(
    tmp_path: Path, focus: dict[str, object], message: str
) -> None:
    """A `focus:` that names an unknown or token head, unknown labels, or sub-windows no
    smaller than the windows is a bundle error naming the problem."""
    copy = Path(shutil.copytree(REAL, tmp_path / "b"))
    yaml = YAML()
    manifest = yaml.load((copy / "bundle.yaml").read_text())
    manifest["focus"] = {"above": 0.3, "max_length": 256, "stride": 128, **focus}
    with (copy / "bundle.yaml").open("w") as fh:
        yaml.dump(manifest, fh)
    with pytest.raises(BundleError, match=message):
        load_bundle(copy)
