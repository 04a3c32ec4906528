"""What the API reads and answers: pydantic models, so the OpenAPI spec documents them.

The state models mirror :mod:`cti.ports` (``AgentStatus``, ``QueueStatus``); a test checks they
have the same fields, so the spec cannot drift from what the leader writes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hotline.auth import Role

AgentState = Literal["logged_out", "ready", "not_ready", "reserved", "busy", "wrap_up"]
SUBJECT = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"


class Error(BaseModel):
    """Every error answer: a stable id to switch on, a sentence to show, details."""

    error_id: str = Field(examples=["forbidden"])
    message: str
    details: dict[str, Any]


class AgentOut(BaseModel):
    type: Literal["agent_state"]
    agent: str
    name: str
    extension: str
    state: AgentState
    reason: str | None
    since: float = Field(description="epoch seconds of the last state change")
    contacts: list[str]


class QueueOut(BaseModel):
    type: Literal["queue_state"]
    queue: str
    waiting: int
    longest_wait_s: float
    agents_ready: int
    agents_busy: int
    metrics: dict[str, Any]


class NotReadyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_\-]+$",
                        examples=["break", "lunch", "training"],
                        description="a not-ready reason code (lower case)")


class ExtendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(gt=0, le=3600, description="more wrap-up time, in seconds")


class CommandOut(BaseModel):
    """The command was queued for the routing leader, which applies commands in order."""

    id: str = Field(description="its id in the commands stream")
    type: str
    agent: str
    by: str
    reason: str | None = None
    seconds: float | None = None


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(pattern=SUBJECT, description="agent id, or a user name")
    role: Role


class TokenOut(BaseModel):
    subject: str
    role: Role
    token: str = Field(description="shown once: only its hash is stored")


class RevokedOut(BaseModel):
    subject: str
    revoked: int = Field(description="how many tokens of the subject were revoked")


class HealthOut(BaseModel):
    status: Literal["ok"]
    redis: Literal["ok"]
    database: Literal["ok"]


class SatisfactionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5, description="the caller's satisfaction, 1 (poor) to 5")


class SatisfactionOut(BaseModel):
    call_id: str
    score: int
