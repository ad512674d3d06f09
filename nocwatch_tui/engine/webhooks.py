"""The webhook sender: delivers the outbox's notifications as json, slack or discord posts.

It runs as one task on the engine's event loop with its own database
connection. Every request is bounded by `timeout_s`, so a receiver that hangs
costs a pending request and never a probe. A failed attempt is retried with
exponential backoff and jitter until `give_up_after_s` after the event; a
4xx answer other than 408, 425 or 429 fails at once, because it will not
change. Logs and stored errors name a webhook by its host only.
"""

import asyncio
import contextlib
import logging
import random
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
import httpx

from nocwatch_tui.engine import outbox
from nocwatch_tui.engine.report import iso_utc
from nocwatch_tui.engine.settings import WebhookSettings
from nocwatch_tui.engine.store import Store, now_ms
from nocwatch_tui.i18n import _

log = logging.getLogger("nocwatch.webhooks")

RETRYABLE_4XX = frozenset({408, 425, 429})
DISCORD_MAX_CHARS = 2000


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long one request may take and how failed ones are retried."""

    timeout_s: float = 10.0
    """Deadline of one request, connection included."""
    backoff_base_s: float = 2.0
    """Delay before the second attempt; each further attempt doubles it."""
    backoff_max_s: float = 300.0
    """Maximum delay between two attempts."""
    give_up_after_s: float = 3600.0
    """Time after the event when the sender stops retrying and marks it failed."""

    def delay_s(self, attempts: int, rng: random.Random) -> float:
        """Return the delay after `attempts` failed attempts: exponential, with jitter.

        The jitter draws from the upper half of the exponential step, so that
        receivers that fail together are not retried in step.
        """
        step = min(self.backoff_max_s, self.backoff_base_s * 2.0 ** (attempts - 1))
        return float(step * rng.uniform(0.5, 1.0))


def host_of(url: str) -> str:
    """Return the host of a webhook URL, the only part of it fit for logs and screens."""
    try:
        return httpx.URL(url).host or "?"
    except httpx.InvalidURL:
        return "?"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def summary_line(payload: dict[str, Any]) -> str:
    """Describe a notification in one line of plain text for chat."""
    incident = payload["incident"]
    line = _("{severity} {kind} incident {event}: {target}").format(
        severity=str(incident.get("severity", "")).upper(),
        kind=incident.get("kind", ""),
        event=payload["event"],
        target=payload["target"]["name"],
    )
    details = [payload["target"]["url"]] if payload["target"]["url"] else []
    if payload.get("site"):
        details.append(_("site {site}").format(site=payload["site"]))
    if incident.get("peak_value") is not None:
        details.append(_("peak {value}").format(value=incident["peak_value"]))
    if payload["event"] == "acknowledged" and incident.get("acknowledged_by"):
        details.append(_("by {operator}").format(operator=incident["acknowledged_by"]))
    return f"{line} ({', '.join(details)})" if details else line


def render(format_name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Build the JSON body of one format from a notification payload."""
    if format_name == "slack":
        return {"text": _slack_escape(summary_line(payload))}
    if format_name == "discord":
        # No mention in a target's name or a note may ping a channel.
        return {
            "content": summary_line(payload)[:DISCORD_MAX_CHARS],
            "allowed_mentions": {"parse": []},
        }
    return payload


def _describe(error: BaseException, url: str) -> str:
    text = str(error) or type(error).__name__
    return text.replace(url, host_of(url))


