"""A closer look at suspicious windows: score them again as short sub-windows.

A 512-token window dilutes a short paragraph: an instruction hidden in a long benign document
scores lower than the same instruction alone (docs/robustness.md, "Long texts"). A bundle whose
manifest has `focus:` names a head, the labels that make a window suspicious and that its
sub-windows may raise, a level (`above`) and a sub-window size. A window whose focus labels
reach that level is cut into sub-windows (same special tokens), each scored like any window;
only their focus labels count towards the text's score, and only from `min_score` on, so
other heads keep the thresholds they were calibrated with on full windows. Benign windows,
nearly all of a benign text, cost nothing extra.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from guardrail.inference.bundle import FocusSpec, HeadSpec
from guardrail.inference.onnx import Probs
from guardrail.inference.windows import Encoded, Window, Windowing


@dataclass(frozen=True)
class Focus:
    """Which windows get a closer look, and how they are cut (built from a `FocusSpec`)."""

    head: str
    keep: npt.NDArray[np.float64]  # 1.0 for the head's focus labels, else 0.0
    above: float
    windowing: Windowing  # the sub-windows: size, stride, the model's special tokens
    min_score: float = 0.0  # a sub-window's label counts from this probability on

    @classmethod
    def from_spec(cls, spec: FocusSpec, head: HeadSpec, parent: Windowing) -> Focus:
        """The focus a bundle's manifest describes, cut with `parent`'s special tokens."""
        keep = np.array([1.0 if label in spec.labels else 0.0 for label in head.labels])
        sub = Windowing(
            max_length=spec.max_length,
            stride=spec.stride,
            prefix=parent.prefix,
            suffix=parent.suffix,
        )
        return cls(spec.head, keep, spec.above, sub, spec.min_score)

    def suspicious(self, probs: Mapping[str, Probs]) -> bool:
        """True when one row's focus labels reach the level."""
        values = probs.get(self.head)
        return values is not None and float((values[0] * self.keep).max()) >= self.above

    def windows(self, window: Window, probs: Mapping[str, Probs]) -> list[Window]:
        """`window`'s sub-windows when its row (`probs`) is suspicious; none for a window that
        is itself a sub-window or no longer than one."""
        if window.focused or not self.suspicious(probs):
            return []
        start, stop = len(self.windowing.prefix), len(window.row) - len(self.windowing.suffix)
        content = window.row[start:stop]
        if len(content) <= self.windowing.content:
            return []
        cut = self.windowing.windows(Encoded(content))
        return [replace(sub, focused=True) for sub in cut]

    def restrict(self, probs: Mapping[str, Probs]) -> dict[str, Probs]:
        """A sub-window's probabilities as they count: the focus labels of the focus head,
        where they reach `min_score` (others 0, which a maximum over windows ignores)."""
        if self.head not in probs:
            return {}
        values = probs[self.head] * self.keep
        return {self.head: np.where(values >= self.min_score, values, 0.0)}
