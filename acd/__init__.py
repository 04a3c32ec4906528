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
from acd.errors import AcdError
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
from acd.metrics import MetricsReport, QueueMetrics, WindowStats
from acd.router import Router
from acd.views import AgentView, ContactView

__all__ = [
    "AcdError", "AgentLogin", "AgentLogout", "AgentNotReady", "AgentReady", "AgentStateChanged",
    "AgentView", "CallbackOffered", "ContactAbandon", "ContactArrive", "ContactDone", "ContactEnd",
    "ContactView", "Decision", "Escalated", "Event", "MetricsReport", "Offer", "OfferAccept",
    "OfferCancelled", "OfferReject", "OfferTimeout", "Overflowed", "QueueMetrics", "Queued",
    "Router", "Tick", "WindowStats", "WrapupEnd", "WrapupExtend",
]
