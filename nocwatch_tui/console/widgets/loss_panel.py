"""The loss panel: loss % and availability % per target, coloured by the loss thresholds."""

from rich.text import Text
from textual.widget import Widget

from nocwatch_tui.console.threshold_style import threshold_style
from nocwatch_tui.console.widgets.grid import format_pct
from nocwatch_tui.console.widgets.panel_rows import PanelRow, PanelRows, fit_name, more_line
from nocwatch_tui.i18n import _

VALUE_WIDTH = 8


def _loss(row: PanelRow) -> float | None:
    return None if row.stats is None else row.stats.loss_pct


def _unavailable(row: PanelRow) -> float | None:
    """Return the share of probes that did not pass, which the loss thresholds also judge."""
    if row.stats is None or row.stats.availability_pct is None:
        return None
    return 100.0 - row.stats.availability_pct


class LossPanel(Widget):
    """Lists targets by window loss, worst first, with availability beside it."""

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
                self._source.get(),
                key=lambda row: (
                    _loss(row) is None,
                    -(_loss(row) or 0.0),
                    -(_unavailable(row) or 0.0),
                ),
            )
        return self._ranked

    def render(self) -> Text:
        width = self.content_size.width
        height = self.content_size.height
        variables = self.app.theme_variables
        name_width = max(6, width - 2 * VALUE_WIDTH)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(
            _("Loss · availability · {window}").format(window=self._window_label), style="bold"
        )
        text.append("\n")
        text.append(
            " " * name_width + _("loss").rjust(VALUE_WIDTH) + _("avail").rjust(VALUE_WIDTH),
            style="dim",
        )

        rows = self._rows()
        shown = rows
        if len(shown) > height - 2:
            shown = shown[: max(0, height - 3)]
        for row in shown:
            thresholds = row.thresholds
            loss = _loss(row)
            availability = None if row.stats is None else row.stats.availability_pct
            text.append("\n")
            text.append(Text(fit_name(row.name, name_width)))
            text.append(
                format_pct(loss).rjust(VALUE_WIDTH),
                style=threshold_style(
                    loss, thresholds.loss_warning_pct, thresholds.loss_critical_pct, variables
                ),
            )
            text.append(
                format_pct(availability).rjust(VALUE_WIDTH),
                style=threshold_style(
                    _unavailable(row),
                    thresholds.loss_warning_pct,
                    thresholds.loss_critical_pct,
                    variables,
                ),
            )

        hidden = len(rows) - len(shown)
        if hidden:
            text.append("\n" + more_line(hidden), style="dim")
        return text
