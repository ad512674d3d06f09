"""The p95 panel: targets ranked by window p95, with horizontal bars coloured by threshold."""

from rich.text import Text
from textual.widget import Widget

from nocwatch_tui.console.threshold_style import threshold_style
from nocwatch_tui.console.widgets.grid import format_ms
from nocwatch_tui.console.widgets.panel_rows import PanelRow, fit_name, more_line
from nocwatch_tui.i18n import _

EIGHTHS = " ▏▎▍▌▋▊▉"
VALUE_WIDTH = 8


def bar(value: float, scale: float, width: int) -> str:
    """Draw a horizontal bar of `value` out of `scale`, `width` cells long at most, in eighths."""
    if width <= 0 or scale <= 0:
        return ""
    eighths = round(min(1.0, max(0.0, value / scale)) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[part] if part else "")).ljust(width)


def _p95(row: PanelRow) -> float | None:
    return None if row.stats is None else row.stats.latency_p95_ms


class P95Panel(Widget):
    """Ranks targets by window p95, worst first; targets without latency come last."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows: list[PanelRow] = []
        self._window_label = ""

    def show(self, rows: list[PanelRow], window_label: str) -> None:
        """Replace the targets shown and redraw."""
        self._rows = sorted(rows, key=lambda row: (_p95(row) is None, -(_p95(row) or 0.0)))
        self._window_label = window_label
        self.refresh()

    def render(self) -> Text:
        width = self.content_size.width
        height = self.content_size.height
        variables = self.app.theme_variables
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(_("p95 latency · {window}").format(window=self._window_label), style="bold")

        scale = max((_p95(row) or 0.0 for row in self._rows), default=0.0)
        name_width = max(6, min(16, width // 3))
        bar_width = max(0, width - name_width - VALUE_WIDTH - 2)
        shown = self._rows
        if len(shown) > height - 1:
            shown = shown[: max(0, height - 2)]
        for row in shown:
            p95 = _p95(row)
            style = threshold_style(
                p95,
                row.thresholds.latency_p95_warning_ms,
                row.thresholds.latency_p95_critical_ms,
                variables,
            )
            text.append("\n")
            text.append(Text(fit_name(row.name, name_width)))
            text.append(" ")
            text.append(bar(p95 or 0.0, scale, bar_width), style=style)
            text.append(" ")
            text.append(format_ms(p95).rjust(VALUE_WIDTH), style=style)

        hidden = len(self._rows) - len(shown)
        if hidden:
            text.append("\n" + more_line(hidden), style="dim")
        return text
