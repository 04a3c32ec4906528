"""Shared helpers for the IVR tests: a throw-away deployment with the example routing/hours."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from hotline.config.loader import Deployment, load_deployment
from ivr.loader import load_section

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "config"


def deployment(tmp_path: Path, flows: dict[str, str], *, sounds_dir: str | None = None,
               routing: str | None = None) -> Path:
    """A deployment folder with the example hotline/routing/hours files and these flows."""
    root = tmp_path / "deploy"
    (root / "ivr").mkdir(parents=True)
    settings = (CONFIG / "hotline.yaml").read_text()
    if sounds_dir is not None:
        settings = settings.replace("paths:\n", f"paths:\n  sounds_dir: {sounds_dir}\n")
    (root / "hotline.yaml").write_text(settings)
    if routing is None:
        # the example's skills, queues and settings; its 60 agents only slow the tests down
        routing = (CONFIG / "routing.yaml").read_text().split("\nagents:", 1)[0] + "\n"
    (root / "routing.yaml").write_text(routing)
    shutil.copy(CONFIG / "hours.yaml", root / "hours.yaml")
    for name, text in flows.items():
        (root / "ivr" / f"{name}.yaml").write_text(textwrap.dedent(text))
    return root


def load(root: Path) -> Deployment:
    return load_deployment(root, {"ivr": load_section}, raise_on_error=False)


def messages(root: Path) -> list[str]:
    """Every diagnostic of the ivr/ files, as printed."""
    return [str(d) for d in load(root).diagnostics if d.file.startswith("ivr/")]
