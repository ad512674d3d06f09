"""Entry point for `python -m nocwatch_tui`."""

import sys

from nocwatch_tui.cli import main

sys.exit(main())
