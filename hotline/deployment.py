"""The composition root for configuration: the loader plus every package's section loader.

``hotline.config`` knows nothing of IVR flows, QA forms or scenarios; this module is where the
packages that own those folders are plugged in, so ``hotline config check`` validates the
whole deployment in one run.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from hotline.config.loader import Deployment, SectionLoader, load_deployment

if TYPE_CHECKING:
    from hotline.db import Database

# folder -> "module:function" of the section loader that owns it
SECTION_LOADERS: dict[str, str] = {
    "ivr": "ivr.loader:load_section",
    "qa": "recording.config:load_section",
    "sim": "sim.scenario:load_section",
}


def section_loaders() -> dict[str, SectionLoader]:
    loaders: dict[str, SectionLoader] = {}
    for folder, target in SECTION_LOADERS.items():
        module, _, function = target.partition(":")
        loaders[folder] = getattr(importlib.import_module(module), function)
    return loaders


def load(root: Path | str = "config", *, raise_on_error: bool = True) -> Deployment:
    """Load and validate a whole deployment, every folder included."""
    return load_deployment(root, section_loaders(), raise_on_error=raise_on_error)


def open_database(deployment: Deployment) -> Database:
    """The deployment's database (hotline.yaml ``database``; SQLite in the data folder by
    default), migrated and ready."""
    from hotline.db import open_database as open_url

    settings = deployment.settings
    assert settings is not None, "load() raises before a deployment lacks hotline.yaml"
    return open_url(settings.database.resolve(), data_dir=deployment.data_dir)
