"""Local HTTP/1.1 servers with scripted behaviour, so that demos and tests measure real traffic.

Nothing in this package imports Textual.
"""

from nocwatch_tui.lab.behaviours import ALL_SERVERS, DEMO_SERVERS
from nocwatch_tui.lab.lab import Lab
from nocwatch_tui.lab.serve import serve_lab

__all__ = ["ALL_SERVERS", "DEMO_SERVERS", "Lab", "serve_lab"]
