"""The private parts of Textual, textual-plotext and plotext that synscope relies on, in one place.

Each is a behaviour upstream does not promise (a leading underscore, or a write to a public
name without its usual side effects), wrapped in one function that says what it relies on,
so an upgrade that breaks one breaks it here, with the reason beside it. Checked against
Textual 8.2, textual-plotext 1.0.1, plotext 5.3.
"""

from __future__ import annotations

from typing import Any

from textual.geometry import Size
from textual.scroll_view import ScrollView

__all__ = ["register_plotext_theme", "set_plot_size", "set_virtual_size_quietly"]


def set_virtual_size_quietly(view: ScrollView, size: Size) -> None:
    """Give a Line-API view a new virtual size without laying out the whole screen.

    ``ScrollView.virtual_size`` is a ``Reactive(layout=True)``: assigning it lays out the
    screen (~50 ms at 200x60). ``Widget.set_reactive`` sets a reactive without its watchers
    or layout; ``Widget._scroll_update(virtual_size)`` is what Textual's own
    ``ScrollView._size_updated`` calls to show, hide and size the scrollbars. If a scrollbar
    appears or goes, Textual still lays out (the scrollbar's own refresh).
    """
    view.set_reactive(ScrollView.virtual_size, size)
    view._scroll_update(size)


def register_plotext_theme(name: str, surface: tuple[int, int, int], foreground: tuple[int, int, int]) -> str:
    """Register the app's theme with plotext under ``name`` and return the name.

    What ``textual_plotext.PlotextPlot`` does for its "auto" theme on mount: plotext's theme
    table is the module global ``plotext._dict.themes``, and textual-plotext builds an RGB
    theme with its private ``_rgbify_theme(canvas, axes, ticks, style, _sequence)``. Builds
    run one at a time, so the table is never written by two threads at once.
    """
    from plotext._dict import themes
    from textual_plotext.plot import _rgbify_theme, _sequence

    if name not in themes:
        themes[name] = _rgbify_theme(surface, surface, foreground, "default", _sequence)
    return name


def set_plot_size(plt: Any, width: int, height: int) -> None:
    """Size a ``textual_plotext.Plot`` figure to exactly ``width`` x ``height`` cells.

    What ``PlotextPlot.render`` does before each build: ``plotsize`` alone leaves plotext's
    figure at the terminal's size when it is larger, and ``Plot._set_size`` (private) is the
    call that fixes the figure's own size.
    """
    plt.plotsize(width, height)
    plt._set_size(width, height)
