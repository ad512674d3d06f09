"""Theme files, the choice of the starting theme, status styles and the keymap."""

import io
import logging
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from rich.console import Console
from textual.widget import Widget

from nocwatch_tui.console.app import NocWatchApp
from nocwatch_tui.console.launch import ConsoleLookError, check_console_look
from nocwatch_tui.console.screens.main import MainScreen
from nocwatch_tui.console.screens.wall import WallScreen
from nocwatch_tui.console.status_style import (
    SYMBOLS,
    DisplayStatus,
    status_style,
    status_text,
    status_word,
)
from nocwatch_tui.console.themes import (
    ThemeFileError,
    initial_theme,
    load_theme_file,
    load_themes,
    shipped_themes_dir,
)
from nocwatch_tui.console.widgets.grid import TargetGrid
from nocwatch_tui.engine.settings import ConsoleSettings, Settings

from conftest import run_nocwatch, wait_for
from console_data import make_console_database

SHIPPED = {"noc-dark", "noc-light", "wall", "mono"}
GOOD_THEME = 'name = "mine"\nprimary = "#336699"\n'


def toasts(app: NocWatchApp) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query("Toast")]


def rendered_text(widget: Widget) -> str:
    """Return a widget's rendering as plain text."""
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(widget.render())
    return console.export_text()


@pytest.fixture
def console_db(tmp_path: Path) -> Path:
    return make_console_database(tmp_path / "console.db")


@pytest.fixture
def user_themes(tmp_path: Path) -> Path:
    folder = tmp_path / "user-themes"
    folder.mkdir()
    return folder


def test_shipped_themes_load() -> None:
    loaded = load_themes([shipped_themes_dir()])
    assert set(loaded.themes) == SHIPPED
    assert loaded.problems == []


def test_user_theme_loads(user_themes: Path) -> None:
    (user_themes / "mine.toml").write_text(GOOD_THEME)
    loaded = load_themes([shipped_themes_dir(), user_themes])
    assert set(loaded.themes) == {*SHIPPED, "mine"}


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('name = "mine"\nprimary = "not-a-colour"\n', "primary"),
        ('name = "mine"\n', "primary"),
        ('name = "mine"\nprimary = "#336699"\nshade = "#000000"\n', "shade"),
        ('name = "Mine Theme"\nprimary = "#336699"\n', "name"),
    ],
)
def test_broken_theme_names_file_and_field(user_themes: Path, text: str, field: str) -> None:
    path = user_themes / "mine.toml"
    path.write_text(text)
    with pytest.raises(ThemeFileError) as caught:
        load_theme_file(path)
    assert str(path) in str(caught.value)
    assert f"field {field}:" in str(caught.value)


def test_invalid_toml_theme_named(user_themes: Path) -> None:
    path = user_themes / "mine.toml"
    path.write_text("name = \n")
    with pytest.raises(ThemeFileError, match="invalid TOML"):
        load_theme_file(path)


def test_broken_theme_skipped_and_logged(user_themes: Path, caplog) -> None:
    (user_themes / "mine.toml").write_text('name = "mine"\nprimary = "nope"\n')
    with caplog.at_level(logging.WARNING, logger="nocwatch.console.themes"):
        loaded = load_themes([shipped_themes_dir(), user_themes])
    assert "mine" not in loaded.themes
    assert "mine.toml" in caplog.text


async def test_broken_theme_falls_back_with_notification(
    console_db: Path, user_themes: Path
) -> None:
    path = user_themes / "mine.toml"
    path.write_text('name = "mine"\nprimary = "nope"\n')
    app = NocWatchApp(console_db, theme="mine", theme_folders=[shipped_themes_dir(), user_themes])
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        assert await wait_for(pilot, lambda: any(str(path) in text for text in toasts(app)))
        assert app.theme == "noc-dark"
        assert any("field primary" in text for text in toasts(app))


async def test_shipped_theme_registered_and_chosen(console_db: Path) -> None:
    app = NocWatchApp(console_db, theme="wall", theme_folders=[shipped_themes_dir()])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "wall"
        assert set(app.available_themes) >= SHIPPED


def test_no_color_selects_mono() -> None:
    assert initial_theme(None, ConsoleSettings(), {"NO_COLOR": "1"}) == "mono"


def test_empty_no_color_is_ignored() -> None:
    assert initial_theme(None, ConsoleSettings(), {"NO_COLOR": ""}) == "noc-dark"


def test_theme_option_wins_over_no_color() -> None:
    assert initial_theme("wall", ConsoleSettings(), {"NO_COLOR": "1"}) == "wall"


def test_settings_theme_wins_over_no_color() -> None:
    console = ConsoleSettings(theme="noc-light")
    assert initial_theme(None, console, {"NO_COLOR": "1"}) == "noc-light"


def test_theme_option_wins_over_settings() -> None:
    assert initial_theme("wall", ConsoleSettings(theme="noc-light"), {}) == "wall"


