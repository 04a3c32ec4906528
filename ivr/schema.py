"""The YAML schema of a flow file (``config/ivr/<flow>.yaml``), as strict pydantic models.

These models only check shapes (keys, types, ranges). Everything that needs the whole flow or
the deployment (references between nodes, queues, calendars, variables) is checked by
:mod:`ivr.checks` on the compiled flow, with the same located messages.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field

from hotline.config.validation import StrictModel

PromptSpec = str | list[str] | dict[str, str | list[str]]
Value = str | int | float | bool


class FlowFile(StrictModel):
    description: str = ""
    start: str
    fallback: str | None = None
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    nodes: dict[str, dict[str, Any]]
    tests: list[dict[str, Any]] = []


class NodeSpec(StrictModel):
    note: str = ""  # free text for the administrators; ignored


class PlaySpec(NodeSpec):
    type: Literal["play"]
    prompt: PromptSpec
    next: str


class MenuSpec(NodeSpec):
    type: Literal["menu"]
    prompt: PromptSpec
    options: dict[str | int, str]
    timeout_s: float | None = Field(None, gt=0, le=60)
    retries: int = Field(2, ge=0, le=9)
    invalid_prompt: PromptSpec | None = None
    timeout_prompt: PromptSpec | None = None
    fallback: str | None = None
    store: str | None = None


class GatherSpec(NodeSpec):
    type: Literal["gather"]
    prompt: PromptSpec
    store: str
    min_digits: int = Field(1, ge=1, le=64)
    max_digits: int = Field(20, ge=1, le=64)
    terminator: Literal["#", "*", ""] = "#"
    timeout_s: float = Field(6.0, gt=0, le=60)
    inter_digit_timeout_s: float = Field(3.0, gt=0, le=60)
    pattern: str | None = None
    retries: int = Field(2, ge=0, le=9)
    invalid_prompt: PromptSpec | None = None
    next: str
    fallback: str | None = None
    sensitive: bool = False


class SaySpec(NodeSpec):
    type: Literal["say"]
    say: Literal["digits", "number", "amount", "date"]
    value: Value
    next: str
    sensitive: bool = False


class SetSpec(NodeSpec):
    type: Literal["set"]
    variables: dict[str, Value] = Field(min_length=1)
    export: bool = False
    next: str


class Condition(StrictModel):
    when: Value = Field(alias="if")
    next: str


class BranchSpec(NodeSpec):
    type: Literal["branch"]
    conditions: list[Condition] = Field(min_length=1)
    otherwise: str = Field(alias="else")


class LookupSpec(NodeSpec):
    type: Literal["lookup"]
    by: Literal["phone", "account"] = "phone"
    value: str | None = None
    store: str = "customer"
    timeout_s: float = Field(2.0, gt=0, le=30)
    next: str | None = None
    found: str | None = None
    not_found: str | None = None
    on_error: str | None = None


class LanguageSpec(NodeSpec):
    type: Literal["language"]
    language: str
    skills: dict[str, int] = {}
    next: str


class QueueSpec(NodeSpec):
    type: Literal["queue"]
    queue: str
    skills: dict[str, int] = {}
    priority: int | str = 0
    attributes: dict[str, Value] = {}
    prompt: PromptSpec | None = None


class TransferSpec(NodeSpec):
    type: Literal["transfer"]
    to: str
    context: str = "hotline-transfer"
    prompt: PromptSpec | None = None


class VoicemailSpec(NodeSpec):
    type: Literal["voicemail"]
    mailbox: str
    prompt: PromptSpec | None = None


class CallbackSpec(NodeSpec):
    type: Literal["callback"]
    queue: str
    number: str = "caller_id"
    priority: int | str = 0
    attributes: dict[str, Value] = {}
    prompt: PromptSpec | None = None


class SubflowSpec(NodeSpec):
    type: Literal["subflow"]
    flow: str
    next: str


class ReturnSpec(NodeSpec):
    type: Literal["return"]


class HangupSpec(NodeSpec):
    type: Literal["hangup"]
    prompt: PromptSpec | None = None


NODE_SPECS: dict[str, type[NodeSpec]] = {
    "play": PlaySpec, "menu": MenuSpec, "gather": GatherSpec, "say": SaySpec, "set": SetSpec,
    "branch": BranchSpec, "lookup": LookupSpec, "language": LanguageSpec, "queue": QueueSpec,
    "transfer": TransferSpec, "voicemail": VoicemailSpec, "callback": CallbackSpec,
    "subflow": SubflowSpec, "return": ReturnSpec, "hangup": HangupSpec,
}


class ExpectSpec(StrictModel):
    path: list[str] | None = None
    outcome: dict[str, Any] | None = None
    prompts: list[str] | None = None


class TestSpec(StrictModel):
    name: str
    caller: str
    at: dt.datetime | str | None = None
    digits: str | list[str | int] = []
    customer: dict[str, Any] | None = None
    lookup_error: str | None = None
    expect: ExpectSpec
