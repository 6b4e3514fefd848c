"""Precision-recall curves as a PNG. matplotlib (the `plot` extra) is imported only here, lazily,
and drawn through the Agg canvas without pyplot (no global figure state, no display needed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from guardrail.evaluate.metrics import PRPoint


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed."""


def require_matplotlib() -> None:
    """Raise `PlotUnavailable` now, rather than after a long evaluation run."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        hint = "--plot needs matplotlib: pip install 'guardrail-proxy[plot]'"
        raise PlotUnavailable(hint) from None


def _figure() -> Any:
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 5.5), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _steps(points: Sequence[PRPoint]) -> tuple[list[float], list[float]]:
    """Recall and precision of a step-wise curve, from recall 0 at the highest threshold."""
    recalls = [0.0, *(p.recall for p in points)]
    precisions = [points[0].precision if points else 0.0, *(p.precision for p in points)]
    return recalls, precisions


def write_pr_plot(
    path: Path,
    curves: Mapping[str, Sequence[PRPoint]],
    points: Mapping[str, tuple[float, float]],
    title: str,
) -> None:
    """PR curves of the scored rules; a marker at each rule's and the policy's operating point."""
    figure = _figure()
    axes = figure.add_subplot()
    colors: dict[str, Any] = {}
    for name, curve in curves.items():
        recalls, precisions = _steps(curve)
        (line,) = axes.plot(recalls, precisions, drawstyle="steps-post", label=f"{name} (curve)")
        colors[name] = line.get_color()
    for name, (recall, precision) in points.items():
        style = {"color": colors[name]} if name in colors else {}
        axes.plot([recall], [precision], "o", label=f"{name} (as set)", **style)
    axes.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.05), title=title)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left", fontsize="small")
    figure.savefig(path, format="png")
