"""Target status display: a symbol, a word and a theme colour for each status."""

from rich.style import Style
from rich.text import Text
from textual.color import Color, ColorParseError

from nocwatch_tui.engine.status import TargetStatus
from nocwatch_tui.i18n import _

SYMBOLS = {
    TargetStatus.UP: "●",
    TargetStatus.DEGRADED: "▲",
    TargetStatus.DOWN: "✖",
    TargetStatus.PAUSED: "‖",
    TargetStatus.UNKNOWN: "○",
}
THEME_VARIABLES = {
    TargetStatus.UP: "success",
    TargetStatus.DEGRADED: "warning",
    TargetStatus.DOWN: "error",
    TargetStatus.PAUSED: "foreground-muted",
    TargetStatus.UNKNOWN: "foreground-muted",
}


def status_word(status: TargetStatus) -> str:
    """Return the translated word for a status."""
    words = {
        TargetStatus.UP: _("up"),
        TargetStatus.DEGRADED: _("degraded"),
        TargetStatus.DOWN: _("down"),
        TargetStatus.PAUSED: _("paused"),
        TargetStatus.UNKNOWN: _("unknown"),
    }
    return words[status]


def status_style(status: TargetStatus, theme_variables: dict[str, str]) -> Style:
    """Return the Rich style of a status from the current theme's variables."""
    bold = status in (TargetStatus.DOWN, TargetStatus.DEGRADED)
    colour = theme_colour(theme_variables, THEME_VARIABLES[status])
    return Style(color=None if colour is None else colour.rich_color, bold=bold)


def theme_colour(theme_variables: dict[str, str], name: str) -> Color | None:
    """Resolve a theme variable to an opaque colour, blending any alpha over the background."""
    try:
        colour = Color.parse(theme_variables[name])
        background = Color.parse(theme_variables.get("background", "black"))
    except (KeyError, ColorParseError):
        return None
    return background + colour if colour.a < 1 else colour


def status_text(status: TargetStatus, theme_variables: dict[str, str]) -> Text:
    """Return the symbol and word of a status, coloured by the theme."""
    return Text(
        f"{SYMBOLS[status]} {status_word(status)}", style=status_style(status, theme_variables)
    )
