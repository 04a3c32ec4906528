"""The IVR interpreter: walks one caller through a flow, without doing any I/O itself.

A :class:`CallSession` is one caller in one flow. The driver asks it what to do next and tells
it what happened, like a dispatcher reading a route card to a driver by radio::

    session = CallSession(flows, "main", caller_id="0301234567", now=now, uniqueid=uid)
    command = session.start()
    while not session.done:
        result = carry_out(command)        # Play -> None, Menu -> Digits("2"), ...
        command = session.send(result)
    outcome = session.outcome              # Queue, Transfer, Voicemail, Callback, Hangup

The last command returned is the outcome itself; the driver carries it out too. If the caller
hangs up, the driver calls :meth:`CallSession.hang_up` instead of ``send``. The time of the call
(``now``, for business hours) is an argument: the interpreter reads no clock, so the simulator
can run it in simulated time.

Any failure inside the flow (an expression that meets bad data, a lookup that fails or times
out, a ``Failure`` result from the driver, a flow that runs in circles) is logged with the
call's unique id and takes the flow's ``fallback`` node; without one, or if the fallback fails
too, the caller is queued to the deployment's default queue. Callers never hear dead air.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Generator, Mapping
from typing import Any

from ivr.commands import (
    Abandoned,
    Callback,
    Command,
    Digits,
    Failure,
    Gather,
    Hangup,
    Lookup,
    LookupFailure,
    LookupResult,
    Menu,
    Outcome,
    Play,
    Queue,
    Result,
    Say,
    SensitiveEnd,
    SensitiveStart,
    SetVariable,
    Transfer,
    Voicemail,
)
from ivr.errors import FlowRuntimeError, IvrError
from ivr.expr import Expression
from ivr.flow import (
    BranchNode,
    CallbackNode,
    Flow,
    FlowSet,
    GatherNode,
    HangupNode,
    LanguageNode,
    LookupNode,
    MenuNode,
    Node,
    PlayNode,
    Prompts,
    QueueNode,
    ReturnNode,
    SayNode,
    SetNode,
    SubflowNode,
    TransferNode,
    VoicemailNode,
    pick_prompts,
)

_RETURN = object()  # a subflow reached a 'return' node
_OUTCOME_TYPES = frozenset({Queue, Transfer, Voicemail, Callback, Hangup})
Step = Generator[Command | Outcome, Result, Any]
DEFAULT_MAX_STEPS = 500


def mask(value: object) -> str:
    """``'4111111111111111'`` -> ``'****************'``: length kept, digits gone."""
    return "*" * len(str(value))


class CallSession:
    """One caller walking through one flow (and its subflows) of one :class:`FlowSet`."""

    def __init__(
        self,
        flows: FlowSet,
        flow: str,
        *,
        caller_id: str,
        now: dt.datetime,
        uniqueid: str = "",
        caller_name: str = "",
        dnid: str = "",
        channel: str = "",
        language: str | None = None,
        max_steps: int = DEFAULT_MAX_STEPS,
        logger: logging.Logger | None = None,
    ) -> None:
        self.flows = flows
        self.flow = flows.get(flow)
        self.uniqueid = uniqueid
        self.max_steps = max_steps
        self.log = logger or logging.getLogger("ivr.call")
        lang = language if language in self.flow.languages else self.flow.languages[0]
        self.variables: dict[str, Any] = {
            "caller_id": caller_id, "caller_name": caller_name, "dnid": dnid,
            "uniqueid": uniqueid, "channel": channel, "lang": lang, "now": now, "digits": "",
        }
        self.path: list[str] = []
        self.prompts: list[str] = []
        self.inputs: dict[str, str] = {}
        self.failures: list[str] = []
        self.skills: dict[str, int] = {}
        self.sensitive: set[str] = set()
        self.outcome: Outcome | Abandoned | None = None
        self._fallback_used: set[str] = set()
        self._steps = 0
        self._run = self._walk(self.flow, "")
        self._started = False

    # -- driver API -------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.outcome is not None

    def start(self) -> Command | Outcome:
        """The first command (or, for a flow that does nothing, the outcome)."""
        if self._started:
            raise IvrError(f"call {self.uniqueid}: the session has already started")
        self._started = True
        return self._advance(next(self._run))

    def send(self, result: Result = None) -> Command | Outcome:
        """The result of the last command; returns the next command or the outcome."""
        if not self._started:
            raise IvrError(f"call {self.uniqueid}: send() before start()")
        if self.outcome is not None:
            raise IvrError(f"call {self.uniqueid}: the flow has already ended with "
                           f"{type(self.outcome).__name__}")
        return self._advance(self._run.send(result))

    def hang_up(self) -> Abandoned:
        """The caller hung up in the middle of the flow."""
        node = self.path[-1] if self.path else self.flow.start
        self.outcome = Abandoned(node)
        self._run.close()
        return self.outcome

    def _advance(self, command: Command | Outcome) -> Command | Outcome:
        if type(command) in _OUTCOME_TYPES:
            self.outcome = command
        return command

    # -- the walk ---------------------------------------------------------------------------------
    def _walk(self, flow: Flow, prefix: str) -> Step:
        """Walk ``flow``; a subflow (non-empty ``prefix``) returns how it ended, the top-level
        flow yields its outcome as the last command (one generator less per step)."""
        node_id = flow.start
        nodes = flow.nodes
        path = self.path
        while True:
            node = nodes[node_id]
            path.append(prefix + node_id)
            self._steps += 1
            try:
                if self._steps > self.max_steps:
                    raise FlowRuntimeError(
                        f"the call went through {self.max_steps} steps without ending; "
                        "the flow probably runs in circles"
                    )
                kind = type(node)
                if kind is PlayNode:  # the commonest node, kept out of a nested generator
                    command = node.commands.get(self.variables["lang"])
                    if command is None:
                        lang = self.variables["lang"]
                        command = Play(node.id, pick_prompts(node.prompts, lang), lang)
                    self.prompts.extend(command.prompts)
                    result = yield command
                    if result is not None:
                        _check(result, command)
                    node_id = node.next
                    continue
                instant = _INSTANT.get(kind)
                if instant is not None:
                    after = instant(self, node)
                    if type(after) is tuple:  # a 'set' node with channel variables to export
                        for command in after[0]:
                            _check((yield command), command)
                        after = after[1]
                else:
                    after = yield from _INTERACTIVE[kind](self, node)
            except FlowRuntimeError as exc:
                after = self._failed(flow, node, str(exc))
            except Exception as exc:  # a defect, not bad data: keep its traceback in the log,
                # but the caller still goes to the fallback rather than into silence
                self.log.exception("call %s: unexpected error in flow '%s' node '%s'",
                                   self.uniqueid, flow.name, node.id)
                after = self._failed(flow, node, f"unexpected {type(exc).__name__}: {exc}")
            if type(after) is str:
                node_id = after
                continue
            if prefix:
                return after
            if after is _RETURN:
                after = self._give_up(f"flow '{flow.name}' reached a 'return' node but was "
                                      "not called as a subflow")
            yield after
            return None

    def _redact(self, text: str) -> str:
        """``text`` with the values of sensitive variables masked (error messages quote data)."""
        for name in self.sensitive:
            value = self.variables.get(name)
            if value:
                text = text.replace(str(value), mask(value))
        return text

    def _failed(self, flow: Flow, node: Node, reason: str) -> str | Outcome:
        reason = self._redact(reason)
        self.failures.append(f"{node.id}: {reason}")
        if flow.fallback and flow.name not in self._fallback_used:
            self._fallback_used.add(flow.name)
            self.log.warning("call %s: flow '%s' node '%s' failed (%s); taking fallback '%s'",
                             self.uniqueid, flow.name, node.id, reason, flow.fallback)
            return flow.fallback
        return self._give_up(f"flow '{flow.name}' node '{node.id}': {reason}")

    def _give_up(self, reason: str) -> Outcome:
        queue = self.flows.default_queue
        self.log.warning("call %s: %s; sending the caller to %s", self.uniqueid, reason,
                         f"default queue '{queue}'" if queue else "hang-up (no default queue)")
        if queue is None:
            return Hangup(f"failure: {reason}")
        return self._queue(queue, self.skills, 0, {}, failure=reason)

    # -- helpers ----------------------------------------------------------------------------------
    def _attributes(self, pairs: tuple[tuple[str, Expression], ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, expression in pairs:
            value = expression.evaluate(self.variables)
            if isinstance(value, dt.datetime | dt.date):
                value = value.isoformat()
            out[name] = mask(value) if expression.names & self.sensitive else value
        return out

    def _customer_id(self) -> str | None:
        customer = self.variables.get("customer")
        if isinstance(customer, Mapping) and customer.get("id") not in (None, ""):
            return str(customer["id"])
        return None

    def _priority(self, expression: Expression) -> int:
        value = expression.evaluate(self.variables)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FlowRuntimeError(f"priority must be a number, not {value!r}")
        return int(value)

    def _queue(self, queue: str, skills: Mapping[str, int], priority: int,
               attributes: dict[str, Any], failure: str | None = None) -> Queue:
        if failure is None and self.failures:
            failure = "; ".join(self.failures)  # the caller came here through a fallback
        return Queue(queue, dict(skills), priority, attributes, self._customer_id(),
                     tuple(self.path), dict(self.inputs), self.variables["lang"], failure)


def _check(result: Result, command: object) -> None:
    if isinstance(result, Failure):
        raise FlowRuntimeError(f"the driver could not carry out {type(command).__name__}: "
                               f"{result.reason}")


def _digits(result: Result, command: object) -> str:
    if isinstance(result, Digits):
        return result.value
    if result is None:
        return ""
    _check(result, command)
    raise FlowRuntimeError(f"{type(command).__name__} needs a Digits result, not {result!r}")


# -- nodes that need no answer from the driver ---------------------------------------------------

def _set(session: CallSession, node: SetNode) -> str | tuple[list[SetVariable], str]:
    for name, expression in node.assignments:
        session.variables[name] = expression.evaluate(session.variables)
    if node.export:
        exports = [SetVariable(name.upper(), str(session.variables[name]))
                   for name, _ in node.assignments]
        return exports, node.next
    return node.next


def _branch(session: CallSession, node: BranchNode) -> str:
    variables = session.variables
    for condition, target in node.conditions:
        if condition.evaluate(variables):
            return target
    return node.otherwise


def _language(session: CallSession, node: LanguageNode) -> str:
    session.variables["lang"] = node.language
    for skill, level in node.skills.items():
        session.skills[skill] = max(level, session.skills.get(skill, 0))
    return node.next


def _return(session: CallSession, node: ReturnNode) -> object:
    return _RETURN


_INSTANT: dict[type, Callable[[CallSession, Any], Any]] = {
    SetNode: _set, BranchNode: _branch, LanguageNode: _language, ReturnNode: _return,
}


# -- nodes that talk to the caller ---------------------------------------------------------------

def _announce(session: CallSession, node_id: str, prompts: Prompts) -> Step:
    """Play an outcome node's prompts (if it has any) before the outcome itself."""
    if not prompts:
        return
    lang = session.variables["lang"]
    command = Play(node_id, pick_prompts(prompts, lang), lang)
    session.prompts.extend(command.prompts)
    _check((yield command), command)


