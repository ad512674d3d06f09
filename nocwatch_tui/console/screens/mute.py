"""The mute dialog: silence a target's incidents for a while, or until a time."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from nocwatch_tui.i18n import _

DURATIONS_MIN = {"15m": 15, "1h": 60, "4h": 240}
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_DATE_AND_CLOCK = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})$")


class MuteTimeError(ValueError):
    """An end time that cannot be read or is not in the future."""


@dataclass(frozen=True)
class MuteChoice:
    """The operator's choice: mute until this UTC epoch ms, or unmute with None."""

    until_ms: int | None


def parse_until(text: str, now: datetime) -> datetime:
    """Read `HH:MM` (the next such time) or `YYYY-MM-DD HH:MM` in `now`'s time zone."""
    text = text.strip()
    try:
        clock = _CLOCK.match(text)
        if clock:
            moment = now.replace(
                hour=int(clock.group(1)), minute=int(clock.group(2)), second=0, microsecond=0
            )
            return moment if moment > now else moment + timedelta(days=1)
        full = _DATE_AND_CLOCK.match(text)
        if full:
            year, month, day, hour, minute = (int(part) for part in full.groups())
            moment = now.replace(
                year=year, month=month, day=day, hour=hour, minute=minute, second=0, microsecond=0
            )
            if moment <= now:
                raise MuteTimeError(_("{text} is in the past; give a later time").format(text=text))
            return moment
    except ValueError as error:
        if isinstance(error, MuteTimeError):
            raise
        raise MuteTimeError(
            _("{text} is not a valid time: {reason}").format(text=text, reason=error)
        ) from None
    raise MuteTimeError(
        _("{text!r} is not a time; write HH:MM or YYYY-MM-DD HH:MM").format(text=text)
    )


class MuteDialog(ModalScreen[MuteChoice | None]):
    """Offers mute durations for one target, an end time, and unmute when muted."""

    CSS_PATH = "dialog.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", _("Cancel"), id="mute.cancel"),
    ]

    def __init__(self, target_name: str, muted: bool) -> None:
        super().__init__()
        self.target_name = target_name
        self.muted = muted

    def compose(self) -> ComposeResult:
        question = Text(_("Mute "))
        question.append(self.target_name, style="bold")
        question.append(_(": it is still probed, but opens no incident and sends nothing."))
        options = [
            Option(_("15 minutes"), id="15m"),
            Option(_("1 hour"), id="1h"),
            Option(_("4 hours"), id="4h"),
            Option(_("Until a time…"), id="until"),
        ]
        if self.muted:
            options.append(Option(_("Unmute now"), id="unmute"))
        with Vertical(classes="dialog"):
            yield Static(question, id="question")
            yield OptionList(*options, id="durations")
            yield Input(placeholder=_("HH:MM or YYYY-MM-DD HH:MM, local time"), id="until")
            yield Static(id="until-error", classes="error")

    def on_mount(self) -> None:
        self.query_one(".dialog").border_title = _("Mute target")
        self.query_one("#until", Input).display = False
        self.set_focus(self.query_one("#durations", OptionList))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        choice = event.option.id or ""
        if choice == "unmute":
            self.dismiss(MuteChoice(None))
        elif choice == "until":
            field = self.query_one("#until", Input)
            field.display = True
            field.focus()
        else:
            until = datetime.now().astimezone() + timedelta(minutes=DURATIONS_MIN[choice])
            self.dismiss(MuteChoice(int(until.timestamp() * 1000)))

    @on(Input.Submitted, "#until")
    def _until_submitted(self, event: Input.Submitted) -> None:
        try:
            until = parse_until(event.value, datetime.now().astimezone())
        except MuteTimeError as error:
            self.query_one("#until-error", Static).update(Text(str(error)))
            return
        self.dismiss(MuteChoice(int(until.timestamp() * 1000)))

    def action_cancel(self) -> None:
        """Close without changing the mute."""
        self.dismiss(None)
