"""The target detail screen: charts over the window, every statistic and the last errors."""

import asyncio
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from nocwatch_tui.console.detail_data import DetailData, read_detail
from nocwatch_tui.console.stats_feed import refresh_s
from nocwatch_tui.console.status_style import theme_colour
from nocwatch_tui.console.widgets.grid import format_ms, format_pct
from nocwatch_tui.console.widgets.key_footer import KeyFooter
from nocwatch_tui.engine.history import DAY_MS, HOUR_MS, MINUTE_MS, SeriesPoint
from nocwatch_tui.engine.report import iso_utc
from nocwatch_tui.engine.sample import PHASES, ErrorClass
from nocwatch_tui.engine.windows import window_label
from nocwatch_tui.i18n import _

NO_DATA = "—"
WIDE_FROM = 150
"""Terminal width from which the charts and tables sit in a grid instead of one column."""


@dataclass
class DetailRead(Message, bubble=False):
    """A fresh read of the detail screen's target, or None when the target is gone."""

    detail: DetailData | None


def _time_unit(window_s: int) -> tuple[int, str]:
    """Pick the x-axis unit of a window's charts: minutes, hours or days before its end."""
    if window_s <= 60 * 60:
        return MINUTE_MS, _("minutes before now")
    if window_s <= 24 * 60 * 60:
        return HOUR_MS, _("hours before now")
    return DAY_MS, _("days before now")


def suspect_buckets(series: list[SeriesPoint]) -> list[SeriesPoint]:
    """Return the chart buckets with a mean latency and at least one suspect sample."""
    return [point for point in series if point.suspect and point.mean_ms is not None]


def _number(value: float | None, suffix: str = "") -> Text:
    return Text(NO_DATA if value is None else f"{value:.2f}{suffix}", justify="right")


