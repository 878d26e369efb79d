"""The site's charts, drawn by matplotlib (Agg backend) as SVG and inlined in the pages.

The SVG keeps its text as text (``svg.fonttype = "none"``: the browser draws it with its own
fonts), carries no metadata, no date and no link to anywhere (its XML prolog, DOCTYPE, metadata
and namespace declarations are dropped: inline SVG in an HTML page needs none), and its ids are
stable from one build to the next (``svg.hashsalt``).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

__all__ = ["fan_chart", "line_chart", "svg_of"]

_PROLOG = re.compile(r"<\?xml[^>]*\?>\s*|<!DOCTYPE[^>]*>\s*", re.DOTALL)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_XMLNS = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')
_COLOUR = "#1f5f8b"
_BAND = "#9cc3de"


def _figure(title: str, ylabel: str) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.2, 3.2), dpi=100)
    figure.subplots_adjust(left=0.1, right=0.98, top=0.88, bottom=0.12)
    axes = figure.add_subplot()
    axes.set_title(title, fontsize=11, loc="left")
    axes.set_ylabel(ylabel, fontsize=9)
    axes.grid(True, color="#dddddd", linewidth=0.6)
    axes.tick_params(labelsize=8)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return figure, axes


def svg_of(figure: Any) -> str:
    """``figure`` as an inline SVG element: text as text, no metadata, no prolog, no namespaces."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "mutualaid-site"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = _METADATA.sub("", _PROLOG.sub("", buffer.getvalue()))
    return _XMLNS.sub("", text).replace("xlink:href", "href").strip()


def _ticks(axes: Any, labels: Sequence[str]) -> None:
    count = len(labels)
    step = max(1, count // 8)
    positions = list(range(0, count, step))
    axes.set_xticks(positions, [labels[i] for i in positions], rotation=0)


def line_chart(title: str, labels: Sequence[str], values: Sequence[float], ylabel: str) -> str:
    """A line over the periods (``labels``), one point per period."""
    figure, axes = _figure(title, ylabel)
    xs = list(range(len(values)))
    axes.plot(xs, list(values), color=_COLOUR, marker="o", markersize=3, linewidth=1.6)
    if labels:
        _ticks(axes, labels)
    axes.set_ylim(bottom=0)
    return svg_of(figure)


def fan_chart(
    title: str,
    past_labels: Sequence[str],
    past: Sequence[float],
    bands: Any,
    ylabel: str,
) -> str:
    """The past as a line, then the forecast: its 10th-90th percentile band shaded and its median."""
    figure, axes = _figure(title, ylabel)
    start = len(past)
    ahead = bands.shape[1]
    if past:
        axes.plot(range(start), list(past), color="#333333", marker="o", markersize=3, linewidth=1.4, label="shared")
    xs = list(range(start, start + ahead))
    axes.fill_between(xs, bands[0], bands[2], color=_BAND, alpha=0.7, linewidth=0, label="10th-90th percentile")
    axes.plot(xs, bands[1], color=_COLOUR, linewidth=1.8, label="median")
    labels = [*past_labels, *[f"+{i + 1}" for i in range(ahead)]]
    _ticks(axes, labels)
    axes.set_ylim(bottom=0)
    axes.legend(fontsize=8, frameon=False, loc="upper left")
    return svg_of(figure)
