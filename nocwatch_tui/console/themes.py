"""Theme files: TOML validated with pydantic and turned into Textual themes.

The shipped themes are in the repository's top-level `themes/` folder, which
the wheel contains as `nocwatch_tui/themes/`. Users add their own files to
`$XDG_CONFIG_HOME/nocwatch/themes/`. A broken file is reported by name and
field and skipped, so the console falls back to a theme that works.
"""

import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from textual.color import Color, ColorParseError
from textual.theme import Theme

from nocwatch_tui.engine.settings import ConsoleSettings
from nocwatch_tui.i18n import _

log = logging.getLogger("nocwatch.console.themes")

DEFAULT_THEME = "noc-dark"
NO_COLOR_THEME = "mono"
THEME_SUFFIX = ".toml"


class ThemeFileError(Exception):
    """A theme file that cannot be read or does not validate."""


def _colour(value: str) -> str:
    try:
        Color.parse(value)
    except ColorParseError:
        raise ValueError(_("not a colour: {value!r}").format(value=value)) from None
    return value


class ThemeFile(BaseModel):
    """The fields of a theme file: the colours from which Textual derives its palette."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    """Name shown in the command palette and given to `--theme`."""
    dark: bool = True
    """Whether the theme is dark, which decides how Textual derives shades."""
    primary: str
    """Main colour of focused widgets, borders and titles."""
    secondary: str | None = None
    """Second accent colour, also used for muted targets."""
    accent: str | None = None
    """Colour that draws the eye to small details."""
    foreground: str | None = None
    """Default text colour."""
    background: str | None = None
    """Screen background."""
    surface: str | None = None
    """Background of widgets such as the grid and the wall tiles."""
    panel: str | None = None
    """Background of bars and panels."""
    boost: str | None = None
    """Colour layered over a background to lift it."""
    success: str | None = None
    """Colour of targets that are up."""
    warning: str | None = None
    """Colour of degraded targets and warning incidents."""
    error: str | None = None
    """Colour of targets that are down and critical incidents."""
    variables: dict[str, str] = Field(default_factory=dict)
    """Further Textual theme variables, such as `footer-key-foreground`."""

    @field_validator(
        "primary",
        "secondary",
        "accent",
        "foreground",
        "background",
        "surface",
        "panel",
        "boost",
        "success",
        "warning",
        "error",
    )
    @classmethod
    def _is_colour(cls, value: str | None) -> str | None:
        return None if value is None else _colour(value)

    def to_theme(self) -> Theme:
        """Return the Textual theme this file describes."""
        return Theme(
            name=self.name,
            primary=self.primary,
            secondary=self.secondary,
            accent=self.accent,
            foreground=self.foreground,
            background=self.background,
            surface=self.surface,
            panel=self.panel,
            boost=self.boost,
            success=self.success,
            warning=self.warning,
            error=self.error,
            dark=self.dark,
            variables=dict(self.variables),
        )


def load_theme_file(path: Path) -> Theme:
    """Read and validate one theme file, naming the file and the field on failure."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ThemeFileError(
            _("{path}: cannot be read: {error}").format(path=path, error=error)
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ThemeFileError(
            _("{path}: invalid TOML: {reason}").format(path=path, reason=error)
        ) from None

    try:
        return ThemeFile.model_validate(data).to_theme()
    except ValidationError as error:
        detail = error.errors(include_url=False)[0]
        location = ".".join(str(part) for part in detail["loc"]) or "(top)"
        message = str(detail["msg"]).removeprefix("Value error, ")
        raise ThemeFileError(
            _("{path}: field {field}: {message}").format(path=path, field=location, message=message)
        ) from None


def shipped_themes_dir() -> Path:
    """Return the folder of the shipped themes, installed or in a source checkout."""
    installed = Path(str(resources.files("nocwatch_tui") / "themes"))
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[2] / "themes"


def user_themes_dir() -> Path:
    """Return the folder of the user's own themes."""
    return platformdirs.user_config_path("nocwatch") / "themes"


@dataclass
class ThemeSet:
    """The themes that loaded, by name, and one message per file that did not."""

    themes: dict[str, Theme] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    broken_names: set[str] = field(default_factory=set)


def load_themes(folders: list[Path]) -> ThemeSet:
    """Load every theme file of the folders in order; a later file replaces a same-named one."""
    loaded = ThemeSet()
    for folder in folders:
        for path in sorted(folder.glob(f"*{THEME_SUFFIX}")):
            try:
                theme = load_theme_file(path)
            except ThemeFileError as error:
                log.warning("theme file skipped: %s", error)
                loaded.problems.append(str(error))
                loaded.broken_names.add(path.stem)
                continue
            loaded.themes[theme.name] = theme
    return loaded


def default_theme_folders() -> list[Path]:
    """Return the shipped themes folder, then the user's."""
    return [shipped_themes_dir(), user_themes_dir()]


def initial_theme(
    requested: str | None, console: ConsoleSettings, environ: Mapping[str, str]
) -> str:
    """Choose the starting theme: `--theme`, the settings file, NO_COLOR, then the default.

    Following no-color.org, an explicit choice wins over a non-empty NO_COLOR.
    """
    if requested:
        return requested
    if "theme" in console.model_fields_set:
        return console.theme
    if environ.get("NO_COLOR"):
        return NO_COLOR_THEME
    return console.theme
