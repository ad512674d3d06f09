"""The targets the grid shows and their order: the `/` filter and the `s` sort."""

from collections.abc import Iterable
from enum import StrEnum

from nocwatch_tui.console.model import TargetView
from nocwatch_tui.engine.status import TargetStatus
from nocwatch_tui.i18n import _


class SortKey(StrEnum):
    """A grid order; every order but name puts the worst target first."""

    NAME = "name"
    STATUS = "status"
    LATENCY = "latency"
    P95 = "p95"
    LOSS = "loss"


STATUS_RANK = {
    TargetStatus.DOWN: 0,
    TargetStatus.DEGRADED: 1,
    TargetStatus.UNKNOWN: 2,
    TargetStatus.UP: 3,
    TargetStatus.PAUSED: 4,
}


def next_sort(key: SortKey) -> SortKey:
    """Return the order that follows `key` in the cycle of `s`."""
    keys = list(SortKey)
    return keys[(keys.index(key) + 1) % len(keys)]


def sort_label(key: SortKey) -> str:
    """Return the translated name of an order."""
    labels = {
        SortKey.NAME: _("name"),
        SortKey.STATUS: _("status"),
        SortKey.LATENCY: _("last latency"),
        SortKey.P95: _("p95 latency"),
        SortKey.LOSS: _("loss"),
    }
    return labels[key]


def matches(view: TargetView, query: str) -> bool:
    """Tell whether a target's name, URL or one of its tags contains the query, ignoring case."""
    needle = query.strip().casefold()
    if not needle:
        return True
    target = view.stored.target
    haystacks = [target.name, target.public_url(), *target.tags]
    return any(needle in haystack.casefold() for haystack in haystacks)


def _descending(value: float | None) -> tuple[bool, float]:
    """Sort key that puts large values first and missing ones last."""
    return (value is None, -(value or 0.0))


def ordered(views: Iterable[TargetView], key: SortKey, query: str = "") -> list[TargetView]:
    """Return the views that match `query`, in the order `key`, ties broken by name."""
    visible = sorted(
        (view for view in views if matches(view, query)),
        key=lambda view: view.stored.target.name.casefold(),
    )
    if key is SortKey.STATUS:
        visible.sort(key=lambda view: STATUS_RANK[view.status])
    elif key is SortKey.LATENCY:
        visible.sort(key=lambda view: _descending(view.last.latency_ms if view.last else None))
    elif key is SortKey.P95:
        visible.sort(key=lambda view: _descending(view.p95_ms))
    elif key is SortKey.LOSS:
        visible.sort(key=lambda view: _descending(view.loss_pct))
    return visible
