"""Automatic contact distribution: the pure routing core shared by the live engine and the
simulator (see acd.router for the concept, docs/routing.md for the vocabulary)."""

from acd.decisions import (
    AgentStateChanged,
    CallbackOffered,
    ContactDone,
    Decision,
    Escalated,
    Offer,
    OfferCancelled,
    Overflowed,
    Queued,
)
from acd.events import (
    AgentLogin,
    AgentLogout,
    AgentNotReady,
    AgentReady,
    ContactAbandon,
    ContactArrive,
    ContactEnd,
    Event,
    OfferAccept,
    OfferReject,
    OfferTimeout,
    Tick,
    WrapupEnd,
    WrapupExtend,
)
from acd.router import AgentView, ContactView, Router

__all__ = [
    "AgentLogin", "AgentLogout", "AgentNotReady", "AgentReady", "AgentStateChanged",
    "AgentView", "CallbackOffered", "ContactAbandon", "ContactArrive", "ContactDone",
    "ContactEnd", "ContactView", "Decision", "Escalated", "Event", "Offer", "OfferAccept",
    "OfferCancelled", "OfferReject", "OfferTimeout", "Overflowed", "Queued", "Router", "Tick",
    "WrapupEnd", "WrapupExtend",
]
