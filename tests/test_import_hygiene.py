"""The engine package must never load Textual, checked in a fresh interpreter."""

import pkgutil
import subprocess
import sys

import nocwatch_tui.engine
import nocwatch_tui.lab


def engine_modules() -> list[str]:
    modules = []
    for package in (nocwatch_tui.engine, nocwatch_tui.lab):
        modules.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            modules.append(info.name)
    return modules


def test_engine_modules_found() -> None:
    assert "nocwatch_tui.engine.prober" in engine_modules()


def test_engine_does_not_import_textual() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {engine_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_serve_command_does_not_import_textual() -> None:
    code = (
        "import sys\n"
        "import nocwatch_tui.cli\n"
        "import nocwatch_tui.engine.runtime\n"
        "print('textual' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
