"""The database feed: polls SQLite for new samples, incidents, target changes and engine status."""

import asyncio
import logging

from textual.message_pump import MessagePump

from nocwatch_tui.console.messages import (
    EngineStatusRead,
    IncidentsRead,
    SamplesRead,
    TargetsRead,
)
from nocwatch_tui.console.model import SPARK_HISTORY
from nocwatch_tui.engine.incidents import RECENT_LIMIT, incidents_revision, list_incidents
from nocwatch_tui.engine.store import SampleRecord, Store

log = logging.getLogger("nocwatch.console.feed")

SAMPLE_POLL_S = 0.25
INCIDENTS_EVERY = 2  # sample polls per incidents poll
STATUS_EVERY = 4  # sample polls per target and engine status read


async def run_feed(store: Store, receiver: MessagePump) -> None:
    """Post the database's state to `receiver`, then every change, until cancelled.

    At start each target's newest SPARK_HISTORY samples are read, whatever the
    window; window figures come from the window statistics feed.
    """
    last_id = await store.last_sample_id()
    revision = await store.targets_revision()
    targets = await store.list_targets()
    initial: list[SampleRecord] = []
    for stored in targets:
        records = await store.newest_samples(stored.id, SPARK_HISTORY)
        # Later samples come from the poll below, so none is added twice.
        initial += [record for record in records if record.id <= last_id]
    initial.sort(key=lambda record: record.sample.started_at_ms)
    # Both are posted together, so the grid never shows targets without their samples.
    receiver.post_message(TargetsRead(targets))
    receiver.post_message(SamplesRead(initial))
    incidents_seen = await incidents_revision(store)
    receiver.post_message(IncidentsRead(await list_incidents(store, recent_limit=RECENT_LIMIT)))
    receiver.post_message(EngineStatusRead(await store.engine_status(), await store.read_lease()))
    tick = 0
    while True:
        await asyncio.sleep(SAMPLE_POLL_S)
        records = await store.samples_after(last_id)
        if records:
            last_id = records[-1].id
            receiver.post_message(SamplesRead(records))
        tick += 1
        if tick % INCIDENTS_EVERY == 0:
            current_incidents = await incidents_revision(store)
            if current_incidents != incidents_seen:
                incidents_seen = current_incidents
                incidents = await list_incidents(store, recent_limit=RECENT_LIMIT)
                receiver.post_message(IncidentsRead(incidents))

        if tick % STATUS_EVERY == 0:
            current = await store.targets_revision()
            if current != revision:
                revision = current
                receiver.post_message(TargetsRead(await store.list_targets()))
            receiver.post_message(
                EngineStatusRead(await store.engine_status(), await store.read_lease())
            )
