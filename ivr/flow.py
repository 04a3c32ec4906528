"""Compiled flows: immutable nodes, built once from YAML and shared by every call.

A *flow* is a set of named nodes with a start node, like a railway map: each node does one
thing (play a prompt, ask for a choice, look up the customer, ...) and names the node that
comes next. :mod:`ivr.loader` validates the YAML and compiles it into these frozen
dataclasses: expressions are parsed, patterns compiled and the commands that do not depend on
the caller (a ``Play`` of fixed prompts) pre-built, so a call only walks pointers.

A :class:`FlowSet` is one consistent version of every flow of a deployment. The FastAGI
runtime swaps in a new FlowSet when the files change; a call keeps the FlowSet it started with.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ivr.commands import Menu, Play
from ivr.errors import UnknownFlowError
from ivr.expr import Expression

Prompts = Mapping[str, tuple[str, ...]]  # language -> sound names; "" = any language


def pick_prompts(prompts: Prompts, language: str) -> tuple[str, ...]:
    """The prompts for ``language``; else the language-neutral ones; else the first given."""
    found = prompts.get(language)
    if found is not None:
        return found
    found = prompts.get("")
    if found is not None:
        return found
    return next(iter(prompts.values()), ())


@dataclass(frozen=True, slots=True)
class PlayNode:
    id: str
    prompts: Prompts
    next: str
    commands: Mapping[str, Play]  # language -> pre-built command


@dataclass(frozen=True, slots=True)
class MenuNode:
    id: str
    prompts: Prompts
    options: Mapping[str, str]  # digits -> node id
    timeout_s: float
    retries: int
    invalid_prompts: Prompts
    timeout_prompts: Prompts
    fallback: str
    variable: str | None
    first: Mapping[str, Menu]  # language -> first-attempt command


@dataclass(frozen=True, slots=True)
class GatherNode:
    id: str
    prompts: Prompts
    variable: str
    min_digits: int
    max_digits: int
    terminator: str
    timeout_s: float
    inter_digit_timeout_s: float
    pattern: re.Pattern[str] | None
    retries: int
    invalid_prompts: Prompts
    next: str
    fallback: str | None
    sensitive: bool


@dataclass(frozen=True, slots=True)
class SayNode:
    id: str
    kind: Literal["digits", "number", "amount", "date"]
    value: Expression
    next: str
    sensitive: bool


@dataclass(frozen=True, slots=True)
class SetNode:
    id: str
    assignments: tuple[tuple[str, Expression], ...]
    export: bool
    next: str


@dataclass(frozen=True, slots=True)
class BranchNode:
    id: str
    conditions: tuple[tuple[Expression, str], ...]
    otherwise: str


@dataclass(frozen=True, slots=True)
class LookupNode:
    id: str
    by: Literal["phone", "account"]
    value: Expression
    variable: str
    timeout_s: float
    found: str
    not_found: str
    on_error: str | None


@dataclass(frozen=True, slots=True)
class LanguageNode:
    id: str
    language: str
    skills: Mapping[str, int]
    next: str


@dataclass(frozen=True, slots=True)
class QueueNode:
    id: str
    queue: str
    skills: Mapping[str, int]
    priority: Expression
    attributes: tuple[tuple[str, Expression], ...]
    prompts: Prompts


@dataclass(frozen=True, slots=True)
class TransferNode:
    id: str
    destination: Expression
    context: str
    prompts: Prompts


@dataclass(frozen=True, slots=True)
class VoicemailNode:
    id: str
    mailbox: str
    prompts: Prompts


@dataclass(frozen=True, slots=True)
class CallbackNode:
    id: str
    queue: str
    number: Expression
    priority: Expression
    attributes: tuple[tuple[str, Expression], ...]
    prompts: Prompts


@dataclass(frozen=True, slots=True)
class SubflowNode:
    id: str
    flow: str
    next: str


@dataclass(frozen=True, slots=True)
class ReturnNode:
    id: str


@dataclass(frozen=True, slots=True)
class HangupNode:
    id: str
    prompts: Prompts


Node = (
    PlayNode | MenuNode | GatherNode | SayNode | SetNode | BranchNode | LookupNode | LanguageNode
    | QueueNode | TransferNode | VoicemailNode | CallbackNode | SubflowNode | ReturnNode
    | HangupNode
)
TERMINAL = (QueueNode, TransferNode, VoicemailNode, CallbackNode, HangupNode, ReturnNode)


@dataclass(frozen=True, slots=True)
class FlowTest:
    """A test case written in the flow file: scripted input and the expected result."""

    name: str
    caller: str
    at: dt.datetime | None
    digits: tuple[str, ...]
    customer: Mapping[str, Any] | None
    lookup_error: str | None
    expect_path: tuple[str, ...] | None
    expect_outcome: Mapping[str, Any] | None
    expect_prompts: tuple[str, ...] | None
    line: int


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    file: str
    description: str
    start: str
    fallback: str | None
    languages: tuple[str, ...]
    nodes: Mapping[str, Node]
    tests: tuple[FlowTest, ...] = ()


@dataclass(frozen=True, slots=True)
class FlowSet:
    """Every flow of one deployment version.

    ``default_queue`` (routing.yaml ``settings.default_queue``) is where a caller goes when a
    flow fails and declares no fallback of its own. ``version`` is a digest of the source files.
    """

    flows: Mapping[str, Flow]
    default_queue: str | None
    version: str

    def __contains__(self, name: object) -> bool:
        return name in self.flows

    def get(self, name: str) -> Flow:
        try:
            return self.flows[name]
        except KeyError:
            known = ", ".join(sorted(self.flows)) or "none"
            raise UnknownFlowError(
                f"there is no IVR flow '{name}' (flows: {known})"
            ) from None
