"""Build hook: the wheel carries the top-level `themes/` folder as `nocwatch_tui/themes/`.

Everything else about the package is declared in pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

THEMES_SOURCE = Path(__file__).parent / "themes"


class BuildPyWithThemes(build_py):
    """Copy the shipped theme files into the built package."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "nocwatch_tui" / "themes"
        self.mkpath(str(target))
        for theme in sorted(THEMES_SOURCE.glob("*.toml")):
            self.copy_file(str(theme), str(target / theme.name))


setup(cmdclass={"build_py": BuildPyWithThemes})
