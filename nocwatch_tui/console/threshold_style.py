"""Colours of a figure by its thresholds: success below warning, then warning, then error."""

from rich.style import Style

from nocwatch_tui.console.status_style import theme_colour


def threshold_style(
    value: float | None, warning: float, critical: float | None, theme_variables: dict[str, str]
) -> Style:
    """Return the style of a figure against its warning and critical thresholds."""
    if value is None:
        name = "foreground-muted"
    elif critical is not None and value > critical:
        name = "error"
    elif value > warning:
        name = "warning"
    else:
        name = "success"
    colour = theme_colour(theme_variables, name)
    return Style(color=None if colour is None else colour.rich_color)
