"""Whole-flow checks: references, reachability, loops, variables, queues, calendars, sounds.

Each check reads a compiled :class:`~ivr.flow.Flow` and reports through the flow file's
:class:`~ivr.loader.FlowSource`, so every message is located at the YAML key or value at
fault. The variable check is a forward data-flow analysis: a variable counts as set at a node
only when *every* path from the start sets it before, which is what "never read before set"
means for a caller who may take any path.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from hotline.config.diagnostics import Diagnostics, did_you_mean
from hotline.config.loader import Deployment
from ivr.flow import (
    TERMINAL,
    BranchNode,
    CallbackNode,
    Flow,
    GatherNode,
    LanguageNode,
    LookupNode,
    MenuNode,
    Node,
    PlayNode,
    QueueNode,
    ReturnNode,
    SayNode,
    SetNode,
    SubflowNode,
)
from ivr.schema import MenuSpec

if TYPE_CHECKING:
    from ivr.loader import FlowSource

BUILTIN_VARIABLES = frozenset(
    {"caller_id", "caller_name", "dnid", "uniqueid", "channel", "lang", "now", "digits"}
)
SOUND_EXTENSIONS = ("wav", "gsm", "ulaw", "alaw", "sln", "sln16", "g722", "g729", "mp3")
Path_ = tuple[Hashable, ...]
Edge = tuple[str, frozenset[str], Path_]  # target, variables set on the way, path of the key


def edges(node: Node, returns: dict[str, frozenset[str]]) -> Iterator[Edge]:
    """Every way out of ``node``: target id, variables it sets, where the target is named."""
    base: Path_ = ("nodes", node.id)
    none: frozenset[str] = frozenset()
    if isinstance(node, PlayNode | SayNode | LanguageNode):
        yield node.next, none, (*base, "next")
    elif isinstance(node, SetNode):
        yield node.next, frozenset(name for name, _ in node.assignments), (*base, "next")
    elif isinstance(node, MenuNode):
        stored = frozenset({node.variable}) if node.variable else none
        for digits, target in node.options.items():
            yield target, stored, (*base, "options", _option_key(node, digits))
        if node.fallback:
            yield node.fallback, none, (*base, "fallback")
    elif isinstance(node, GatherNode):
        yield node.next, frozenset({node.variable}), (*base, "next")
        if node.fallback:
            yield node.fallback, none, (*base, "fallback")
    elif isinstance(node, BranchNode):
        for index, (_, target) in enumerate(node.conditions):
            yield target, none, (*base, "conditions", index, "next")
        yield node.otherwise, none, (*base, "else")
    elif isinstance(node, LookupNode):
        stored = frozenset({node.variable})
        found_key = "found" if node.found != node.not_found else "next"
        yield node.found, stored, (*base, found_key)
        yield node.not_found, stored, (*base, "not_found" if found_key == "found" else "next")
        if node.on_error:
            # the interpreter stores none on the error path, so the variable is set there too
            yield node.on_error, stored, (*base, "on_error")
    elif isinstance(node, SubflowNode):
        yield node.next, returns.get(node.flow, none), (*base, "next")


def _option_key(node: MenuNode, digits: str) -> Hashable:
    # YAML may have written the option as a number (1:) or as text ("1":)
    return int(digits) if digits.isdigit() and str(int(digits)) == digits else digits


def check_flows(deployment: Deployment, compiled: dict[str, tuple[Flow, FlowSource]],
                diags: Diagnostics) -> set[str]:
    """Run every check; return the names of flows that have errors."""
    order = _call_order(compiled)
    returns: dict[str, frozenset[str]] = {}
    entry: dict[str, frozenset[str]] = {}
    dangling: set[str] = set()
    for name in order:  # callees first, so a caller knows what its subflows set
        flow, source = compiled[name]
        if not _check_references(flow, source, compiled):
            dangling.add(name)
        returns[name] = _variables(flow, source, returns, BUILTIN_VARIABLES, report=False)[1]
    # a subflow sees what every caller has set when it calls it
    calls: dict[str, frozenset[str] | None] = {}
    for name in order:
        flow, source = compiled[name]
        inputs, _ = _variables(flow, source, returns, BUILTIN_VARIABLES, report=False)
        for node in flow.nodes.values():
            if isinstance(node, SubflowNode) and node.id in inputs:
                before = calls.get(node.flow)
                calls[node.flow] = inputs[node.id] if before is None else before & inputs[node.id]
    for name in order:
        entry[name] = BUILTIN_VARIABLES | (calls.get(name) or frozenset())
        flow, source = compiled[name]
        _variables(flow, source, returns, entry[name], report=True)
        if name not in dangling:
            # a misspelt 'next' cuts off everything behind it; which nodes are really
            # unreachable is known only once it is fixed, so one typo gives one error
            _check_reachable(flow, source, returns)
        _check_loops(flow, source, returns)
        _check_menus(flow, source)
        _check_deployment(deployment, flow, source)
        _check_sounds(deployment, source)
    _check_recursion(compiled)
    return {name for name, (_, source) in compiled.items() if source.errors}


def _call_order(compiled: dict[str, tuple[Flow, FlowSource]]) -> list[str]:
    """Flows with their subflows before them (cycles are reported by _check_recursion)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name not in compiled:
            return
        seen.add(name)
        for node in compiled[name][0].nodes.values():
            if isinstance(node, SubflowNode):
                visit(node.flow)
        order.append(name)

    for name in sorted(compiled):
        visit(name)
    return order


