"""Load ``config/ivr/*.yaml`` into a :class:`~ivr.flow.FlowSet`, reporting every mistake.

:func:`load_section` is the IVR *section loader* of :func:`hotline.config.loader.load_deployment`
(``sections={"ivr": ivr.loader.load_section}``): it validates each flow file (one flow per
file, named after the file), compiles it, runs the cross-checks of :mod:`ivr.checks` and adds
located diagnostics. Flows with errors are left out of the FlowSet it returns.
:func:`load_flows` is the one-call version for the command line and the FastAGI runtime.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Hashable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from hotline.config.diagnostics import Diagnostic, Diagnostics, did_you_mean
from hotline.config.loader import Deployment, load_deployment
from hotline.config.validation import validate_document
from hotline.config.yamlsource import YamlDocument
from ivr import schema
from ivr.commands import Menu, Play
from ivr.errors import ExpressionError, IvrError
from ivr.expr import Expression, compile_expression
from ivr.flow import (
    BranchNode,
    CallbackNode,
    Flow,
    FlowSet,
    FlowTest,
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

FLOW_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
VARIABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_DTMF = re.compile(r"[0-9*#]*")
Path_ = tuple[Hashable, ...]


def load_section(deployment: Deployment, documents: list[YamlDocument],
                 diags: Diagnostics) -> FlowSet:
    """The IVR section loader: every flow file of the deployment, checked and compiled."""
    from ivr.checks import check_flows

    compiled: dict[str, tuple[Flow, FlowSource]] = {}
    for document in documents:
        source = FlowSource(document, deployment, diags)
        flow = source.compile()
        if flow is not None:
            compiled[flow.name] = (flow, source)
    failed = check_flows(deployment, compiled, diags)
    default_queue = deployment.routing.settings.default_queue if deployment.routing else None
    digest = hashlib.sha256()
    for document in documents:
        digest.update(document.name.encode())
        digest.update(document.path.read_bytes() if document.path.exists() else b"")
    flows = {name: flow for name, (flow, source) in compiled.items()
             if not source.errors and name not in failed}
    return FlowSet(MappingProxyType(flows), default_queue, digest.hexdigest()[:12])


def load_flows(root: Path | str, *, raise_on_error: bool = True) -> tuple[FlowSet, Deployment]:
    """Load a deployment folder with its IVR flows; raise ConfigError on any error."""
    deployment = load_deployment(root, {"ivr": load_section}, raise_on_error=raise_on_error)
    return deployment.sections["ivr"], deployment


class FlowSource:
    """One flow file being compiled; remembers where each node came from for the checks."""

    def __init__(self, document: YamlDocument, deployment: Deployment, diags: Diagnostics):
        self.document = document
        self.deployment = deployment
        self.diags = diags
        self.name = Path(document.name).stem
        self.errors = 0
        self.specs: dict[str, schema.NodeSpec] = {}
        # (node id, path, expression, variables the node itself set just before) for the
        # variable and calendar checks
        self.expressions: list[tuple[str, Path_, Expression, frozenset[str]]] = []
        # (prompt name, language or "", path) for the sound-file check
        self.prompt_refs: list[tuple[str, str, Path_]] = []
        self.languages: tuple[str, ...] = ("en",)

    def error(self, path: Path_, message: str, *, key: bool = False) -> None:
        self.errors += 1
        self.diags.add(self.document.diagnostic(path, message, key=key))

    # -- compilation ------------------------------------------------------------------------------
    def compile(self) -> Flow | None:
        doc = self.document
        if not FLOW_NAME.match(self.name):
            self.diags.add(Diagnostic(
                doc.name, 0, 0,
                f"'{self.name}' is not a usable flow name; name flow files in lower case "
                "letters, digits, '-' and '_', like main.yaml",
            ))
            return None
        if not isinstance(doc.data, dict):
            self.error((), "a flow file must be a block of keys and values (start, nodes, ...)")
            return None
        spec, problems = validate_document(schema.FlowFile, doc)
        self.diags.extend(problems)
        if spec is None:
            self.errors += len(problems)
            return None
        self.languages = tuple(spec.languages)
        nodes: dict[str, Node] = {}
        for node_id, raw in spec.nodes.items():
            node = self.compile_node(str(node_id), raw)
            if node is not None:
                nodes[str(node_id)] = node
        tests = tuple(
            test for index, raw in enumerate(spec.tests)
            if (test := self.compile_test(index, raw)) is not None
        )
        return Flow(
            name=self.name, file=doc.name, description=spec.description, start=spec.start,
            fallback=spec.fallback, languages=self.languages, nodes=MappingProxyType(nodes),
            tests=tests,
        )

    def compile_node(self, node_id: str, raw: dict[str, Any]) -> Node | None:
        base: Path_ = ("nodes", node_id)
        kind = raw.get("type")
        if kind is None:
            self.error(base, f"node '{node_id}' has no 'type'; use one of "
                       + ", ".join(schema.NODE_SPECS), key=True)
            return None
        model = schema.NODE_SPECS.get(kind) if isinstance(kind, str) else None
        if model is None:
            hint = did_you_mean(str(kind), schema.NODE_SPECS) or (
                "; use one of " + ", ".join(schema.NODE_SPECS))
            self.error((*base, "type"), f"node '{node_id}' has unknown type '{kind}'{hint}")
            return None
        spec, problems = validate_document(model, self.document, data=raw, prefix=base)
        if spec is None:
            self.errors += len(problems)
            self.diags.extend(problems)
            return None
        self.specs[node_id] = spec
        builder = getattr(self, f"_build_{kind}")
        return builder(node_id, base, spec)

    def expression(self, node_id: str, path: Path_, text: Any,
                   earlier: frozenset[str] = frozenset()) -> Expression:
        try:
            compiled = compile_expression(text, self.deployment.calendars)
        except ExpressionError as exc:
            self.error(path, f"in node '{node_id}', {text!r} is not a valid expression: {exc}")
            compiled = compile_expression(False)
        self.expressions.append((node_id, path, compiled, earlier))
        return compiled

    def prompts(self, path: Path_, spec: schema.PromptSpec | None) -> Prompts:
        if spec is None:
            return MappingProxyType({})
        if isinstance(spec, dict):
            out: dict[str, tuple[str, ...]] = {}
            for language, names in spec.items():
                if language not in self.languages:
                    self.error((*path, language),
                               f"prompt language '{language}' is not one of this flow's "
                               f"languages ({', '.join(self.languages)})", key=True)
                out[language] = self._names((*path, language), names, language)
            return MappingProxyType(out)
        return MappingProxyType({"": self._names(path, spec, "")})

    def _names(self, path: Path_, names: str | list[str], language: str) -> tuple[str, ...]:
        if isinstance(names, str):
            self.prompt_refs.append((names, language, path))
            return (names,)
        for index, name in enumerate(names):
            self.prompt_refs.append((name, language, (*path, index)))
        return tuple(names)

    def variable_name(self, path: Path_, name: str, *, key: bool = False) -> None:
        if not VARIABLE_NAME.match(name):
            self.error(path, f"'{name}' is not a usable variable name; use lower case letters, "
                       "digits and '_', starting with a letter", key=key)

    def _build_play(self, node_id: str, base: Path_, spec: schema.PlaySpec) -> Node:
        prompts = self.prompts((*base, "prompt"), spec.prompt)
        commands = {lang: Play(node_id, pick_prompts(prompts, lang), lang)
                    for lang in self.languages}
        return PlayNode(node_id, prompts, spec.next, MappingProxyType(commands))

    def _build_menu(self, node_id: str, base: Path_, spec: schema.MenuSpec) -> Node:
        prompts = self.prompts((*base, "prompt"), spec.prompt)
        options: dict[str, str] = {}
        for key, target in spec.options.items():
            digits = str(key)
            if not re.fullmatch(r"[0-9*#]{1,8}", digits):
                self.error((*base, "options", key),
                           f"menu option '{digits}' is not a key on a phone; use digits, * or #",
                           key=True)
            options[digits] = target
        if not options:
            self.error((*base, "options"), f"menu '{node_id}' has no options")
        if spec.store is not None:
            self.variable_name((*base, "store"), spec.store)
        timeout = spec.timeout_s or 5.0
        max_digits = max((len(d) for d in options), default=1)
        first = {lang: Menu(node_id, pick_prompts(prompts, lang), tuple(options), timeout,
                            max_digits, 1, lang) for lang in self.languages}
        return MenuNode(
            node_id, prompts, MappingProxyType(options), timeout, spec.retries,
            self.prompts((*base, "invalid_prompt"), spec.invalid_prompt),
            self.prompts((*base, "timeout_prompt"), spec.timeout_prompt),
            spec.fallback or "", spec.store, MappingProxyType(first),
        )

    def _build_gather(self, node_id: str, base: Path_, spec: schema.GatherSpec) -> Node:
        self.variable_name((*base, "store"), spec.store)
        if spec.min_digits > spec.max_digits:
            self.error((*base, "min_digits"),
                       f"min_digits {spec.min_digits} is more than max_digits {spec.max_digits}")
        pattern = None
        if spec.pattern is not None:
            try:
                pattern = re.compile(spec.pattern)
            except re.error as exc:
                self.error((*base, "pattern"),
                           f"the pattern {spec.pattern!r} is not a valid regular expression: "
                           f"{exc.msg} at position {exc.pos}")
        return GatherNode(
            node_id, self.prompts((*base, "prompt"), spec.prompt), spec.store, spec.min_digits,
            spec.max_digits, spec.terminator, spec.timeout_s, spec.inter_digit_timeout_s,
            pattern, spec.retries, self.prompts((*base, "invalid_prompt"), spec.invalid_prompt),
            spec.next, spec.fallback, spec.sensitive,
        )

    def _build_say(self, node_id: str, base: Path_, spec: schema.SaySpec) -> Node:
        value = self.expression(node_id, (*base, "value"), spec.value)
        return SayNode(node_id, spec.say, value, spec.next, spec.sensitive)

    def _build_set(self, node_id: str, base: Path_, spec: schema.SetSpec) -> Node:
        assignments = []
        for name, text in spec.variables.items():
            self.variable_name((*base, "variables", name), name, key=True)
            earlier = frozenset(n for n, _ in assignments)  # {a: 1, b: "a + 1"} reads a
            assignments.append(
                (name, self.expression(node_id, (*base, "variables", name), text, earlier)))
        return SetNode(node_id, tuple(assignments), spec.export, spec.next)

    def _build_branch(self, node_id: str, base: Path_, spec: schema.BranchSpec) -> Node:
        conditions = tuple(
            (self.expression(node_id, (*base, "conditions", i, "if"), c.when), c.next)
            for i, c in enumerate(spec.conditions)
        )
        return BranchNode(node_id, conditions, spec.otherwise)

    def _build_lookup(self, node_id: str, base: Path_, spec: schema.LookupSpec) -> Node:
        self.variable_name((*base, "store"), spec.store)
        if spec.value is None and spec.by == "account":
            self.error(base, f"lookup '{node_id}' is by account but names no 'value'; add the "
                       "variable holding the account number, for example 'value: account'",
                       key=True)
        value = self.expression(node_id, (*base, "value"), spec.value or "caller_id")
        found = spec.found or spec.next
        not_found = spec.not_found or spec.next
        if found is None or not_found is None:
            self.error(base, f"lookup '{node_id}' needs 'next', or both 'found' and "
                       "'not_found'", key=True)
        return LookupNode(node_id, spec.by, value, spec.store, spec.timeout_s, found or "",
                          not_found or "", spec.on_error)

    def _build_language(self, node_id: str, base: Path_, spec: schema.LanguageSpec) -> Node:
        if spec.language not in self.languages:
            self.error((*base, "language"),
                       f"language '{spec.language}' is not one of this flow's languages "
                       f"({', '.join(self.languages)}); add it to 'languages' at the top")
        return LanguageNode(node_id, spec.language, MappingProxyType(dict(spec.skills)),
                            spec.next)

    def _attributes(self, node_id: str, base: Path_,
                    attributes: Mapping[str, Any]) -> tuple[tuple[str, Expression], ...]:
        return tuple((name, self.expression(node_id, (*base, "attributes", name), text))
                     for name, text in attributes.items())

    def _build_queue(self, node_id: str, base: Path_, spec: schema.QueueSpec) -> Node:
        return QueueNode(
            node_id, spec.queue, MappingProxyType(dict(spec.skills)),
            self.expression(node_id, (*base, "priority"), spec.priority),
            self._attributes(node_id, base, spec.attributes),
            self.prompts((*base, "prompt"), spec.prompt),
        )

    def _build_transfer(self, node_id: str, base: Path_, spec: schema.TransferSpec) -> Node:
        if not re.fullmatch(r"\+?[0-9*#]{1,32}", spec.to):
            self.error((*base, "to"), f"transfer destination '{spec.to}' is not a phone number "
                       "or extension (digits, optionally starting with +)")
        return TransferNode(node_id, compile_expression(repr(spec.to)), spec.context,
                            self.prompts((*base, "prompt"), spec.prompt))

    def _build_voicemail(self, node_id: str, base: Path_, spec: schema.VoicemailSpec) -> Node:
        return VoicemailNode(node_id, spec.mailbox, self.prompts((*base, "prompt"), spec.prompt))

    def _build_callback(self, node_id: str, base: Path_, spec: schema.CallbackSpec) -> Node:
        return CallbackNode(
            node_id, spec.queue, self.expression(node_id, (*base, "number"), spec.number),
            self.expression(node_id, (*base, "priority"), spec.priority),
            self._attributes(node_id, base, spec.attributes),
            self.prompts((*base, "prompt"), spec.prompt),
        )

    def _build_subflow(self, node_id: str, base: Path_, spec: schema.SubflowSpec) -> Node:
        return SubflowNode(node_id, spec.flow, spec.next)

    def _build_return(self, node_id: str, base: Path_, spec: schema.ReturnSpec) -> Node:
        return ReturnNode(node_id)

    def _build_hangup(self, node_id: str, base: Path_, spec: schema.HangupSpec) -> Node:
        return HangupNode(node_id, self.prompts((*base, "prompt"), spec.prompt))

    # -- embedded test cases ----------------------------------------------------------------------
    def compile_test(self, index: int, raw: dict[str, Any]) -> FlowTest | None:
        base: Path_ = ("tests", index)
        spec, problems = validate_document(schema.TestSpec, self.document, data=raw, prefix=base)
        if spec is None:
            self.errors += len(problems)
            self.diags.extend(problems)
            return None
        at = spec.at
        if isinstance(at, str):
            try:
                at = dt.datetime.fromisoformat(at)
            except ValueError:
                self.error((*base, "at"), f"'{at}' is not a date and time such as "
                           "2026-12-24T10:30")
                return None
        try:
            digits = parse_digits(spec.digits)
        except IvrError as exc:
            self.error((*base, "digits"), str(exc))
            return None
        expect = spec.expect
        return FlowTest(
            name=spec.name, caller=spec.caller, at=at, digits=digits,
            customer=spec.customer, lookup_error=spec.lookup_error,
            expect_path=tuple(expect.path) if expect.path is not None else None,
            expect_outcome=expect.outcome,
            expect_prompts=tuple(expect.prompts) if expect.prompts is not None else None,
            line=self.document.position(base)[0],
        )


def parse_digits(script: str | list[str | int] | tuple[str, ...]) -> tuple[str, ...]:
    """``"1,2,0123456789#"`` or ``["1", 2]`` -> one answer per menu or gather; '' = timeout.

    An answer with anything but phone keys (0-9, * and #) is an :class:`IvrError`: a caller
    cannot press it, so a script that does is a typo, not a test of invalid input.
    """
    if isinstance(script, str):
        answers = tuple(part.strip() for part in script.split(",")) if script else ()
    else:
        answers = tuple(str(item) for item in script)
    for answer in answers:
        if not _DTMF.fullmatch(answer):
            raise IvrError(f"answer {answer!r} has keys a phone does not have; use digits, "
                           "* and # (and '' for no input)")
    return answers
