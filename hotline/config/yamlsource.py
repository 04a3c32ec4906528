"""YAML files that remember where every value came from.

ruamel.yaml's round-trip loader knows the line and column of every key and value; this module
copies a document into plain Python data (dicts, lists, str, int, float, bool, None, dates)
and keeps a table from each value's *path* (``("queues", "billing", "skills", 0)``) to its
position, so a validator working on plain data can still say ``routing.yaml:14:7``.

Syntax errors, tabs, duplicate keys and empty files become diagnostics here, never tracebacks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from hotline.config.diagnostics import Diagnostic

Path_ = tuple[Hashable, ...]


@dataclass(slots=True)
class YamlDocument:
    """A loaded YAML file: plain ``data`` plus the position of every value and key.

    ``name`` is the path shown in messages (relative to the deployment folder).
    """

    path: Path
    name: str
    data: Any
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the value at ``path`` (or of its key when ``key``).

        A path that does not exist (a missing key) falls back to its nearest existing parent,
        which is where the administrator has to add it.
        """
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), (1, 1))

    def diagnostic(
        self, path: Path_, message: str, *, key: bool = False, warning: bool = False
    ) -> Diagnostic:
        line, column = self.position(path, key=key)
        return Diagnostic(self.name, line, column, message, "warning" if warning else "error")


def load_yaml(path: Path, name: str | None = None) -> YamlDocument | Diagnostic:
    """Read ``path``; return the document, or one diagnostic saying why it cannot be read."""
    shown = name or path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Diagnostic(shown, 0, 0, "the file does not exist")
    except UnicodeDecodeError as exc:
        return Diagnostic(shown, 0, 0, f"the file is not UTF-8 text ({exc.reason})")
    except OSError as exc:
        return Diagnostic(shown, 0, 0, f"the file cannot be read: {exc.strerror}")
    return parse_yaml(text, path, shown)


def parse_yaml(text: str, path: Path, name: str) -> YamlDocument | Diagnostic:
    """Parse YAML ``text`` (see :func:`load_yaml`)."""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" ")
        if stripped.startswith("\t"):
            return Diagnostic(
                name, number, len(line) - len(stripped) + 1,
                "a tab is used for indentation; YAML allows only spaces here",
            )
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        root = yaml.load(text)
    except MarkedYAMLError as exc:
        return _syntax_diagnostic(name, exc)
    except YAMLError as exc:  # unmarked errors are rare; still one located sentence
        return Diagnostic(name, 1, 1, f"the file is not valid YAML: {exc}")
    if root is None:
        return Diagnostic(name, 1, 1, "the file is empty")
    document = YamlDocument(path=path, name=name, data=None)
    document.values[()] = (1, 1)
    document.data = _plain(root, (), document)
    return document


def _syntax_diagnostic(name: str, exc: MarkedYAMLError) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = (exc.problem or "invalid YAML").strip()
    if "found duplicate key" in problem or "duplicate key" in str(exc):
        key = problem.split('"')[1] if '"' in problem else ""
        return Diagnostic(name, line, column, f"the key '{key}' appears twice in the same block")
    hint = ""
    if "mapping values are not allowed" in problem or "expected <block end>" in problem:
        hint = "; check the indentation of this line and the one before"
    context = f" ({exc.context.strip()})" if exc.context else ""
    return Diagnostic(name, line, column, f"the file is not valid YAML: {problem}{context}{hint}")


def _plain(node: Any, path: Path_, document: YamlDocument) -> Any:
    if isinstance(node, CommentedMap):
        out: dict[Any, Any] = {}
        for key in node:
            child = (*path, key)
            kline, kcol = node.lc.key(key)
            vline, vcol = node.lc.value(key)
            document.keys[child] = (kline + 1, kcol + 1)
            document.values[child] = (vline + 1, vcol + 1)
            out[_scalar(key)] = _plain(node[key], child, document)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, item in enumerate(node):
            child = (*path, index)
            line, col = node.lc.item(index)
            document.values[child] = (line + 1, col + 1)
            items.append(_plain(item, child, document))
        return items
    return _scalar(node)


def _scalar(value: Any) -> Any:
    """ruamel's scalar subclasses become the plain Python types pydantic expects."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dt.datetime):
        return dt.datetime.fromisoformat(value.isoformat())
    if isinstance(value, dt.date):
        return dt.date(value.year, value.month, value.day)
    return value
