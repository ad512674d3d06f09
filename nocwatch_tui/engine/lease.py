"""The engine lease: one engine at a time probes a database's targets.

`nocwatch serve` claims the lease row before it probes anything and renews it
every LEASE_RENEW_S. A lease not renewed for LEASE_TTL_MS is stale, and the
next engine takes it over. On the holder's own host, a lease whose process is
gone is stale at once, so a restart after a crash does not wait. A console
that finds a live lease attaches to that engine instead of starting its own.
"""

import asyncio
import logging
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Callable

from nocwatch_tui.engine.store import EngineLease, Store, StoreError, now_ms
from nocwatch_tui.i18n import _

log = logging.getLogger("nocwatch.lease")

LEASE_RENEW_S = 2.0
LEASE_TTL_MS = 10_000


class LeaseHeldError(StoreError):
    """Another live engine holds the database's lease."""


class LeaseLostError(RuntimeError):
    """The engine could not keep its lease, so it stopped probing."""


def this_host() -> str:
    """Return the name of this machine, as recorded in the lease."""
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    """Tell whether a process with this id exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_live(lease: EngineLease, at_ms: int, ttl_ms: int = LEASE_TTL_MS) -> bool:
    """Tell whether a lease still binds: renewed within `ttl_ms` by a process that exists."""
    if at_ms - lease.renewed_at_ms > ttl_ms:
        return False
    return not (lease.host == this_host() and not pid_alive(lease.pid))


def describe_holder(lease: EngineLease, at_ms: int) -> str:
    """Describe who holds a lease, for messages: process id, host and last renewal."""
    return _("pid {pid} on {host}, renewed {age:.0f} s ago").format(
        pid=lease.pid, host=lease.host, age=max(0, at_ms - lease.renewed_at_ms) / 1000
    )


async def take_lease(store: Store) -> EngineLease:
    """Claim the database's lease for this process, or raise LeaseHeldError naming its holder."""
    stamp = now_ms()
    claim = EngineLease(
        holder=uuid.uuid4().hex,
        pid=os.getpid(),
        host=this_host(),
        acquired_at_ms=stamp,
        renewed_at_ms=stamp,
    )
    holder = await store.claim_lease(claim, lambda current: not is_live(current, now_ms()))
    if holder is not None:
        raise LeaseHeldError(
            _(
                "{path}: another engine owns this database ({holder}); stop it first,"
                " or run `nocwatch` to attach a console to it"
            ).format(path=store.path, holder=describe_holder(holder, now_ms()))
        )
    log.info("took the engine lease of %s", store.path)
    return claim


class LeaseKeeper:
    """Renews a lease until cancelled, and calls `on_lost` if the lease cannot be kept."""

    def __init__(self, store: Store, lease: EngineLease, renew_s: float = LEASE_RENEW_S) -> None:
        self._store = store
        self._lease = lease
        self._renew_s = renew_s
        self.lost = False

    async def run(self, on_lost: Callable[[], None]) -> None:
        """Renew the lease every `renew_s`, and call `on_lost` once it is gone."""
        last_renewed = time.monotonic()
        while True:
            await asyncio.sleep(self._renew_s)
            try:
                renewed = await self._store.renew_lease(self._lease.holder, now_ms())
            except sqlite3.OperationalError as error:
                log.warning("renewing the engine lease failed: %s", error)
                # A full database cannot be written by another engine either, so
                # none can take the lease over: keep it, and the renewal after the
                # disk frees finds out whether it is still this engine's.
                # NOTE: in the one renewal period after the disk frees, a new
                # engine may take the stale lease and probe beside this one.
                if getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
                    continue
                # Give up before the lease turns stale, so that a new engine
                # taking it over never probes beside this one.
                if time.monotonic() - last_renewed < (LEASE_TTL_MS / 1000) - 2 * self._renew_s:
                    continue
                renewed = False
            if not renewed:
                self.lost = True
                log.error("lost the engine lease of %s, so the engine stops", self._store.path)
                on_lost()
                return
            last_renewed = time.monotonic()

    async def release(self) -> None:
        """Give the lease back, so that the next engine can start at once."""
        if self.lost:
            return
        try:
            await self._store.release_lease(self._lease.holder)
        except sqlite3.OperationalError as error:
            log.warning("releasing the engine lease failed: %s", error)
