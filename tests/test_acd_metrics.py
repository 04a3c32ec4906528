"""Service metrics: service level by each definition, short abandons, ASA, AHT, windows, the
'today' window in the deployment's time zone, occupancy, and bounded memory."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from test_acd_support import small_routing

from acd import (
    AgentLogin,
    AgentLogout,
    AgentNotReady,
    ContactAbandon,
    ContactArrive,
    ContactEnd,
    OfferAccept,
    Router,
    Tick,
)
from acd.metrics import local_midnight

BERLIN = ZoneInfo("Europe/Berlin")
T = datetime(2026, 6, 1, 10, 0, tzinfo=BERLIN).timestamp()


def day(mode: str) -> Router:
    """Queue 'general' (answer within 20 s, wrap-up 10 s): three answered after 5, 15 and 40 s,
    a short abandon (2 s), a long abandon (30 s) and a callback, all served by a2."""
    r = Router.from_config(small_routing(service_level_counts=mode), BERLIN)
    t = T
    for n, wait in enumerate((5, 15, 40)):
        r.handle(ContactArrive(t, f"c{n}", "general"))
        r.handle(AgentLogin(t + wait, "a2", ready=True))
        r.handle(OfferAccept(t + wait, f"c{n}", "a2"))
        r.handle(ContactEnd(t + wait + 60, f"c{n}"))  # then 10 s wrap-up
        r.handle(Tick(t + wait + 70))
        r.handle(AgentNotReady(t + wait + 70, "a2", "break"))
        r.handle(AgentLogout(t + wait + 70, "a2"))
        t += 200
    for cid, wait, reason in (("s", 2, "hangup"), ("l", 30, "hangup"), ("cb", 50, "callback")):
        r.handle(ContactArrive(t, cid, "general"))
        r.handle(ContactAbandon(t + wait, cid, reason))
        t += 100
    return r


@pytest.mark.parametrize(("mode", "denominator"), [
    ("all_offered", 5), ("answered_and_long_abandons", 4), ("answered_only", 3),
])
def test_service_level_by_each_definition(mode: str, denominator: int) -> None:
    r = day(mode)
    report = r.metrics(r.now)
    assert report.service_level_counts == mode
    for stats in (report.queues["general"].windows["60m"], report.overall.windows["60m"]):
        assert (stats.offered, stats.answered, stats.answered_in_sl) == (6, 3, 2)
        assert (stats.abandoned, stats.short_abandoned, stats.callbacks) == (2, 1, 1)
        assert stats.service_level == pytest.approx(100 * 2 / denominator)
        assert stats.asa_s == pytest.approx((5 + 15 + 40) / 3)
        assert stats.handled == 3
        assert stats.aht_s == pytest.approx(70)
    assert report.queues["billing"].windows["60m"].offered == 0
    assert report.queues["billing"].windows["60m"].service_level is None


def test_windows_look_back_from_now() -> None:
    r = day("all_offered")
    later = r.metrics(r.now + 15 * 60)
    assert later.overall.windows["15m"].offered == 0
    assert later.overall.windows["30m"].offered == 6
    assert r.metrics(r.now + 2 * 3600).overall.windows["60m"].offered == 0


def test_today_starts_at_local_midnight() -> None:
    midnight = datetime(2026, 6, 2, 0, 0, tzinfo=BERLIN).timestamp()
    assert local_midnight(midnight + 600, BERLIN) == midnight
    assert local_midnight(midnight - 1, BERLIN) == midnight - 86400
    r = Router.from_config(small_routing(), BERLIN)
    r.handle(ContactArrive(midnight - 200, "late", "general"))
    r.handle(ContactArrive(midnight + 300, "early", "general"))
    windows = r.metrics(midnight + 600).overall.windows
    assert windows["15m"].offered == 2
    assert windows["today"].offered == 1
    current = r.metrics(midnight + 600).queues["general"]
    assert (current.waiting, current.longest_wait_s) == (2, 800)


def test_occupancy_and_agents_by_state() -> None:
    r = Router.from_config(small_routing(), BERLIN)
    r.handle(AgentLogin(T, "a2", ready=True))
    r.handle(ContactArrive(T + 100, "c", "general"))
    r.handle(OfferAccept(T + 110, "c", "a2"))
    report = r.metrics(T + 200)
    # ready 100 s, then reserved and busy 100 s
    assert report.queues["general"].windows["15m"].occupancy == pytest.approx(50)
    assert report.queues["general"].agents_by_state["busy"] == 1
    assert report.overall.agents_by_state["logged_out"] == 8
    assert report.queues["tech"].agents_by_state["busy"] == 0  # a2 cannot take tech
    assert report.to_dict()["queues"]["general"]["windows"]["15m"]["offered"] == 1


def test_old_records_are_dropped_as_days_pass() -> None:
    r = Router.from_config(small_routing(), BERLIN)
    for n in range(3000):  # two calls a minute for 25 hours
        t = T + 30 * n
        r.handle(ContactArrive(t, f"c{n}", "general"))
        r.handle(ContactAbandon(t + 10, f"c{n}"))
    kept = r.snapshot()["metrics"]["arrivals"]
    assert len(kept) < 3000 - 1000
    assert r.metrics(r.now).overall.windows["60m"].offered == 120
