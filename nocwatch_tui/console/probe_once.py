"""A one-off probe from the console, for `t` on the grid and the form's test button."""

import asyncio
from typing import Any

from textual.notifications import SeverityLevel
from textual.screen import Screen

from nocwatch_tui.console.messages import ProbeTested
from nocwatch_tui.engine.prober import Prober
from nocwatch_tui.engine.sample import PHASES, Sample
from nocwatch_tui.engine.targets import Target
from nocwatch_tui.i18n import _

NO_DATA = "—"


async def probe_once(target: Target) -> Sample:
    """Probe a target once with a prober of its own, closed afterwards."""
    # Building the prober loads the CA bundle, which would stall the screen for
    # tens of milliseconds on the event loop.
    prober = await asyncio.to_thread(Prober, 1)
    try:
        return await prober.probe(target, target_id=0)
    finally:
        await prober.aclose()


def _ms(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:.1f}"


def describe_probe(sample: Sample) -> tuple[str, SeverityLevel]:
    """Return a notification text for a probe's outcome, with its phases, and its severity."""
    phases = " · ".join(f"{phase} {_ms(getattr(sample, f'{phase}_ms'))}" for phase in PHASES)
    if sample.passed:
        headline = _("passed: HTTP {status} in {latency} ms").format(
            status=sample.status_code, latency=_ms(sample.latency_ms)
        )
        severity: SeverityLevel = "information"
    else:
        headline = _("failed: {error}: {detail}").format(
            error=sample.error, detail=sample.error_detail or NO_DATA
        )
        if sample.latency_ms is not None:
            headline += _(" (HTTP {status} in {latency} ms)").format(
                status=sample.status_code, latency=_ms(sample.latency_ms)
            )
        severity = "error"
    return f"{headline}\n{_('phases (ms)')}: {phases}", severity


def start_test_probe(screen: Screen[Any], target: Target) -> None:
    """Probe a target in a worker of `screen`, which receives a ProbeTested message."""

    async def run() -> None:
        sample = await probe_once(target)
        screen.post_message(ProbeTested(target.name, sample))

    screen.notify(_("Testing {name}…").format(name=target.name), timeout=3, markup=False)
    screen.run_worker(run(), group="test-probe", description=f"test probe of {target.name!r}")


def show_probe_result(screen: Screen[Any], message: ProbeTested) -> None:
    """Show a one-off probe's outcome in a notification."""
    text, severity = describe_probe(message.sample)
    screen.notify(
        text,
        title=_("Test of {name}").format(name=message.target_name),
        severity=severity,
        timeout=10,
        markup=False,
    )
