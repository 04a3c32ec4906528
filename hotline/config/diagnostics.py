"""Located problems in a deployment, and the error that carries a list of them.

A :class:`Diagnostic` is one problem at one place: ``routing.yaml:14:7: queue 'billing'
requires skill 'biling', which is not defined; did you mean 'billing'?``. Loaders collect them
in a :class:`Diagnostics` list and carry on, so an administrator sees every mistake of a run at
once; only at the end does :meth:`Diagnostics.raise_if_errors` turn errors into a
:class:`ConfigError`. Warnings never stop a deployment.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from hotline.errors import HotlineError

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in one file; ``line`` and ``column`` count from 1 (0 means the whole file)."""

    file: str
    line: int
    column: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = self.file if self.line == 0 else f"{self.file}:{self.line}:{self.column}"
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{self.message}"

    def as_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "message": self.message,
        }


class Diagnostics:
    """An ordered collection of diagnostics gathered while loading a deployment."""

    def __init__(self, items: Iterable[Diagnostic] = ()) -> None:
        self._items: list[Diagnostic] = list(items)

    def add(self, diagnostic: Diagnostic) -> None:
        self._items.append(diagnostic)

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self._items.extend(diagnostics)

    def error(self, file: str, line: int, column: int, message: str) -> None:
        self._items.append(Diagnostic(file, line, column, message))

    def warning(self, file: str, line: int, column: int, message: str) -> None:
        self._items.append(Diagnostic(file, line, column, message, "warning"))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self._items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self._items if d.severity == "warning"]

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(sorted(self._items, key=lambda d: (d.file, d.line, d.column)))

    def __len__(self) -> int:
        return len(self._items)

    def raise_if_errors(self) -> None:
        if self.errors:
            raise ConfigError(list(self))


class ConfigError(HotlineError):
    """The deployment has errors; ``diagnostics`` lists them all, warnings included."""

    error_id = "config_invalid"
    status = 422

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        errors = [d for d in diagnostics if d.severity == "error"]
        lines = "\n".join(str(d) for d in diagnostics)
        super().__init__(f"{len(errors)} error(s) in the deployment:\n{lines}")
        self.diagnostics = diagnostics


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'billing'?"`` when a candidate is close to ``word``, else ``""``."""
    close = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