class DetailScreen(Screen[None]):
    """Shows one target over the current window; `escape` goes back to the grid."""

    CSS_PATH = "detail.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE_FROM, "-wide")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", _("Back"), id="detail.back"),
    ]

    def __init__(self, target_id: int) -> None:
        super().__init__()
        self.target_id = target_id
        self.detail: DetailData | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="detail-title")
        with VerticalScroll(id="detail-body"):
            yield PlotextPlot(id="latency-chart", classes="chart")
            yield PlotextPlot(id="distribution-chart", classes="chart")
            yield DataTable[Text](id="stats-table", cursor_type="none", zebra_stripes=True)
            yield PlotextPlot(id="jitter-chart", classes="chart")
            yield PlotextPlot(id="phases-chart", classes="chart")
            yield DataTable[Text](id="errors-table", cursor_type="none", zebra_stripes=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        stats_table = self.query_one("#stats-table", DataTable)
        stats_table.add_column(Text(_("Figure")), key="figure")
        stats_table.add_column(Text(_("Value")), key="value")
        errors_table = self.query_one("#errors-table", DataTable)
        for key, label in (
            ("time", _("Time (UTC)")),
            ("error", _("Error")),
            ("status", _("Status")),
            ("detail", _("Detail")),
        ):
            errors_table.add_column(Text(label), key=key)
        self.watch(self.app, "window_s", self._start_reading, init=False)
        self._start_reading()

    # Reading

    def _start_reading(self) -> None:
        self.run_worker(self._read_loop(), exclusive=True, group="detail", name="detail")

    async def _read_loop(self) -> None:
        from nocwatch_tui.console.app import NocWatchApp

        app = self.app
        assert isinstance(app, NocWatchApp)
        window_s = app.window_s
        while True:
            detail = await read_detail(
                app.store, self.target_id, window_s, app.clock(), app.settings.retention.raw_days
            )
            self.post_message(DetailRead(detail))
            await asyncio.sleep(refresh_s(window_s))

    @on(DetailRead)
    def _detail_read(self, message: DetailRead) -> None:
        self.detail = message.detail
        if message.detail is None:
            self.query_one("#detail-title", Static).update(Text(_("This target was deleted.")))
            return
        self._show_title(message.detail)
        self._show_latency(message.detail)
        self._show_distribution(message.detail)
        self._show_jitter(message.detail)
        self._show_phases(message.detail)
        self._show_statistics(message.detail)
        self._show_errors(message.detail)

    # Drawing

    def _colour(self, name: str) -> tuple[int, int, int] | None:
        colour = theme_colour(self.app.theme_variables, name)
        return None if colour is None else colour.rgb

    def _x(self, detail: DetailData, start_ms: int) -> float:
        unit_ms, _label = _time_unit(detail.window_s)
        return (start_ms + detail.bucket_ms / 2 - detail.until_ms) / unit_ms

    def _prepare(self, chart_id: str, title: str, detail: DetailData) -> PlotextPlot:
        chart = self.query_one(f"#{chart_id}", PlotextPlot)
        plt = chart.plt
        plt.clear_figure()
        plt.title(title)
        unit_ms, label = _time_unit(detail.window_s)
        plt.xlabel(label)
        plt.xlim(-detail.window_s * 1000 / unit_ms, 0)
        return chart

    def _show_title(self, detail: DetailData) -> None:
        target = detail.stored.target
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(target.name, style="bold")
        line.append(f"  {target.public_url()}  ")
        line.append(_("window {window}").format(window=window_label(detail.window_s)))
        line.append("  " + _("coverage {pct}").format(pct=format_pct(detail.coverage_pct)))
        self.query_one("#detail-title", Static).update(line)

    def _show_latency(self, detail: DetailData) -> None:
        p95 = detail.stats.latency_p95_ms
        title = _("Latency ms (mean per bucket) and p95 {p95}").format(p95=format_ms(p95))
        chart = self._prepare("latency-chart", title, detail)
        points = [point for point in detail.series if point.mean_ms is not None]
        if points:
            chart.plt.plot(
                [self._x(detail, point.start_ms) for point in points],
                [point.mean_ms for point in points],
                color=self._colour("primary"),
            )
        if p95 is not None:
            chart.plt.hline(p95, color=self._colour("warning"))
        suspect = suspect_buckets(detail.series)
        if suspect:
            chart.plt.scatter(
                [self._x(detail, point.start_ms) for point in suspect],
                [point.mean_ms for point in suspect],
                color=self._colour("warning"),
                marker="x",
                label=_("suspect"),
            )
        chart.refresh()

    def _show_distribution(self, detail: DetailData) -> None:
        title = _("Latency ms: median and p5–p95 band per bucket")
        chart = self._prepare("distribution-chart", title, detail)
        points = [point for point in detail.series if point.p50_ms is not None]
        band = self._colour("foreground-muted")
        for point in points:
            x = self._x(detail, point.start_ms)
            chart.plt.plot([x, x], [point.p5_ms, point.p95_ms], color=band)
        if points:
            chart.plt.plot(
                [self._x(detail, point.start_ms) for point in points],
                [point.p50_ms for point in points],
                color=self._colour("primary"),
            )
        chart.refresh()

    def _show_jitter(self, detail: DetailData) -> None:
        jitter = format_ms(detail.stats.jitter_ms)
        chart = self._prepare(
            "jitter-chart", _("Jitter ms per bucket, window {jitter}").format(jitter=jitter), detail
        )
        points = [point for point in detail.series if point.jitter_ms is not None]
        if points:
            chart.plt.plot(
                [self._x(detail, point.start_ms) for point in points],
                [point.jitter_ms for point in points],
                color=self._colour("accent"),
            )
        chart.refresh()

    def _show_phases(self, detail: DetailData) -> None:
        chart = self.query_one("#phases-chart", PlotextPlot)
        plt = chart.plt
        plt.clear_figure()
        plt.title(_("Phases ms: last probe and window medians"))
        last: dict[str, float | None] = {}
        if detail.last is not None and detail.last.passed:
            sample = detail.last
            durations = (
                sample.dns_ms,
                sample.connect_ms,
                sample.tls_ms,
                sample.ttfb_ms,
                sample.transfer_ms,
            )
            last = dict(zip(PHASES, durations, strict=True))
        medians = detail.stats.phases_p50_ms
        series = [[last.get(phase) or 0.0, medians.get(phase) or 0.0] for phase in PHASES]
        if any(value for pair in series for value in pair):
            # plotext takes `labels` here; the stub of textual-plotext names it `label`.
            plt.stacked_bar(  # type: ignore[call-arg]
                [_("last"), _("median")],
                series,
                labels=list(PHASES),
                orientation="horizontal",
            )
        chart.refresh()

    def _show_statistics(self, detail: DetailData) -> None:
        stats = detail.stats
        rows: list[tuple[str, Text]] = [
            (_("samples"), Text(str(stats.samples), justify="right")),
            (_("responses"), Text(str(stats.responses), justify="right")),
            (_("passed"), Text(str(stats.passed), justify="right")),
            (_("suspect samples"), Text(str(stats.suspect_samples), justify="right")),
            (_("loss"), _number(stats.loss_pct, " %")),
            (_("availability"), _number(stats.availability_pct, " %")),
            (_("coverage"), _number(detail.coverage_pct, " %")),
            (_("latency mean"), _number(stats.latency_mean_ms, " ms")),
            (_("latency min"), _number(stats.latency_min_ms, " ms")),
            (_("latency max"), _number(stats.latency_max_ms, " ms")),
            (_("latency p50"), _number(stats.latency_p50_ms, " ms")),
            (_("latency p95"), _number(stats.latency_p95_ms, " ms")),
            (_("latency p99"), _number(stats.latency_p99_ms, " ms")),
            (_("jitter"), _number(stats.jitter_ms, " ms")),
            (_("jitter RFC 3550"), _number(stats.jitter_rfc3550_ms, " ms")),
        ]
        rows += [
            (_("{phase} p50").format(phase=phase), _number(stats.phases_p50_ms.get(phase), " ms"))
            for phase in PHASES
        ]
        rows += [
            (
                _("errors {error}").format(error=error.value),
                Text(str(stats.errors.get(error.value, 0)), justify="right"),
            )
            for error in ErrorClass
        ]
        rows.append((_("last error"), Text(stats.last_error or NO_DATA, justify="right")))
        rows.append(
            (_("last sample"), Text(iso_utc(stats.last_sample_at_ms) or NO_DATA, justify="right"))
        )
        table = self.query_one("#stats-table", DataTable)
        table.clear()
        for label, value in rows:
            table.add_row(Text(label), value)

    def _show_errors(self, detail: DetailData) -> None:
        table = self.query_one("#errors-table", DataTable)
        table.clear()
        for record in detail.errors:
            table.add_row(
                Text(iso_utc(record.started_at_ms) or NO_DATA),
                Text(record.error),
                Text(NO_DATA if record.status_code is None else str(record.status_code)),
                Text(record.error_detail or "", no_wrap=True, overflow="ellipsis"),
            )
        if not detail.errors:
            table.add_row(Text(_("no errors")), Text(""), Text(""), Text(""))
