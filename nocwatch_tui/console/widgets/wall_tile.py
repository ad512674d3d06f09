"""One target on the wall display: status, name, latency digits, sparkline and open incident."""

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Digits, Static

from nocwatch_tui.console.incident_text import incident_line
from nocwatch_tui.console.model import TargetView
from nocwatch_tui.console.sparkline import FAILURE_MARK, sparkline_rows
from nocwatch_tui.console.status_style import DisplayStatus, status_text, theme_colour
from nocwatch_tui.console.widgets.grid import format_pct
from nocwatch_tui.engine.incidents import Incident, Severity
from nocwatch_tui.i18n import _

# Digits has no em dash; its minus sign is drawn as a wide bar that reads as one.
DIGITS_NO_DATA = "-"
STATUS_CLASSES: dict[str, str] = {status: f"-{status}" for status in DisplayStatus}
SEVERITY_CLASSES: dict[str, str] = {severity: f"-{severity}" for severity in Severity}


def latency_digits(latency_ms: float | None) -> str:
    """Format the last latency for the large digits: whole ms, decimals below 10 ms."""
    if latency_ms is None:
        return DIGITS_NO_DATA
    if latency_ms < 10:
        return f"{latency_ms:.1f}"
    return f"{latency_ms:.0f}"


class WallSparkline(Static):
    """A sparkline that grows to the height it is given."""

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._values: list[float | None] = []

    def show(self, values: list[float | None]) -> None:
        """Draw these values, newest last."""
        self._values = values
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        width, height = self.content_size
        rows = sparkline_rows(self._values, max(width, 1), max(height, 1))
        text = Text("\n".join(rows), no_wrap=True)
        error = theme_colour(self.app.theme_variables, "error")
        text.highlight_words(
            [FAILURE_MARK], style=Style(color=error.rich_color if error else None, bold=True)
        )
        self.update(text)


class WallTile(Vertical):
    """A tile of the wall display; `show` fills it with one target."""

    target_name: str | None = None
    """Name of the target shown, None before the first `show`."""

    def compose(self) -> ComposeResult:
        yield Static(classes="tile-head")
        with Horizontal(classes="tile-figure"):
            yield Digits(DIGITS_NO_DATA, classes="tile-latency")
            yield Static(_("ms"), classes="tile-unit")
        yield WallSparkline(classes="tile-spark")
        yield Static(classes="tile-incident")

    def show(self, view: TargetView, incident: Incident | None, now_ms: int) -> None:
        """Show a target's state now, with its worst open incident if it has one."""
        status = view.status
        self.target_name = view.stored.target.name
        self.set_classes(STATUS_CLASSES[status])
        if incident is not None:
            self.add_class(SEVERITY_CLASSES[incident.severity])
        variables = self.app.theme_variables

        # The name takes the border's top line, so a narrow tile keeps both it and the status.
        self.border_title = Text(view.stored.target.name)
        head = status_text(status, variables)
        head.no_wrap = True
        head.overflow = "ellipsis"
        self.query_one(".tile-head", Static).update(head)

        last = view.last
        latency_ms = last.latency_ms if last else None
        self.query_one(Digits).update(latency_digits(latency_ms))
        self.query_one(".tile-unit", Static).display = latency_ms is not None
        self.query_one(WallSparkline).show(view.latencies())
        bottom = (
            self._detail_line(view)
            if incident is None
            else incident_line(incident, variables, now_ms)
        )
        bottom.no_wrap = True
        bottom.overflow = "ellipsis"
        self.query_one(".tile-incident", Static).update(bottom)

    def _detail_line(self, view: TargetView) -> Text:
        last = view.last
        line = Text(no_wrap=True, overflow="ellipsis")
        if last is not None and last.error is not None:
            line.append(str(last.error), style="bold")
            line.append(" · ")
        line.append(_("{loss} loss").format(loss=format_pct(view.loss_pct)))
        return line
