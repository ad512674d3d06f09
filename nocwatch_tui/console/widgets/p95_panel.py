"""The p95 panel: targets ranked by window p95, with horizontal bars coloured by threshold."""

from rich.text import Text
from textual.widget import Widget

from nocwatch_tui.console.threshold_style import threshold_style
from nocwatch_tui.console.widgets.grid import format_ms
from nocwatch_tui.console.widgets.panel_rows import PanelRow, PanelRows, fit_name, more_line
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
        self._source = PanelRows(list)
        self._ranked: list[PanelRow] | None = []
        self._window_label = ""

    def show(self, rows: PanelRows, window_label: str) -> None:
        """Replace the targets shown and redraw; they are ranked when next drawn."""
        self._source = rows
        self._ranked = None
        self._window_label = window_label
        self.refresh()

    def _rows(self) -> list[PanelRow]:
        if self._ranked is None:
            self._ranked = sorted(
                self._source.get(), key=lambda row: (_p95(row) is None, -(_p95(row) or 0.0))
            )
        return self._ranked

    def render(self) -> Text:
        width = self.content_size.width
        height = self.content_size.height
        variables = self.app.theme_variables
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(_("p95 latency · {window}").format(window=self._window_label), style="bold")

        rows = self._rows()
        scale = max((_p95(row) or 0.0 for row in rows), default=0.0)
        name_width = max(6, min(16, width // 3))
        bar_width = max(0, width - name_width - VALUE_WIDTH - 2)
        shown = rows
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

        hidden = len(rows) - len(shown)
        if hidden:
            text.append("\n" + more_line(hidden), style="dim")
        return text
