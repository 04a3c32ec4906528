"""An external CRM as the customer source: HTTP with a timeout and a small TTL cache.

Where the customer records live in another system, Hotline asks it over HTTP instead of the
``customers`` table. The CRM answers two GET requests (paths relative to its base URL)::

    GET customers/by-phone/{number}     (number normalised: +493012345678)
    GET customers/by-account/{account}
    GET customers/{id}

``200`` with a JSON object (at least ``id``) is the record, ``404`` is "no such customer";
anything else (another status, a body that is not a JSON object, a timeout, a refused
connection) raises a :class:`CrmError`, which the IVR turns into its flow's fallback and the
screen-pop into "no record". httpx's exceptions are translated here and nowhere else.

A caller's record is asked for twice within seconds (by the IVR's lookup, then for the pop), so
answers, "not found" included, are cached for ``cache_ttl_s`` (errors are not cached); the
cache holds at most ``cache_size`` entries, the least recently used going first.

Errors::

    CustomerLookupError
     └── CrmError                  (the CRM did not give a usable answer)
          ├── CrmTimeout           (no answer within ``timeout_s``)
          └── CrmResponseError     (an unexpected status or body)
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from cti.errors import CrmError, CrmResponseError, CrmTimeout
from hotline.config.settings import mask_url
from ivr.customers import Customer, normalize_phone


class HttpCrm:
    """A :class:`~ivr.customers.CustomerLookup` (plus ``by_id``) over a CRM's HTTP API.

    ``headers`` are sent with every request (an ``Authorization`` header with a secret read from
    the environment, typically); they are never logged. ``transport`` is for tests only.
    """

    def __init__(self, base_url: str, *, timeout_s: float = 2.0, cache_ttl_s: float = 60.0,
                 cache_size: int = 10_000, headers: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        if timeout_s <= 0:
            raise CrmError(f"the CRM timeout must be positive, not {timeout_s}")
        self.base_url = base_url.rstrip("/") + "/"
        self.cache_ttl_s = cache_ttl_s
        self.cache_size = cache_size
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, dict[str, Any] | None]] = OrderedDict()
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s,
                                         headers=dict(headers or {}), transport=transport)
        self.timeout_s = timeout_s

    async def by_phone(self, number: str) -> Customer | None:
        return await self._get(f"customers/by-phone/{quote(normalize_phone(number), safe='')}")

    async def by_account(self, account: str) -> Customer | None:
        return await self._get(f"customers/by-account/{quote(account, safe='')}")

    async def by_id(self, customer_id: str) -> Customer | None:
        return await self._get(f"customers/{quote(customer_id, safe='')}")

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> HttpCrm:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def _get(self, path: str) -> dict[str, Any] | None:
        now = self._clock()
        cached = self._cache.get(path)
        if cached is not None and cached[0] > now:
            self._cache.move_to_end(path)
            return None if cached[1] is None else dict(cached[1])
        record = await self._fetch(path)
        self._cache[path] = (now + self.cache_ttl_s, record)
        self._cache.move_to_end(path)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return None if record is None else dict(record)

    async def _fetch(self, path: str) -> dict[str, Any] | None:
        where = mask_url(self.base_url + path)
        try:
            response = await self._client.get(path)
        except httpx.TimeoutException as exc:
            raise CrmTimeout(f"the CRM did not answer GET {where} within "
                             f"{self.timeout_s:g} s") from exc
        except httpx.HTTPError as exc:
            raise CrmError(f"cannot reach the CRM for GET {where}: "
                           f"{exc.__class__.__name__}: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise CrmResponseError(f"the CRM answered GET {where} with HTTP "
                                   f"{response.status_code}; expected 200 or 404")
        try:
            body = response.json()
        except ValueError as exc:
            raise CrmResponseError(f"the CRM's answer to GET {where} is not JSON") from exc
        if not isinstance(body, dict) or "id" not in body:
            raise CrmResponseError(f"the CRM's answer to GET {where} is not a customer "
                                   "record (a JSON object with an 'id')")
        return body