class WebhookSender:
    """Routes and sends the outbox of one database until cancelled."""

    def __init__(
        self,
        db_path: Path,
        webhooks: Sequence[WebhookSettings],
        site: str,
        policy: RetryPolicy | None = None,
        poll_s: float = 1.0,
        max_parallel: int = 4,
        on_backlog: Callable[[int], None] | None = None,
    ) -> None:
        self._db_path = db_path
        self._webhooks = {outbox.webhook_id(hook.url): hook for hook in webhooks}
        self._routes = list(webhooks)
        self._site = site
        self.policy = policy or RetryPolicy()
        self.poll_s = poll_s
        self._slots = asyncio.Semaphore(max_parallel)
        self._on_backlog = on_backlog or (lambda count: None)
        self._rng = random.Random()
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self.sent = 0

    async def run(self) -> None:
        """Route, send and retry until cancelled; unsent rows stay for the next start."""
        store = await Store.open(self._db_path)
        db = store.connection
        if self._routes:
            hosts = ", ".join(sorted({host_of(hook.url) for hook in self._routes}))
            log.info(
                "sending incident notifications to %d webhook(s): %s", len(self._routes), hosts
            )
        try:
            async with httpx.AsyncClient(
                trust_env=False, follow_redirects=False, timeout=self.policy.timeout_s
            ) as client:
                while True:
                    await self._pass(db, client)
                    await asyncio.sleep(self.poll_s)
        finally:
            tasks = list(self._in_flight.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await store.close()

    async def _pass(self, db: aiosqlite.Connection, client: httpx.AsyncClient) -> None:
        try:
            await outbox.route_new(db, self._routes)
            due = await outbox.due_deliveries(db, now_ms(), limit=100)
            for delivery in due:
                if delivery.id not in self._in_flight:
                    task = asyncio.create_task(self._deliver(db, client, delivery))
                    self._in_flight[delivery.id] = task
                    task.add_done_callback(self._forget_task)
            self._on_backlog(await outbox.backlog(db))
        except sqlite3.OperationalError as error:
            log.warning("reading the outbox failed, retrying in %g s: %s", self.poll_s, error)

    def _forget_task(self, task: asyncio.Task[None]) -> None:
        for key, running in list(self._in_flight.items()):
            if running is task:
                del self._in_flight[key]

    async def _deliver(
        self, db: aiosqlite.Connection, client: httpx.AsyncClient, delivery: outbox.Delivery
    ) -> None:
        webhook = self._webhooks.get(delivery.webhook)
        attempts = delivery.attempts + 1
        if webhook is None:
            log.warning(
                "notification %s is for a webhook no longer in the settings; dropping it",
                delivery.idempotency_key,
            )
            await self._record(
                lambda: outbox.mark_failed(db, delivery.id, attempts, "webhook removed")
            )
            return

        async with self._slots:
            error, retry_after_s, permanent = await self._post(client, webhook, delivery)

        host = host_of(webhook.url)
        if error is None:
            self.sent += 1
            log.info(
                "sent %s of incident %s to %s (attempt %d)",
                delivery.event,
                delivery.payload["incident"].get("id"),
                host,
                attempts,
            )
            await self._record(lambda: outbox.mark_sent(db, delivery.id, attempts))
            return

        delay_s = max(self.policy.delay_s(attempts, self._rng), retry_after_s or 0.0)
        next_at_ms = now_ms() + int(delay_s * 1000)
        give_up_at_ms = delivery.created_at_ms + int(self.policy.give_up_after_s * 1000)
        if permanent or next_at_ms > give_up_at_ms:
            log.error(
                "giving up on %s to %s after %d attempt(s): %s",
                delivery.idempotency_key,
                host,
                attempts,
                error,
            )
            await self._record(lambda: outbox.mark_failed(db, delivery.id, attempts, error))
            return
        log.warning(
            "sending %s to %s failed (attempt %d), retrying in %.1f s: %s",
            delivery.idempotency_key,
            host,
            attempts,
            delay_s,
            error,
        )
        await self._record(lambda: outbox.mark_retry(db, delivery.id, attempts, next_at_ms, error))

    async def _post(
        self, client: httpx.AsyncClient, webhook: WebhookSettings, delivery: outbox.Delivery
    ) -> tuple[str | None, float | None, bool]:
        """Post one notification and classify the outcome.

        Returns the error (None on success), the Retry-After delay if any, and
        whether the failure is permanent.
        """
        payload = {**delivery.payload, "site": self._site, "sent_at": iso_utc(now_ms())}
        headers = {"Idempotency-Key": delivery.idempotency_key}
        try:
            async with asyncio.timeout(self.policy.timeout_s):
                response = await client.post(
                    webhook.url, json=render(webhook.format, payload), headers=headers
                )
                await response.aread()
        except TimeoutError:
            return (
                _("timed out after {seconds:g} s").format(seconds=self.policy.timeout_s),
                None,
                False,
            )
        except httpx.HTTPError as error:
            return _describe(error, webhook.url), None, False

        if response.is_success:
            return None, None, False
        failure = _("HTTP {code}").format(code=response.status_code)
        retry_after_s = None
        with contextlib.suppress(ValueError):
            retry_after_s = min(
                float(response.headers.get("retry-after", "")), self.policy.backoff_max_s
            )
        permanent = 400 <= response.status_code < 500 and response.status_code not in RETRYABLE_4XX
        return failure, retry_after_s, permanent

    async def _record(self, update: Callable[[], Awaitable[None]]) -> None:
        """Run one outbox update, retrying while the database is busy."""
        while True:
            try:
                await update()
                return
            except sqlite3.OperationalError as error:
                log.warning("updating the outbox failed, retrying in %g s: %s", self.poll_s, error)
                await asyncio.sleep(self.poll_s)
