"""The target form: every field of the targets file, validated by the same model."""

import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any, ClassVar

from pydantic import ValidationError
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Collapsible, Input, Label, Select, Static

from nocwatch_tui.console.messages import ProbeTested
from nocwatch_tui.console.probe_once import show_probe_result, start_test_probe
from nocwatch_tui.engine.settings import DefaultsSettings
from nocwatch_tui.engine.store import DuplicateTargetError, StoreError
from nocwatch_tui.engine.targets import Target, ThresholdOverrides
from nocwatch_tui.i18n import _

log = logging.getLogger("nocwatch.console.targets")

SaveTarget = Callable[[Target], Awaitable[None]]

METHODS = ("GET", "HEAD", "POST")
IP_FAMILIES = ("auto", "ipv4", "ipv6")
HEADER_ROWS_SPARE = 1


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _split_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _status_items(text: str) -> list[int | str]:
    return [int(item) if item.isdigit() else item for item in _split_list(text)]


def _error_key(location: tuple[int | str, ...]) -> str:
    """Return the form field that a validation error belongs to."""
    if not location:
        # The model-level check compares timeout_s with interval_s.
        return "timeout_s"
    if location[0] == "thresholds" and len(location) > 1:
        return f"thresholds.{location[1]}"
    return str(location[0])


def _field_id(key: str) -> str:
    return key.replace(".", "-")


def threshold_labels() -> dict[str, str]:
    """Return a short label for each per-target threshold, in the model's order."""
    labels = {
        "down_after": _("Down after"),
        "latency_p95_warning_ms": _("p95 warn (ms)"),
        "latency_p95_critical_ms": _("p95 crit (ms)"),
        "jitter_warning_ms": _("Jitter warn (ms)"),
        "loss_warning_pct": _("Loss warn (%)"),
        "loss_critical_pct": _("Loss crit (%)"),
        "open_after": _("Open after"),
        "close_after": _("Close after"),
    }
    return {key: labels.get(key, key) for key in ThresholdOverrides.model_fields}


def blank_target(defaults: DefaultsSettings) -> dict[str, Any]:
    """Return the field values of a new target, with the settings file's defaults applied."""
    values = Target(name="new", url="http://127.0.0.1/").model_dump()
    values.update({key: value for key, value in defaults.model_dump().items() if value is not None})
    values.update({"name": "", "url": ""})
    return values


