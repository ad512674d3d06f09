"""Target status display: a symbol, a word, a text weight and a theme colour for each status.

Every status differs from every other by its symbol and its word, so the
console stays readable in the `mono` theme, with NO_COLOR and on terminals
with 16 colours or fewer.
"""

from enum import StrEnum

from rich.style import Style
from rich.text import Text
from textual.color import Color, ColorParseError

from nocwatch_tui.i18n import _


class DisplayStatus(StrEnum):
    """The states the console can show; the engine's `TargetStatus` values plus `muted`."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    PAUSED = "paused"
    UNKNOWN = "unknown"
    MUTED = "muted"


SYMBOLS: dict[str, str] = {
    DisplayStatus.UP: "●",
    DisplayStatus.DEGRADED: "▲",
    DisplayStatus.DOWN: "✖",
    DisplayStatus.PAUSED: "‖",
    DisplayStatus.UNKNOWN: "○",
    DisplayStatus.MUTED: "◇",
}
THEME_VARIABLES: dict[str, str] = {
    DisplayStatus.UP: "success",
    DisplayStatus.DEGRADED: "warning",
    DisplayStatus.DOWN: "error",
    DisplayStatus.PAUSED: "foreground-muted",
    DisplayStatus.UNKNOWN: "foreground-muted",
    DisplayStatus.MUTED: "secondary",
}
# Text weight carries the severity where colour cannot (mono theme, NO_COLOR).
BOLD = frozenset({DisplayStatus.DEGRADED, DisplayStatus.DOWN})
ITALIC = frozenset({DisplayStatus.MUTED})


def status_word(status: str) -> str:
    """Return the translated word for a status."""
    words = {
        DisplayStatus.UP: _("up"),
        DisplayStatus.DEGRADED: _("degraded"),
        DisplayStatus.DOWN: _("down"),
        DisplayStatus.PAUSED: _("paused"),
        DisplayStatus.UNKNOWN: _("unknown"),
        DisplayStatus.MUTED: _("muted"),
    }
    return words[DisplayStatus(status)]


def status_style(status: str, theme_variables: dict[str, str]) -> Style:
    """Return the Rich style of a status from the current theme's variables."""
    colour = theme_colour(theme_variables, THEME_VARIABLES[status])
    return Style(
        color=None if colour is None else colour.rich_color,
        bold=status in BOLD,
        italic=status in ITALIC,
    )


def theme_colour(theme_variables: dict[str, str], name: str) -> Color | None:
    """Resolve a theme variable to an opaque colour, blending any alpha over the background."""
    try:
        colour = Color.parse(theme_variables[name])
        background = Color.parse(theme_variables.get("background", "black"))
    except (KeyError, ColorParseError):
        return None
    return background + colour if colour.a < 1 else colour


def status_text(status: str, theme_variables: dict[str, str]) -> Text:
    """Return the symbol and word of a status, coloured by the theme."""
    return Text(
        f"{SYMBOLS[status]} {status_word(status)}", style=status_style(status, theme_variables)
    )
