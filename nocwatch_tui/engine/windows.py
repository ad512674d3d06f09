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


def step_window(window_s: int, step: int) -> int:
    """Return the window `step` places longer (or shorter, if negative), within the list."""
    lengths = sorted(WINDOWS_S.values())
    if window_s not in lengths:
        return WINDOWS_S[DEFAULT_WINDOW]
    index = min(len(lengths) - 1, max(0, lengths.index(window_s) + step))
    return lengths[index]