def test_unknown_theme_rejected_before_start(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    with pytest.raises(ConsoleLookError, match="'nope' not found"):
        check_console_look("nope", Settings(), {})


def test_broken_user_theme_accepted_before_start(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    folder = tmp_path / "nocwatch" / "themes"
    folder.mkdir(parents=True)
    (folder / "mine.toml").write_text('name = "mine"\nprimary = "nope"\n')
    assert check_console_look("mine", Settings(), {}).theme == "mine"


def test_unknown_theme_option_exits_2(tmp_path: Path) -> None:
    result = run_nocwatch("--db", str(tmp_path / "x.db"), "--theme", "nope")
    assert result.returncode == 2
    assert "theme 'nope' not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_keymap_id_exits_2(tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('[keymap]\nteleport = "t"\n')
    result = run_nocwatch("--db", str(tmp_path / "x.db"), "--settings", str(settings))
    assert result.returncode == 2
    assert "keymap: no binding has the id 'teleport'" in result.stderr
    assert "wall" in result.stderr


async def test_remapped_key_enters_wall(console_db: Path) -> None:
    settings = Settings(keymap={"wall": "v"})
    app = NocWatchApp(console_db, settings=settings, theme_folders=[shipped_themes_dir()])
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        await pilot.press("v")
        assert await wait_for(pilot, lambda: isinstance(app.screen, WallScreen))


async def test_active_bindings_show_remapped_key(console_db: Path) -> None:
    settings = Settings(keymap={"wall": "v", "quit": "x"})
    app = NocWatchApp(console_db, settings=settings, theme_folders=[shipped_themes_dir()])
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        keys = {active.binding.action: key for key, active in app.screen.active_bindings.items()}
        assert keys["wall"] == "v"
        assert keys["quit"] == "x"


async def test_help_panel_shows_remapped_key(console_db: Path) -> None:
    settings = Settings(keymap={"wall": "v"})
    app = NocWatchApp(console_db, settings=settings, theme_folders=[shipped_themes_dir()])
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.press("question_mark")
        assert await wait_for(pilot, lambda: bool(app.screen.query("HelpPanel")))
        table = app.screen.query_one("BindingsTable")
        assert await wait_for(pilot, lambda: "Wall" in rendered_text(table))
        wall_line = next(line for line in rendered_text(table).splitlines() if "Wall" in line)
        assert wall_line.split()[0] == "v"


def test_status_symbols_and_words_distinct() -> None:
    assert len({SYMBOLS[status] for status in DisplayStatus}) == len(DisplayStatus)
    assert len({status_word(status) for status in DisplayStatus}) == len(DisplayStatus)


def test_muted_status_symbol_word_italic() -> None:
    variables = {"secondary": "#9d8fe0", "background": "#000000"}
    assert str(status_text(DisplayStatus.MUTED, variables)) == "◇ muted"
    assert status_style(DisplayStatus.MUTED, variables).italic


def test_down_status_bold() -> None:
    assert status_style(DisplayStatus.DOWN, {}).bold


def test_status_style_missing_variable_no_colour() -> None:
    assert status_style(DisplayStatus.UP, {}).color is None


def test_wheel_contains_shipped_themes(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(root),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    wheel = next(tmp_path.glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for theme in SHIPPED:
        assert f"nocwatch_tui/themes/{theme}.toml" in names


async def test_theme_switch_recolours_the_grid(console_db: Path) -> None:
    app = NocWatchApp(console_db, theme="noc-dark", theme_folders=[shipped_themes_dir()])
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.screen.query_one(TargetGrid)

        def down_colour() -> str:
            down_row = next(key for key in grid.rows if str(grid.get_row(key)[1]) == "down")
            return str(grid.get_row(down_row)[0].style)

        def down_row_text() -> str:
            down_row = next(key for key in grid.rows if str(grid.get_row(key)[1]) == "down")
            return str(grid.get_row(down_row)[0])

        assert await wait_for(pilot, lambda: grid.row_count == 5)
        # The status comes from the open incidents, which the feed reads after the rows.
        assert await wait_for(pilot, lambda: down_row_text() == "✖ down")
        dark = down_colour()
        app.theme = "noc-light"
        assert await wait_for(pilot, lambda: down_colour() != dark)
        assert down_colour() == str(status_style(DisplayStatus.DOWN, app.theme_variables))


async def test_unknown_keymap_id_notified(console_db: Path) -> None:
    settings = Settings(keymap={"teleport": "t", "wall": "v"})
    app = NocWatchApp(console_db, settings=settings, theme_folders=[shipped_themes_dir()])
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        assert await wait_for(pilot, lambda: any("'teleport'" in text for text in toasts(app)))
        keys = {active.binding.action: key for key, active in app.screen.active_bindings.items()}
        assert keys["wall"] == "v"
