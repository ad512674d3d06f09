"""Percentiles by linear interpolation between closest ranks (Hyndman-Fan type 7).

Type 7 is numpy's default and `statistics.quantiles(method="inclusive")`, so the
figures shown here match what an operator gets from those tools on the same samples.
"""

import math
from collections.abc import Iterable, Sequence


def _validate_q(q: float) -> None:
    """Raise ValueError for a percentile rank outside [0, 100], because it has no meaning."""
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"invalid percentile {q!r}: expected a value from 0 to 100")


def _percentile_of_sorted(sorted_values: Sequence[float], q: float) -> float:
    """Interpolate the q-th percentile of non-empty ascending values, so callers sort once."""
    rank = (len(sorted_values) - 1) * q / 100.0
    lower_index = math.floor(rank)
    fraction = rank - lower_index
    lower = sorted_values[lower_index]
    if fraction == 0.0 or lower_index + 1 >= len(sorted_values):
        return lower

    upper = sorted_values[lower_index + 1]
    if upper == lower:
        return lower

    # The clamp keeps the result between its two neighbours whatever the rounding,
    # so every percentile stays within [min, max] and never decreases as q grows.
    value = lower + (upper - lower) * fraction
    return min(max(value, lower), upper)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Compute the q-th percentile (q from 0 to 100) of unsorted values, or None when empty.

    Raises ValueError when q is outside [0, 100], even for empty values.
    The values must not contain NaN, which has no place in an ordering.
    """
    _validate_q(q)
    if not values:
        return None

    return _percentile_of_sorted(sorted(values), q)


def percentiles(values: Sequence[float], qs: Iterable[float]) -> dict[float, float | None]:
    """Compute several percentiles of the same values with a single sort.

    The result maps each requested q to its percentile, or to None when values is
    empty. Raises ValueError when any q is outside [0, 100].
    """
    requested = list(qs)
    for q in requested:
        _validate_q(q)

    if not values:
        return dict.fromkeys(requested)

    sorted_values = sorted(values)
    return {q: _percentile_of_sorted(sorted_values, q) for q in requested}
