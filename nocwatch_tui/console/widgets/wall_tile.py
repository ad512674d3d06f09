"""One target on the wall display: status, name, last latency in large digits and a sparkline."""

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Digits, Static

from nocwatch_tui.console.model import TargetView
from nocwatch_tui.console.sparkline import FAILURE_MARK, sparkline_rows
from nocwatch_tui.console.status_style import DisplayStatus, status_text, theme_colour
from nocwatch_tui.console.widgets.grid import format_pct
from nocwatch_tui.i18n import _

# Digits has no em dash; its minus sign is drawn as a wide bar that reads as one.
DIGITS_NO_DATA = "-"
STATUS_CLASSES: dict[str, str] = {status: f"-{status}" for status in DisplayStatus}


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

    def show(self, view: TargetView) -> None:
        """Show a target's state now."""
        status = view.status
        self.target_name = view.stored.target.name
        self.set_classes(STATUS_CLASSES[status])
        variables = self.app.theme_variables

        head = Text(no_wrap=True, overflow="ellipsis")
        head.append_text(status_text(status, variables))
        head.append("  ")
        head.append(view.stored.target.name, style="bold")
        self.query_one(".tile-head", Static).update(head)

        last = view.last
        latency_ms = last.latency_ms if last else None
        self.query_one(Digits).update(latency_digits(latency_ms))
        self.query_one(".tile-unit", Static).display = latency_ms is not None
        self.query_one(WallSparkline).show(view.latencies())
        self.query_one(".tile-incident", Static).update(self._detail_line(view))

    def _detail_line(self, view: TargetView) -> Text:
        # TODO: show the target's open incident (kind, severity, since when) here
        # once incidents are stored; until then the line gives the last error and loss.
        last = view.last
        line = Text(no_wrap=True, overflow="ellipsis")
        if last is not None and last.error is not None:
            line.append(str(last.error), style="bold")
            line.append(" · ")
        line.append(_("{loss} loss").format(loss=format_pct(view.loss_pct)))
        return line
