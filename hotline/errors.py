"""The root of Hotline's error hierarchy.

Every package draws its own tree in its ``errors.py`` and roots it here, so the command line
and the API can turn any expected failure into one plain sentence (and an HTTP status with a
stable ``error_id``) without catching third-party exceptions anywhere but at their boundary::

    HotlineError
     ├── hotline.config.errors.ConfigError        (deployment YAML: located diagnostics)
     ├── hotline.store.StoreError                 (Redis unavailable, lease lost)
     ├── hotline.db.DatabaseError                 (SQL connection or migration failure)
     └── <package>.errors.<Package>Error          (acd, ivr, cti, recording, sim)
"""

from __future__ import annotations


class HotlineError(Exception):
    """An expected failure with a message fit to show a user as it is.

    ``error_id`` is a stable, machine-readable name (API clients switch on it); ``status`` is the
    HTTP status the API answers with.
    """

    error_id: str = "hotline_error"
    status: int = 400

    def __init__(self, message: str, *, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers the API adds to this error's response (most errors need none)."""
        return {}

    def __str__(self) -> str:
        return self.message