def _menu(session: CallSession, node: MenuNode) -> Step:
    lang = session.variables["lang"]
    base = pick_prompts(node.prompts, lang)
    command: Menu | None = node.first.get(lang)
    for attempt in range(1, node.retries + 2):
        if command is None:
            command = Menu(node.id, base, tuple(node.options), node.timeout_s,
                           max(len(d) for d in node.options), attempt, lang)
        session.prompts.extend(command.prompts)
        choice = _digits((yield command), command)
        target = node.options.get(choice)
        if target is not None:
            session.variables["digits"] = choice
            session.inputs[node.id] = choice
            if node.variable:
                session.variables[node.variable] = choice
            return target
        again = node.invalid_prompts if choice else node.timeout_prompts
        command = Menu(node.id, pick_prompts(again, lang) + base if again else base,
                       tuple(node.options), node.timeout_s,
                       max(len(d) for d in node.options), attempt + 1, lang)
    session.inputs[node.id] = "(no valid choice)"
    return node.fallback


def _gather(session: CallSession, node: GatherNode) -> Step:
    lang = session.variables["lang"]
    base = pick_prompts(node.prompts, lang)
    prompts = base
    if node.sensitive:
        session.sensitive.add(node.variable)
        yield SensitiveStart(node.id)
    try:
        for attempt in range(1, node.retries + 2):
            command = Gather(
                node.id, prompts, node.variable, node.min_digits, node.max_digits,
                node.terminator, node.timeout_s, node.inter_digit_timeout_s,
                node.pattern.pattern if node.pattern else None, attempt, node.sensitive, lang,
            )
            session.prompts.extend(prompts)
            value = _digits((yield command), command)
            if node.terminator and value.endswith(node.terminator):
                value = value[: -len(node.terminator)]
            if (value and node.min_digits <= len(value) <= node.max_digits
                    and (node.pattern is None or node.pattern.fullmatch(value))):
                shown = mask(value) if node.sensitive else value
                session.variables[node.variable] = value
                session.variables["digits"] = shown  # only the named variable holds a secret
                session.inputs[node.variable] = shown
                return node.next
            invalid = pick_prompts(node.invalid_prompts, lang) if node.invalid_prompts else ()
            prompts = invalid + base
    finally:
        if node.sensitive and session.outcome is None:
            yield SensitiveEnd(node.id)
    session.inputs[node.variable] = "(no valid input)"
    if node.fallback:
        return node.fallback
    raise FlowRuntimeError(f"no valid input for '{node.variable}' after {node.retries + 1} tries")


