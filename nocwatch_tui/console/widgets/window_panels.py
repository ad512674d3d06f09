"""The p95 and loss panels side by side (narrow terminals) or stacked beside the grid (wide)."""

from collections.abc import Callable, Iterable

from textual.app import ComposeResult
from textual.containers import Container

from nocwatch_tui.console.model import TargetView
from nocwatch_tui.console.widgets.loss_panel import LossPanel
from nocwatch_tui.console.widgets.p95_panel import P95Panel
from nocwatch_tui.console.widgets.panel_rows import PanelRow, PanelRows
from nocwatch_tui.engine.settings import ThresholdSettings
from nocwatch_tui.engine.thresholds import effective_thresholds


class WindowPanels(Container):
    """Holds the p95 panel and the loss panel, which both follow the current window.

    The rows are built and ranked when a panel is drawn, not when the figures
    arrive: Textual draws only panels on screen, so while the panels are hidden
    thousands of targets cost nothing here.
    """

    def compose(self) -> ComposeResult:
        yield P95Panel(id="p95-panel")
        yield LossPanel(id="loss-panel")

    def show(
        self,
        views: Callable[[], Iterable[TargetView]],
        defaults: ThresholdSettings,
        window_label: str,
    ) -> None:
        """Redraw both panels from the targets' current window statistics.

        `views` returns the targets in the grid's filter, by name; it is called
        at most once, when a panel is next drawn.
        """

        def build() -> list[PanelRow]:
            return [
                PanelRow(
                    view.stored.target.name,
                    view.stats,
                    effective_thresholds(view.stored.target, defaults),
                )
                for view in views()
            ]

        rows = PanelRows(build)
        self.query_one(P95Panel).show(rows, window_label)
        self.query_one(LossPanel).show(rows, window_label)
