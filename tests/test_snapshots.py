"""Snapshots of the main screen (grid and incident log) and the wall display.

Every shipped theme at 80x24 and 200x50, and noc-dark at 256 and 16 colours.
"""

from collections.abc import Sequence
from pathlib import Path

import pytest
from rich.color import ColorSystem
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import LineFilter
from textual.pilot import Pilot
from textual.widgets import Digits

from nocwatch_tui.console import app as app_module
from nocwatch_tui.console.app import NocWatchApp
from nocwatch_tui.console.screens.wall import WallScreen
from nocwatch_tui.console.themes import shipped_themes_dir
from nocwatch_tui.console.widgets.grid import TargetGrid
from nocwatch_tui.console.widgets.incident_log import IncidentTable
from nocwatch_tui.console.widgets.wall_tile import WallTile

from console_data import make_console_database

SHIPPED_THEMES = ["noc-dark", "noc-light", "wall", "mono"]
SIZES = [(80, 24), (200, 50)]


class ReducedColours(LineFilter):
    """Reduce every colour to a smaller palette, as Textual's driver does for the terminal."""

    def __init__(self, system: ColorSystem) -> None:
        super().__init__()
        self.system = system

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [Segment(text, self._reduce(style), control) for text, style, control in segments]

    def _reduce(self, style: Style | None) -> Style | None:
        if style is None:
            return None
        colour = style.color.downgrade(self.system) if style.color else None
        bgcolour = style.bgcolor.downgrade(self.system) if style.bgcolor else None
        return style + Style.from_color(colour, bgcolour)


class SixteenColourApp(NocWatchApp):
    """The console as a 16-colour terminal shows it (`TERM=screen`, no `COLORTERM`)."""

    # A relative CSS_PATH is read beside the subclass's module, so name the app's file.
    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))

    def get_line_filters(self) -> Sequence[LineFilter]:
        return [*super().get_line_filters(), ReducedColours(ColorSystem.STANDARD)]


class EightBitColourApp(SixteenColourApp):
    """The console as a 256-colour terminal shows it (`TERM=xterm-256color`, no `COLORTERM`)."""

    def get_line_filters(self) -> Sequence[LineFilter]:
        return [*NocWatchApp.get_line_filters(self), ReducedColours(ColorSystem.EIGHT_BIT)]


@pytest.fixture
def snapshot_db(tmp_path: Path) -> Path:
    """Return a fresh database, so incident durations match the snapshots."""
    return make_console_database(tmp_path / "console.db")


async def main_loaded(pilot: Pilot[None]) -> None:
    """Wait until the grid shows every target with samples and the log every incident."""
    for _attempt in range(50):
        grid = pilot.app.screen.query(TargetGrid)
        log = pilot.app.screen.query(IncidentTable)
        if (
            grid
            and log
            and grid.first().row_count == 5
            and "22 ms" in str(grid.first().get_row_at(4))
            and log.first().row_count == 3
        ):
            return
        await pilot.pause(0.1)
    raise AssertionError("the main screen did not load")


async def wall_loaded(pilot: Pilot[None]) -> None:
    for _attempt in range(50):
        if steady_latency_on_wall(pilot.app) == "22" and down_tile_critical(pilot.app):
            return
        await pilot.pause(0.1)
    raise AssertionError("the wall display did not load")


def steady_latency_on_wall(app: object) -> str | None:
    """Return the digits of the `steady` tile, or None while the wall is not showing it."""
    assert isinstance(app, NocWatchApp)
    if not isinstance(app.screen, WallScreen):
        return None
    for tile in app.screen.query(WallTile):
        if tile.display and tile.target_name == "steady":
            return tile.query_one(Digits).value
    return None


def down_tile_critical(app: object) -> bool:
    """Tell whether the `down` tile shows its critical incident."""
    assert isinstance(app, NocWatchApp)
    return any(
        tile.target_name == "down" and tile.has_class("-critical")
        for tile in app.screen.query(WallTile)
    )


def _app(db: Path, theme: str, *, wall: bool = False, colours: int = 0) -> NocWatchApp:
    app_classes = {16: SixteenColourApp, 256: EightBitColourApp}
    app_class = app_classes.get(colours, NocWatchApp)
    return app_class(db, theme=theme, wall=wall, theme_folders=[shipped_themes_dir()])


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("theme", SHIPPED_THEMES)
def test_main_screen(snapshot_db: Path, snap_compare, theme: str, size: tuple[int, int]) -> None:
    app = _app(snapshot_db, theme)
    assert snap_compare(app, terminal_size=size, run_before=main_loaded)


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("theme", SHIPPED_THEMES)
def test_wall(snapshot_db: Path, snap_compare, theme: str, size: tuple[int, int]) -> None:
    app = _app(snapshot_db, theme, wall=True)
    assert snap_compare(app, terminal_size=size, run_before=wall_loaded)


def test_main_screen_16_colours(snapshot_db: Path, snap_compare) -> None:
    app = _app(snapshot_db, "noc-dark", colours=16)
    assert snap_compare(app, terminal_size=(80, 24), run_before=main_loaded)


def test_wall_16_colours(snapshot_db: Path, snap_compare) -> None:
    app = _app(snapshot_db, "noc-dark", wall=True, colours=16)
    assert snap_compare(app, terminal_size=(80, 24), run_before=wall_loaded)


def test_main_screen_256_colours(snapshot_db: Path, snap_compare) -> None:
    app = _app(snapshot_db, "noc-dark", colours=256)
    assert snap_compare(app, terminal_size=(80, 24), run_before=main_loaded)


def test_wall_256_colours(snapshot_db: Path, snap_compare) -> None:
    app = _app(snapshot_db, "noc-dark", wall=True, colours=256)
    assert snap_compare(app, terminal_size=(80, 24), run_before=wall_loaded)
