"""The p95 and loss panels side by side (narrow terminals) or stacked beside the grid (wide)."""

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.containers import Container

from nocwatch_tui.console.model import TargetView
from nocwatch_tui.console.widgets.loss_panel import LossPanel
from nocwatch_tui.console.widgets.p95_panel import P95Panel
from nocwatch_tui.console.widgets.panel_rows import PanelRow
from nocwatch_tui.engine.settings import ThresholdSettings
from nocwatch_tui.engine.thresholds import effective_thresholds


class WindowPanels(Container):
    """Holds the p95 panel and the loss panel, which both follow the current window."""

    def compose(self) -> ComposeResult:
        yield P95Panel(id="p95-panel")
        yield LossPanel(id="loss-panel")

    def show(
        self, views: Iterable[TargetView], defaults: ThresholdSettings, window_label: str
    ) -> None:
        """Redraw both panels from the targets' current window statistics."""
        rows = [
            PanelRow(
                view.stored.target.name,
                view.stats,
                effective_thresholds(view.stored.target, defaults),
            )
            for view in views
        ]
        self.query_one(P95Panel).show(rows, window_label)
        self.query_one(LossPanel).show(rows, window_label)