class TargetForm(ModalScreen[Target | None]):
    """A modal form that creates or changes one target and saves it through `save`."""

    CSS_PATH = "target_form.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", _("Save"), id="form.save"),
        Binding("ctrl+t", "test", _("Test"), id="form.test"),
        # Text fields take a plain `t` as text, so it tests only from the other fields.
        Binding("t", "test", _("Test"), id="form.test_plain", show=False),
        Binding("escape", "cancel", _("Cancel"), id="form.cancel"),
    ]

    def __init__(
        self,
        title: str,
        values: dict[str, Any],
        taken_names: Collection[str],
        save: SaveTarget,
    ) -> None:
        super().__init__()
        self.form_title = title
        self.values = values
        self.taken_names = set(taken_names)
        self.save = save

    # Layout

    def compose(self) -> ComposeResult:
        values = self.values
        with Vertical(id="form"):
            with VerticalScroll(id="fields"):
                yield from self._row(
                    "name", _("Name"), Input(values["name"], id="name", compact=True)
                )
                yield from self._row("url", _("URL"), Input(values["url"], id="url", compact=True))
                yield from self._row(
                    "method",
                    _("Method"),
                    Select(
                        [(method, method) for method in METHODS],
                        value=values["method"],
                        allow_blank=False,
                        id="method",
                        compact=True,
                    ),
                )
                yield from self._row(
                    "interval_s",
                    _("Interval (s)"),
                    Input(_number(values["interval_s"]), id="interval_s", compact=True),
                )
                yield from self._row(
                    "timeout_s",
                    _("Timeout (s)"),
                    Input(_number(values["timeout_s"]), id="timeout_s", compact=True),
                )
                yield from self._row(
                    "expected_status",
                    _("Expected status"),
                    Input(
                        ", ".join(str(item) for item in values["expected_status"]),
                        placeholder="200-399",
                        id="expected_status",
                        compact=True,
                    ),
                )
                yield from self._row(
                    "body_contains",
                    _("Body contains"),
                    Input(
                        values["body_contains"] or "",
                        placeholder=_("(no check)"),
                        id="body_contains",
                        compact=True,
                    ),
                )
                yield from self._row(
                    "tags",
                    _("Tags"),
                    Input(
                        ", ".join(values["tags"]),
                        placeholder=_("comma-separated"),
                        id="tags",
                        compact=True,
                    ),
                )
                yield from self._row(
                    "ip_family",
                    _("IP family"),
                    Select(
                        [(family, family) for family in IP_FAMILIES],
                        value=values["ip_family"],
                        allow_blank=False,
                        id="ip_family",
                        compact=True,
                    ),
                )
                yield from self._row(
                    "verify_tls",
                    "",
                    Checkbox(
                        _("Verify TLS certificates"),
                        values["verify_tls"],
                        id="verify_tls",
                        compact=True,
                    ),
                )
                yield from self._row(
                    "follow_redirects",
                    "",
                    Checkbox(
                        _("Follow redirects (up to 10)"),
                        values["follow_redirects"],
                        id="follow_redirects",
                        compact=True,
                    ),
                )
                yield Label(_("Headers (values are hidden)"), classes="section")
                with Vertical(id="headers"):
                    for name, value in values["headers"].items():
                        yield self._header_row(name, value)
                    for _spare in range(HEADER_ROWS_SPARE):
                        yield self._header_row("", "")
                yield Static(id="error-headers", classes="error")
                yield Button(_("Add header"), id="add-header", compact=True)
                with Collapsible(
                    title=_("Thresholds (blank: global default)"), collapsed=True, id="thresholds"
                ):
                    thresholds = values["thresholds"]
                    for key, label in threshold_labels().items():
                        yield from self._row(
                            f"thresholds.{key}",
                            label,
                            Input(
                                _number(thresholds.get(key)), id=f"thresholds-{key}", compact=True
                            ),
                        )
            with Horizontal(id="buttons"):
                yield Button(_("Save ^s"), variant="primary", id="save", compact=True)
                yield Button(_("Test ^t"), id="test", compact=True)
                yield Button(_("Cancel esc"), id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#form").border_title = self.form_title
        # Focus at once rather than through `focus()`, which waits for the keys already queued.
        self.set_focus(self.query_one("#name", Input))

    @staticmethod
    def _row(key: str, label: str, widget: Any) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Label(label, classes="field-label")
            yield widget
        yield Static(id=f"error-{_field_id(key)}", classes="error")

    @staticmethod
    def _header_row(name: str, value: str) -> Horizontal:
        return Horizontal(
            Input(name, placeholder=_("Header name"), classes="header-name", compact=True),
            Input(
                value,
                placeholder=_("value"),
                password=True,
                classes="header-value",
                compact=True,
            ),
            classes="header",
        )

    # Reading and validating

    def _text(self, field_id: str) -> str:
        return self.query_one(f"#{field_id}", Input).value.strip()

    def _headers(self) -> dict[str, str] | str:
        """Return the header pairs, or a message when a pair is incomplete or repeated."""
        headers: dict[str, str] = {}
        for row in self.query(".header"):
            name = row.query_one(".header-name", Input).value.strip()
            value = row.query_one(".header-value", Input).value
            if not name and not value:
                continue
            if not name:
                return _("a header value has no name; fill in the name or clear the value")
            if name.casefold() in (known.casefold() for known in headers):
                return _("header {name!r} appears twice; keep one").format(name=name)
            headers[name] = value
        return headers

    def _raw(self) -> tuple[dict[str, Any], dict[str, str]]:
        """Return the form as targets-file data, and the errors found before the model runs."""
        errors: dict[str, str] = {}
        raw: dict[str, Any] = {
            "name": self._text("name"),
            "url": self._text("url"),
            "method": self.query_one("#method", Select).value,
            "ip_family": self.query_one("#ip_family", Select).value,
            "verify_tls": self.query_one("#verify_tls", Checkbox).value,
            "follow_redirects": self.query_one("#follow_redirects", Checkbox).value,
            "tags": _split_list(self._text("tags")),
        }

        for key in ("interval_s", "timeout_s"):
            if self._text(key):
                raw[key] = self._text(key)
        if self._text("expected_status"):
            raw["expected_status"] = _status_items(self._text("expected_status"))
        body = self.query_one("#body_contains", Input).value
        raw["body_contains"] = body or None

        thresholds = {
            key: self._text(f"thresholds-{key}")
            for key in ThresholdOverrides.model_fields
            if self._text(f"thresholds-{key}")
        }
        raw["thresholds"] = thresholds

        headers = self._headers()
        if isinstance(headers, str):
            errors["headers"] = headers
        else:
            raw["headers"] = headers
        return raw, errors

    def validate_form(self) -> Target | None:
        """Validate every field, show each message beside its field, and return the target."""
        raw, errors = self._raw()
        target: Target | None = None
        try:
            target = Target.model_validate(raw)
        except ValidationError as error:
            for detail in error.errors(include_url=False):
                key = _error_key(tuple(detail["loc"]))
                message = str(detail["msg"]).removeprefix("Value error, ")
                errors.setdefault(key, message)
        if raw["name"] in self.taken_names:
            errors.setdefault(
                "name",
                _("a target named {name!r} already exists; choose another name").format(
                    name=raw["name"]
                ),
            )
        self._show_errors(errors)
        return None if errors else target

    def _show_errors(self, errors: dict[str, str]) -> None:
        for label in self.query(".error").results(Static):
            key = (label.id or "").removeprefix("error-")
            message = next((text for name, text in errors.items() if _field_id(name) == key), "")
            label.update(Text(message))
            label.set_class(bool(message), "shown")
        if any(key.startswith("thresholds.") for key in errors):
            self.query_one("#thresholds", Collapsible).collapsed = False
        first = next(iter(self.query(".error.shown")), None)
        if first is not None:
            first.scroll_visible()

    # Actions

    async def action_save(self) -> None:
        """Save the target when every field is valid."""
        target = self.validate_form()
        if target is None:
            self.notify(_("Fix the fields marked in red; nothing was saved."), severity="warning")
            return
        try:
            await self.save(target)
        except DuplicateTargetError as error:
            self._show_errors({"name": str(error)})
            return
        except StoreError as error:
            log.warning("saving %r failed: %s", target.name, error)
            self.notify(str(error), severity="error", markup=False)
            return
        self.dismiss(target)

    def action_test(self) -> None:
        """Probe the form's target once without saving it."""
        target = self.validate_form()
        if target is not None:
            start_test_probe(self, target)

    def action_cancel(self) -> None:
        """Close the form without saving."""
        self.dismiss(None)

    @on(Input.Submitted)
    async def _submitted(self) -> None:
        await self.action_save()

    @on(Button.Pressed, "#save")
    async def _save_pressed(self) -> None:
        await self.action_save()

    @on(Button.Pressed, "#test")
    def _test_pressed(self) -> None:
        self.action_test()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Button.Pressed, "#add-header")
    async def _add_header(self) -> None:
        row = self._header_row("", "")
        await self.query_one("#headers", Vertical).mount(row)
        row.query_one(".header-name", Input).focus()

    @on(ProbeTested)
    def _probe_tested(self, message: ProbeTested) -> None:
        show_probe_result(self, message)
