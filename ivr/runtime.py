"""The live set of flows: load, reload on change or SIGHUP, keep the old one on bad edits.

:class:`FlowRegistry` holds the current :class:`~ivr.flow.FlowSet`. A FastAGI session reads
``registry.current`` once when the call arrives and keeps that object for the whole call, so an
edit never changes a flow under a caller's feet. :meth:`FlowRegistry.reload` validates the
whole deployment again; if the new files have errors it logs every one (file:line:column) and
the previous version stays live.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from hotline.config.diagnostics import ConfigError
from ivr.flow import FlowSet
from ivr.loader import load_flows

Signature = tuple[tuple[str, int, int], ...]
WATCHED = ("hotline.yaml", "routing.yaml", "hours.yaml")


class FlowRegistry:
    """The deployment's flows as of the last valid load."""

    def __init__(self, root: Path | str, *, logger: logging.Logger | None = None,
                 loader: Callable[[Path], FlowSet] | None = None,
                 flows: FlowSet | None = None) -> None:
        """``flows``: the version the caller has just loaded from ``root`` (so start-up does
        not validate the whole deployment twice); without it the registry loads it here."""
        self.root = Path(root)
        self.log = logger or logging.getLogger("ivr.runtime")
        self._load = loader or (lambda root: load_flows(root)[0])
        self._signature = self.signature()
        # the first load must succeed
        self.current: FlowSet = flows if flows is not None else self._load(self.root)
        self.rejected = 0

    def signature(self) -> Signature:
        """Names, sizes and modification times of every file the flows depend on."""
        files = [self.root / name for name in WATCHED]
        folder = self.root / "ivr"
        if folder.is_dir():
            files.extend(sorted(folder.glob("*.y*ml")))
        out = []
        for path in files:
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            out.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(out)

    def reload(self) -> bool:
        """Load the files again; True when a new version went live."""
        self._signature = self.signature()
        try:
            flows = self._load(self.root)
        except ConfigError as exc:
            self.rejected += 1
            self.log.error("IVR flows not reloaded, version %s stays live: %d problem(s)",
                           self.current.version, len(exc.diagnostics))
            for diagnostic in exc.diagnostics:
                self.log.error("  %s", diagnostic)
            return False
        if flows.version == self.current.version:
            return False
        self.log.warning("IVR flows reloaded: version %s -> %s (%s)", self.current.version,
                         flows.version, ", ".join(sorted(flows.flows)))
        self.current = flows
        return True

    def reload_if_changed(self) -> bool:
        if self.signature() == self._signature:
            return False
        return self.reload()

    async def watch(self, interval_s: float = 2.0) -> None:
        """Poll the files every ``interval_s`` and reload on change (run as a task)."""
        while True:
            await asyncio.sleep(interval_s)
            self.reload_if_changed()