def _check_references(flow: Flow, source: FlowSource,
                      compiled: dict[str, tuple[Flow, FlowSource]]) -> bool:
    """Report references to nodes and flows that do not exist.

    False when some exit leads to no compiled node (misspelt, or a node with errors of its own).
    """
    ids = list(flow.nodes) + [n for n in source.document.data.get("nodes", {})
                              if n not in flow.nodes]
    whole = True
    if flow.start not in ids:
        source.error(("start",), f"the start node '{flow.start}' is not a node of this flow"
                     f"{did_you_mean(flow.start, ids)}")
    if flow.fallback is not None and flow.fallback not in ids:
        whole = False
        source.error(("fallback",), f"the fallback node '{flow.fallback}' is not a node of "
                     f"this flow{did_you_mean(flow.fallback, ids)}")
    for node in flow.nodes.values():
        for target, _, path in edges(node, {}):
            if target and target not in flow.nodes:
                whole = False  # a missing node, or one with errors of its own
            if target and target not in ids:
                source.error(path, f"node '{node.id}' goes to '{target}', which is not a node "
                             f"of this flow{did_you_mean(target, ids)}")
        if isinstance(node, SubflowNode) and node.flow not in compiled:
            source.error(("nodes", node.id, "flow"),
                         f"node '{node.id}' calls flow '{node.flow}', which does not exist"
                         f"{did_you_mean(node.flow, compiled)}")
    return whole


def _variables(flow: Flow, source: FlowSource, returns: dict[str, frozenset[str]],
               start: frozenset[str], *, report: bool
               ) -> tuple[dict[str, frozenset[str]], frozenset[str]]:
    """Variables set on every path into each node; and those set at every ``return``."""
    into: dict[str, frozenset[str]] = {}
    work: list[str] = []
    for root in (flow.start, flow.fallback):
        if root in flow.nodes:
            into[root] = start if root not in into else into[root] & start
            work.append(root)
    while work:
        node_id = work.pop()
        node = flow.nodes[node_id]
        for target, sets, _ in edges(node, returns):
            if target not in flow.nodes:
                continue
            arriving = into[node_id] | sets
            before = into.get(target)
            after = arriving if before is None else before & arriving
            if after != before:
                into[target] = after
                work.append(target)
    ends = [into[n.id] for n in flow.nodes.values() if isinstance(n, ReturnNode) and n.id in into]
    returned = frozenset.intersection(*ends) if ends else frozenset()
    if report:
        everywhere = set(BUILTIN_VARIABLES)
        for node in flow.nodes.values():
            for _, sets, _ in edges(node, returns):
                everywhere |= sets
        for node_id, path, expression, earlier in source.expressions:
            if node_id not in into:
                continue
            for name in sorted(expression.names - into[node_id] - earlier):
                if name in everywhere:
                    source.error(path, f"node '{node_id}' reads variable '{name}', which is not "
                                 "set on every path that leads here; set it on each path "
                                 "before, or read it only after the node that sets it")
                else:
                    source.error(path, f"node '{node_id}' reads variable '{name}', which no "
                                 f"node sets{did_you_mean(name, everywhere)}")
    return into, returned


def _reachable(flow: Flow, returns: dict[str, frozenset[str]]) -> set[str]:
    seen: set[str] = set()
    work = [n for n in (flow.start, flow.fallback) if n in flow.nodes]
    while work:
        node_id = work.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        work.extend(t for t, _, _ in edges(flow.nodes[node_id], returns) if t in flow.nodes)
    return seen


def _check_reachable(flow: Flow, source: FlowSource, returns: dict[str, frozenset[str]]) -> None:
    if flow.start not in flow.nodes:
        return
    seen = _reachable(flow, returns)
    for node_id in flow.nodes:
        if node_id not in seen:
            source.error(("nodes", node_id),
                         f"node '{node_id}' can never be reached from the start node "
                         f"'{flow.start}'; link it from another node or delete it", key=True)


