"""Draw a flow: Mermaid text (pastes into GitHub, GitLab and most wikis) or Graphviz DOT.

Menus and branches are diamonds, outcomes (queue, transfer, hang-up, ...) are rounded, every
arrow carries its reason: the key pressed, the condition, ``found``, ``fallback``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Hashable, Iterator

from ivr.checks import edges
from ivr.errors import IvrError
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
    QueueNode,
    SayNode,
    SubflowNode,
    TransferNode,
    VoicemailNode,
)


def labelled_edges(node: Node) -> Iterator[tuple[str, str]]:
    """(target, label) for every arrow out of ``node``: the validator's exits, named."""
    seen: set[str] = set()
    for target, _, path in edges(node, {}):
        if target in seen and path[-1] == "next":  # a lookup whose found and not found agree
            continue
        seen.add(target)
        yield target, _label(node, path[2:])


def _label(node: Node, key: tuple[Hashable, ...]) -> str:
    """Why a caller takes the exit named at ``key`` (the node's YAML key of that exit)."""
    match key:
        case ("options", digits):
            return str(digits)
        case ("conditions", int() as index, "next") if isinstance(node, BranchNode):
            return node.conditions[index][0].text
        case ("fallback",):
            return "no valid choice" if isinstance(node, MenuNode) else "no valid input"
        case ("next",) if isinstance(node, GatherNode):
            return f"valid {node.variable}"
    return {"else": "else", "found": "found", "not_found": "not found",
            "on_error": "lookup failed"}.get(str(key[0]), "")


def describe(node: Node) -> str:
    kind = type(node).__name__.removesuffix("Node").lower()
    if isinstance(node, QueueNode | CallbackNode):
        return f"{kind}: {node.queue}"
    if isinstance(node, TransferNode):
        return f"transfer: {node.destination.text.strip(chr(39))}"
    if isinstance(node, VoicemailNode):
        return f"voicemail: {node.mailbox}"
    if isinstance(node, SubflowNode):
        return f"subflow: {node.flow}"
    if isinstance(node, LanguageNode):
        return f"language: {node.language}"
    if isinstance(node, GatherNode):
        return f"gather: {node.variable}" + (" (sensitive)" if node.sensitive else "")
    if isinstance(node, LookupNode):
        return f"lookup by {node.by}"
    if isinstance(node, SayNode):
        return f"say {node.kind}: {node.value.text}"
    return kind


def _id(node_id: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", node_id)


def _text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def mermaid(flow: Flow) -> str:
    lines = ["flowchart TD", f'  start(("{_text(flow.name)}")) --> {_id(flow.start)}']
    for node in flow.nodes.values():
        label = f'"{_text(node.id)}<br/>{_text(describe(node))}"'
        if isinstance(node, MenuNode | BranchNode):
            shape = "{" + label + "}"
        elif isinstance(node, TERMINAL):
            shape = "([" + label + "])"
        else:
            shape = "[" + label + "]"
        lines.append(f"  {_id(node.id)}{shape}")
    for node in flow.nodes.values():
        for target, label in labelled_edges(node):
            arrow = f' -- "{_text(label)}" --> ' if label else " --> "
            lines.append(f"  {_id(node.id)}{arrow}{_id(target)}")
    if flow.fallback:
        lines.append(f'  failure(["any failure"]) -.-> {_id(flow.fallback)}')
    return "\n".join(lines) + "\n"


def dot(flow: Flow) -> str:
    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"digraph {q(flow.name)} {{", "  rankdir=TB; node [fontname=Helvetica];",
             f"  __start [shape=circle label={q(flow.name)}];", f"  __start -> {q(flow.start)};"]
    for node in flow.nodes.values():
        shape = "diamond" if isinstance(node, MenuNode | BranchNode) else "box"
        label = q(node.id)[:-1] + "\\n" + q(describe(node))[1:]  # dot's own line break
        lines.append(f"  {q(node.id)} [shape={shape} label={label}];")
        for target, label in labelled_edges(node):
            lines.append(f"  {q(node.id)} -> {q(target)} [label={q(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def svg(flow: Flow) -> bytes | None:
    """The flow as SVG through Graphviz ``dot``; None when Graphviz is not installed."""
    program = shutil.which("dot")
    if program is None:
        return None
    done = subprocess.run([program, "-Tsvg"], input=dot(flow).encode(), capture_output=True,
                          timeout=60, check=False)
    if done.returncode != 0:
        raise IvrError(f"Graphviz failed on flow '{flow.name}': "
                       f"{done.stderr.decode(errors='replace').strip()}")
    return done.stdout