def _say(session: CallSession, node: SayNode) -> Step:
    value = node.value.evaluate(session.variables)
    text = _say_text(node, value)
    command = Say(node.id, node.kind, text, session.variables["lang"])
    if node.sensitive:
        yield SensitiveStart(node.id)
    _check((yield command), command)
    if node.sensitive:
        yield SensitiveEnd(node.id)
    return node.next


def _say_text(node: SayNode, value: Any) -> str:
    kind = node.kind
    if kind == "date":
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()[:10]
        try:
            return dt.date.fromisoformat(str(value)[:10]).isoformat()
        except ValueError:
            raise FlowRuntimeError(f"cannot say {value!r} as a date") from None
    if kind == "digits":
        text = str(value) if value is not None else ""
        if not text or not all(c.isdigit() or c in "*#" for c in text):
            raise FlowRuntimeError(f"cannot say {value!r} as digits")
        return text
    try:
        number = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None:
        what = "an amount" if kind == "amount" else "a number"
        raise FlowRuntimeError(f"cannot say {value!r} as {what}")
    return f"{number:.2f}" if kind == "amount" else str(int(number))


def _lookup(session: CallSession, node: LookupNode) -> Step:
    value = node.value.evaluate(session.variables)
    command = Lookup(node.id, node.by, "" if value is None else str(value), node.timeout_s)
    result = yield command
    if isinstance(result, LookupResult):
        session.variables[node.variable] = result.customer
        return node.found if result.customer is not None else node.not_found
    reason = result.reason if isinstance(result, LookupFailure | Failure) else repr(result)
    if node.on_error:
        session.failures.append(f"{node.id}: lookup failed: {reason}")
        session.log.warning("call %s: lookup '%s' failed (%s); going to '%s'",
                            session.uniqueid, node.id, reason, node.on_error)
        session.variables[node.variable] = None
        return node.on_error
    raise FlowRuntimeError(f"customer lookup failed: {reason}")


