"""The screen-pop: what an agent's screen shows about a caller before the phone rings.

When the Router offers a waiting caller to an agent, the live engine builds a
:class:`~cti.ports.ScreenPop` from what the IVR handed over when it queued the caller (queue,
IVR path, keyed-in inputs with sensitive ones masked, the flow's pop attributes), the customer
record found for the caller, and how long the caller has waited; it publishes the pop on
``pop:<agent>`` and the agent's WebSocket carries it to the screen.

Building the pop is pure (time is an argument). It is also the last place where data heads to
a screen, so it masks again what must never show: any input or attribute named in
``sensitive``, and any value that looks like a payment card number (13 to 19 digits passing the
Luhn check) even where a flow forgot to mark its input sensitive. Masking keeps the length and
hides every character, as the IVR does.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Collection, Mapping
from typing import Any

from cti.ports import QueueRequest, ScreenPop
from ivr.interpreter import mask

_CARD = re.compile(r"^\d{13,19}$")


def looks_like_card(value: str) -> bool:
    """True for 13-19 digits (spaces and dashes ignored) that pass the Luhn checksum."""
    digits = re.sub(r"[\s\-]", "", value)
    if not _CARD.match(digits):
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _shown(name: str, value: Any, sensitive: Collection[str]) -> Any:
    if value is None:
        return None
    if name in sensitive or (isinstance(value, str | int) and looks_like_card(str(value))):
        return mask(value)
    return value


def _plain(value: Any) -> Any:
    """``value`` as JSON: dates as ISO text, decimals as numbers, containers recursively."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def build_pop(
    *,
    pop_id: str,
    call_id: str,
    agent: str,
    contact: str,
    queue: str,
    caller_id: str,
    wait_s: float,
    customer: Mapping[str, Any] | None,
    ivr_path: list[str] | tuple[str, ...],
    inputs: Mapping[str, str],
    attributes: Mapping[str, Any],
    now: float,
    sensitive: Collection[str] = (),
) -> ScreenPop:
    """A pop from its parts; ``now`` (epoch seconds) becomes ``sent_at``."""
    return ScreenPop(
        type="pop", pop_id=pop_id, call_id=call_id, contact=contact, agent=agent, queue=queue,
        caller_id=caller_id, wait_s=round(max(0.0, wait_s), 3),
        customer=None if customer is None else _plain(customer),
        ivr_path=list(ivr_path),
        inputs={k: _shown(k, v, sensitive) for k, v in inputs.items()},
        attributes=_plain({k: _shown(k, v, sensitive) for k, v in attributes.items()}),
        sent_at=now,
    )


def pop_for_request(request: QueueRequest, *, pop_id: str, call_id: str, agent: str,
                    customer: Mapping[str, Any] | None, now: float,
                    sensitive: Collection[str] = ()) -> ScreenPop:
    """The pop for a caller the IVR queued (``request``); the wait counts from ``request.at``."""
    return build_pop(
        pop_id=pop_id, call_id=call_id, agent=agent, contact=request.contact,
        queue=request.queue, caller_id=request.caller_id, wait_s=now - request.at,
        customer=customer, ivr_path=request.ivr_path, inputs=request.inputs,
        attributes=request.attributes, now=now, sensitive=sensitive,
    )


def pop_for_offer(fields: Mapping[str, Any], *, pop_id: str, call_id: str, agent: str,
                  customer: Mapping[str, Any] | None, now: float,
                  sensitive: Collection[str] = ()) -> ScreenPop:
    """The pop for the routing engine's offer fields (``OfferPlaced.pop``).

    ``fields`` holds ``contact``, ``queue``, ``caller_id``, ``wait_s``, ``ivr_path``, ``inputs``
    and ``attributes``; a missing one is a bug in the caller and raises KeyError.
    """
    return build_pop(
        pop_id=pop_id, call_id=call_id, agent=agent, contact=fields["contact"],
        queue=fields["queue"], caller_id=fields["caller_id"], wait_s=fields["wait_s"],
        customer=customer, ivr_path=fields["ivr_path"], inputs=fields["inputs"],
        attributes=fields["attributes"], now=now, sensitive=sensitive,
    )
