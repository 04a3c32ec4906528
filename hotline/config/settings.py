"""``hotline.yaml``: where Hotline's servers are and where it keeps its files.

Secrets never live in this file: the AMI secret, and optionally the Redis and database URLs,
are read from environment variables that the file *names* (``secret_env``, ``url_env``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from hotline.config.validation import StrictModel

_BIND = re.compile(r"^(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):(?P<port>\d{1,5})$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def _check_env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.match(value):
        raise ValueError(
            f"must name an environment variable in capitals, like HOTLINE_AMI_SECRET, not {value!r}"
        )
    return value


class AmiSettings(StrictModel):
    host: str = "127.0.0.1"
    port: int = Field(5038, ge=1, le=65535)
    username: str = "hotline"
    secret_env: str = "HOTLINE_AMI_SECRET"
    ping_interval_s: float = Field(5.0, gt=0)
    action_timeout_s: float = Field(5.0, gt=0)

    _check = field_validator("secret_env")(_check_env_name)

    def secret(self) -> SecretStr:
        """The AMI secret from the environment (empty when the variable is unset)."""
        return SecretStr(os.environ.get(self.secret_env, ""))


class ServerUrl(StrictModel):
    """A server URL, written here or (better, when it holds a password) named by ``url_env``."""

    url: str = ""
    url_env: str | None = None

    _check = field_validator("url_env")(_check_env_name)

    def resolve(self) -> str:
        """The URL to use: the environment variable's value when set, else ``url``."""
        if self.url_env and os.environ.get(self.url_env):
            return os.environ[self.url_env]
        return self.url


class Bind(StrictModel):
    bind: str

    @field_validator("bind")
    @classmethod
    def _bind(cls, value: str) -> str:
        match = _BIND.match(value)
        if not match or not 0 < int(match["port"]) < 65536:
            raise ValueError(f"must be HOST:PORT such as 127.0.0.1:8080, not {value!r}")
        return value

    @property
    def host(self) -> str:
        return self.bind.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.bind.rsplit(":", 1)[1])


class CustomerSource(StrictModel):
    """Where screen-pops and IVR lookups find customer records."""

    source: Literal["database", "http"] = "database"
    url: str = ""  # the CRM's base URL, for source http
    timeout_s: float = Field(2.0, gt=0)
    cache_ttl_s: float = Field(60.0, ge=0)
    token_env: str | None = None  # environment variable with the CRM's bearer token

    _check = field_validator("token_env")(_check_env_name)

    @model_validator(mode="after")
    def _url_for_http(self) -> CustomerSource:
        if self.source == "http" and not self.url.startswith(("http://", "https://")):
            raise ValueError("source http needs url: the CRM's base URL, such as "
                             "https://crm.example.com/api/")
        return self


class Paths(StrictModel):
    data_dir: str = "var/data"
    recordings_dir: str = "var/recordings"
    sounds_dir: str | None = None


class HotlineSettings(StrictModel):
    """The whole of ``hotline.yaml``."""

    name: str = "Hotline"
    timezone: str = "UTC"
    ami: AmiSettings = AmiSettings()
    redis: ServerUrl = ServerUrl()
    database: ServerUrl = ServerUrl()
    http: Bind = Bind(bind="127.0.0.1:8080")
    fastagi: Bind = Bind(bind="127.0.0.1:4573")
    paths: Paths = Paths()
    customers: CustomerSource = CustomerSource()


def resolve_path(base: Path, value: str) -> Path:
    """A path from the YAML, relative to the deployment folder unless absolute."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def mask_url(url: str) -> str:
    """``postgresql://hotline:***@db/hotline``: the URL with any password hidden."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