def _queue(session: CallSession, node: QueueNode) -> Step:
    yield from _announce(session, node.id, node.prompts)
    skills = dict(session.skills)
    for skill, level in node.skills.items():
        skills[skill] = max(level, skills.get(skill, 0))
    return session._queue(node.queue, skills, session._priority(node.priority),
                          session._attributes(node.attributes))


def _transfer(session: CallSession, node: TransferNode) -> Step:
    yield from _announce(session, node.id, node.prompts)
    return Transfer(str(node.destination.evaluate(session.variables)), node.context)


def _voicemail(session: CallSession, node: VoicemailNode) -> Step:
    yield from _announce(session, node.id, node.prompts)
    return Voicemail(node.mailbox)


def _callback(session: CallSession, node: CallbackNode) -> Step:
    number = node.number.evaluate(session.variables)
    if not number:
        raise FlowRuntimeError("there is no number to call back (the caller ID is hidden)")
    attributes = session._attributes(node.attributes)
    priority = session._priority(node.priority)
    yield from _announce(session, node.id, node.prompts)
    return Callback(node.queue, str(number), priority, attributes, session._customer_id(),
                    tuple(session.path), dict(session.inputs), session.variables["lang"])


def _hangup(session: CallSession, node: HangupNode) -> Step:
    yield from _announce(session, node.id, node.prompts)
    return Hangup()


def _subflow(session: CallSession, node: SubflowNode) -> Step:
    flow = session.flows.get(node.flow)
    ended = yield from session._walk(flow, flow.name + "/")
    return node.next if ended is _RETURN else ended


_INTERACTIVE: dict[type, Callable[[CallSession, Any], Step]] = {
    MenuNode: _menu, GatherNode: _gather, SayNode: _say,
    LookupNode: _lookup, QueueNode: _queue, TransferNode: _transfer,
    VoicemailNode: _voicemail, CallbackNode: _callback, HangupNode: _hangup,
    SubflowNode: _subflow,
}

