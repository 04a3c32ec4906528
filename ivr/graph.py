"""Draw a flow: Mermaid text (pastes into GitHub, GitLab and most wikis) or Graphviz DOT.

Menus and branches are diamonds, outcomes (queue, transfer, hang-up, ...) are rounded, every
arrow carries its reason: the key pressed, the condition, ``found``, ``fallback``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator

from ivr.errors import IvrError
from ivr.flow import (
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
    SayNode,
    SetNode,
    SubflowNode,
    TransferNode,
    VoicemailNode,
)


def labelled_edges(node: Node) -> Iterator[tuple[str, str]]:
    """(target, label) for every arrow out of ``node``."""
    if isinstance(node, PlayNode | SayNode | SetNode | LanguageNode | SubflowNode):
        yield node.next, ""
    elif isinstance(node, MenuNode):
        for digits, target in node.options.items():
            yield target, digits
        yield node.fallback, "no valid choice"
    elif isinstance(node, GatherNode):
        yield node.next, f"valid {node.variable}"
        if node.fallback:
            yield node.fallback, "no valid input"
    elif isinstance(node, BranchNode):
        for condition, target in node.conditions:
            yield target, condition.text
        yield node.otherwise, "else"
    elif isinstance(node, LookupNode):
        if node.found == node.not_found:
            yield node.found, ""
        else:
            yield node.found, "found"
            yield node.not_found, "not found"
        if node.on_error:
            yield node.on_error, "lookup failed"


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
        elif isinstance(node, QueueNode | TransferNode | VoicemailNode | CallbackNode) or (
                type(node).__name__ in {"HangupNode", "ReturnNode"}):
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