def _check_loops(flow: Flow, source: FlowSource, returns: dict[str, frozenset[str]]) -> None:
    """A group of nodes that lead only to each other, with no input and no way out."""
    graph = {n: [t for t, _, _ in edges(node, returns) if t in flow.nodes]
             for n, node in flow.nodes.items()}
    for component in _strongly_connected(graph):
        members = set(component)
        if len(component) == 1 and component[0] not in graph[component[0]]:
            continue
        leaves = any(t not in members for n in component for t in graph[n])
        # menus and gathers always have a way out (their fallback), so do subflows and
        # nodes whose failure path is the flow's fallback
        has_exit = any(
            isinstance(flow.nodes[n], (*TERMINAL, MenuNode, GatherNode, SubflowNode))
            or (isinstance(flow.nodes[n], LookupNode) and not flow.nodes[n].on_error)
            for n in component
        )
        if not leaves and not has_exit:
            ordered = [n for n in flow.nodes if n in members]
            cycle = " -> ".join([*ordered, ordered[0]])
            source.error(("nodes", ordered[0]),
                         f"nodes {cycle} form a loop that callers can never leave; add a way "
                         "out, such as a branch to another node, a menu, or a queue", key=True)


def _strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (flows may be long chains)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = graph[node]
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return result


def _check_menus(flow: Flow, source: FlowSource) -> None:
    for node_id, spec in source.specs.items():
        if not isinstance(spec, MenuSpec):
            continue
        if spec.timeout_s is None:
            source.error(("nodes", node_id),
                         f"menu '{node_id}' has no timeout_s: a caller who presses nothing "
                         "would wait forever; add for example 'timeout_s: 5'", key=True)
        if spec.fallback is None:
            tries = spec.retries + 1
            source.error(("nodes", node_id),
                         f"menu '{node_id}' has no fallback: say where callers go after "
                         f"{tries} missing or invalid choices, for example 'fallback: operator'",
                         key=True)


def _check_deployment(deployment: Deployment, flow: Flow, source: FlowSource) -> None:
    routing = deployment.routing
    if flow.fallback is None and routing is not None and routing.settings.default_queue is None:
        source.error(("start",), "this flow declares no 'fallback' and routing.yaml has no "
                     "settings.default_queue, so a call that fails here would have nowhere to "
                     "go; add 'fallback: <node>' to the flow", key=True)
    if routing is not None:
        for node in flow.nodes.values():
            if isinstance(node, QueueNode | CallbackNode) and node.queue not in routing.queues:
                source.error(("nodes", node.id, "queue"),
                             f"queue '{node.queue}' is not defined in routing.yaml"
                             f"{did_you_mean(node.queue, routing.queues)}")
            if isinstance(node, QueueNode | LanguageNode):
                for skill in node.skills:
                    if skill not in routing.skills:
                        source.error(("nodes", node.id, "skills", skill),
                                     f"skill '{skill}' is not defined in routing.yaml"
                                     f"{did_you_mean(skill, routing.skills)}", key=True)
                    elif not 1 <= node.skills[skill] <= 10:
                        source.error(("nodes", node.id, "skills", skill),
                                     f"skill level {node.skills[skill]} for '{skill}' must be "
                                     "between 1 and 10")
    if deployment.hours is not None:
        for node_id, path, expression, _ in source.expressions:
            for name in sorted(expression.calendars - set(deployment.calendars)):
                source.error(path, f"node '{node_id}' uses calendar '{name}', which is not "
                             f"defined in hours.yaml{did_you_mean(name, deployment.calendars)}")


def _check_sounds(deployment: Deployment, source: FlowSource) -> None:
    settings = deployment.settings
    if settings is None or settings.paths.sounds_dir is None:
        return
    root = deployment.path(settings.paths.sounds_dir)
    for name, language, path in source.prompt_refs:
        languages = [language] if language else list(source.languages)
        candidates = [root / lang / name for lang in languages] + [root / name]
        if not any(_has_sound(candidate) for candidate in candidates):
            where = ", ".join(f"{lang}/{name}" for lang in languages)
            source.error(path, f"prompt '{name}' has no sound file in {root} (looked for "
                         f"{where} and {name}, as .wav, .gsm, .ulaw, ...)")


def _has_sound(stem: Path) -> bool:
    return any(stem.with_name(f"{stem.name}.{ext}").is_file() for ext in SOUND_EXTENSIONS)


def _check_recursion(compiled: dict[str, tuple[Flow, FlowSource]]) -> None:
    graph = {name: sorted({n.flow for n in flow.nodes.values()
                           if isinstance(n, SubflowNode) and n.flow in compiled})
             for name, (flow, _) in compiled.items()}
    for component in _strongly_connected(graph):
        if len(component) == 1 and component[0] not in graph[component[0]]:
            continue
        first = sorted(component)[0]
        flow, source = compiled[first]
        node = next(n for n in flow.nodes.values()
                    if isinstance(n, SubflowNode) and n.flow in component)
        cycle = " -> ".join([*sorted(component), first])
        source.error(("nodes", node.id, "flow"),
                     f"flows {cycle} call each other in a circle; a subflow cannot call "
                     "the flow that called it")
