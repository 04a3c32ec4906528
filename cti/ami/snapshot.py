"""Gathering a :class:`~cti.resync.ResyncSnapshot` over a live AMI client.

Used as (part of) the client's ``on_connected`` hook::

    async def on_connected(client: AmiClient) -> None:
        for transition in await resynchronise(client, tracker, clock):
            engine.apply(transition)

The order matters: the tracker's resync window opens *before* Asterisk is asked, so a hang-up
that arrives while the answers are on their way is not undone by the (older) snapshot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from cti.errors import AmiActionError
from cti.resync import ResyncSnapshot
from cti.tracker import CallTracker, TrackerConfig
from cti.transitions import CallTransition

if TYPE_CHECKING:
    from cti.ami.client import AmiClient

_log = logging.getLogger("cti.ami")


async def collect_snapshot(client: AmiClient, config: TrackerConfig) -> ResyncSnapshot:
    """CoreShowChannels, BridgeList, and HOTLINE_CONTACT of every Hotline caller channel."""
    channels = tuple(await client.core_show_channels())
    bridges = tuple(await client.bridge_list())
    contacts: dict[str, str] = {}
    hotline_contexts = {config.wait_context, config.connect_context}
    for item in channels:
        chan = item.channel
        if chan.uniqueid != chan.linkedid or chan.context not in hotline_contexts:
            continue
        try:
            value = await client.getvar(config.contact_variable, chan.name)
        except AmiActionError as exc:
            # The channel hung up since CoreShowChannels; its Hangup event settles it.
            _log.info("resync: %s gone before Getvar (%s)", chan.name, exc.reason,
                      extra={"uniqueid": chan.uniqueid, "linkedid": chan.linkedid})
            continue
        if value:
            contacts[chan.uniqueid] = value
    return ResyncSnapshot(channels, bridges, contacts)


async def resynchronise(client: AmiClient, tracker: CallTracker,
                        clock: Callable[[], float]) -> list[CallTransition]:
    """Open the tracker's resync window, ask Asterisk, reconcile; returns the transitions."""
    tracker.begin_resync()
    snapshot = await collect_snapshot(client, tracker.config)
    return tracker.resync(snapshot, at=clock())
