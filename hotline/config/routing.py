"""``routing.yaml``: skills, queues and agents, as typed models.

The shape an administrator writes::

    skills: [billing, technical, sales, complaints, general, english]
    queues:
      billing:
        skills: {billing: 6}             # required skills with minimum levels (1-10)
        priority: 2                      # higher is served first when an agent is free
        service_level: {percent: 80, seconds: 20}
        wrap_up_s: 30
        policy: longest_idle
        escalation:                      # over the contact's waiting time, in order
          - {after_s: 30, relax: {billing: 3}}
          - {after_s: 60, also_accept: {general: 5}}
          - {after_s: 120, overflow: complaints}
          - {after_s: 300, offer_callback: true}
    agents:
      - {id: a001, name: Ada Meyer, extension: "1001", skills: {billing: 8}, capacity: {voice: 1}}

Cross-references (unknown skills and queues, duplicate ids) are checked by the loader, which
knows the positions; these models check only what one value can say about itself.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from hotline.config.validation import StrictModel

Channel = Literal["voice", "chat", "email", "callback"]
Policy = Literal["longest_idle", "most_skilled", "least_occupied", "round_robin", "weighted_random"]
Level = int

_NAME = re.compile(r"^[a-z][a-z0-9_\-]*$")
_EXTENSION = re.compile(r"^[0-9]{2,8}$")


def _check_name(value: str, what: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            f"{what} name {value!r} must start with a lower-case letter and use only "
            "a-z, 0-9, '_' and '-'"
        )
    return value


def _check_levels(levels: dict[str, int]) -> dict[str, int]:
    for skill, level in levels.items():
        if not 1 <= level <= 10:
            raise ValueError(f"level {level} for skill '{skill}' is impossible; levels run 1 to 10")
    return levels


class ServiceLevelTarget(StrictModel):
    percent: float = Field(80.0, gt=0, le=100)
    seconds: float = Field(20.0, gt=0)


class EscalationStep(StrictModel):
    """One step of a queue's escalation: after ``after_s`` of waiting, do exactly one thing."""

    after_s: float = Field(gt=0)
    relax: dict[str, Level] | None = None
    also_accept: dict[str, Level] | None = None
    overflow: str | None = None
    offer_callback: bool = False

    _levels = field_validator("relax", "also_accept")(
        lambda v: None if v is None else _check_levels(v)
    )

    @model_validator(mode="after")
    def _one_action(self) -> EscalationStep:
        actions = [
            name for name, on in (
                ("relax", self.relax is not None),
                ("also_accept", self.also_accept is not None),
                ("overflow", self.overflow is not None),
                ("offer_callback", self.offer_callback),
            ) if on
        ]
        if len(actions) != 1:
            found = ", ".join(actions) if actions else "none"
            raise ValueError(
                "an escalation step does exactly one of relax, also_accept, overflow or "
                f"offer_callback; this one has {found}"
            )
        return self

    @property
    def action(self) -> str:
        if self.relax is not None:
            return "relax"
        if self.also_accept is not None:
            return "also_accept"
        if self.overflow is not None:
            return "overflow"
        return "offer_callback"


class Queue(StrictModel):
    skills: dict[str, Level]
    channel: Channel = "voice"
    priority: int = Field(0, ge=0, le=100)
    weight: float = Field(1.0, gt=0)
    service_level: ServiceLevelTarget = ServiceLevelTarget()
    wrap_up_s: float = Field(30.0, ge=0)
    policy: Policy = "longest_idle"
    escalation: list[EscalationStep] = []
    description: str = ""

    _levels = field_validator("skills")(lambda v: _check_levels(v))

    @field_validator("skills")
    @classmethod
    def _some_skill(cls, value: dict[str, int]) -> dict[str, int]:
        if not value:
            raise ValueError("needs at least one required skill, such as {general: 1}")
        return value


class Agent(StrictModel):
    id: str
    name: str
    extension: str
    skills: dict[str, Level]
    capacity: dict[Channel, int] = {"voice": 1}
    team: str = ""

    _levels = field_validator("skills")(lambda v: _check_levels(v))

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _check_name(value, "agent")

    @field_validator("extension")
    @classmethod
    def _extension(cls, value: str) -> str:
        if not _EXTENSION.match(value):
            raise ValueError(f"extension {value!r} must be 2 to 8 digits, such as '1001'")
        return value

    @field_validator("capacity")
    @classmethod
    def _capacity(cls, value: dict[str, int]) -> dict[str, int]:
        for channel, count in value.items():
            if not 0 <= count <= 50:
                raise ValueError(f"capacity {count} for {channel} must be between 0 and 50")
        return value


class RoutingSettings(StrictModel):
    """Deployment-wide routing behaviour."""

    ring_timeout_s: float = Field(15.0, gt=0)
    short_abandon_s: float = Field(5.0, ge=0)
    voice_blocks_other_channels: bool = True
    service_level_counts: Literal[
        "all_offered", "answered_and_long_abandons", "answered_only"
    ] = "answered_and_long_abandons"
    default_queue: str | None = None
    seed: int = 0


class Routing(StrictModel):
    """The whole of ``routing.yaml``."""

    skills: list[str]
    queues: dict[str, Queue]
    agents: list[Agent] = []
    settings: RoutingSettings = RoutingSettings()

    @field_validator("skills")
    @classmethod
    def _skill_names(cls, value: list[str]) -> list[str]:
        for name in value:
            _check_name(name, "skill")
        return value

    @field_validator("queues")
    @classmethod
    def _queue_names(cls, value: dict[str, Queue]) -> dict[str, Queue]:
        for name in value:
            _check_name(name, "queue")
        return value
