"""The statistics windows an operator can choose, shortest first."""

WINDOWS_S: dict[str, int] = {
    "1m": 60,
    "5m": 5 * 60,
    "15m": 15 * 60,
    "1h": 60 * 60,
    "24h": 24 * 60 * 60,
    "7d": 7 * 24 * 60 * 60,
    "30d": 30 * 24 * 60 * 60,
}
DEFAULT_WINDOW = "15m"


def window_label(window_s: int) -> str:
    """Return the short label of a window length, such as "15m"."""
    for label, seconds in WINDOWS_S.items():
        if seconds == window_s:
            return label
    return f"{window_s}s"
