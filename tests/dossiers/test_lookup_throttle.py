"""The public look-up is limited per client address (dossier codes are sequential, so
they could be enumerated): the API answers 429 problem+json, /tra-cuu a Vietnamese page,
both with Retry-After; another address is not affected; the limit slides back."""

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.conftest import ON_POSTGRES


def test_api_lookup_is_limited_per_address(settings, clock, db):
    settings.CQS_THROTTLE_LOOKUP = "5/1m"
    clock.set("2026-11-25T09:00:00")
    c = Client(REMOTE_ADDR="203.0.113.7")
    codes = [c.get(f"/api/v1/lookup/H31.{i:06d}").status_code for i in range(5)]
    assert codes == [404] * 5
    r = c.get("/api/v1/lookup/H31.000006")
    assert r.status_code == 429
    assert r["Content-Type"].startswith("application/problem+json")
    assert "tra cứu quá nhiều lần" in r.json()["detail"]
    assert int(r["Retry-After"]) >= 1
    assert Client(REMOTE_ADDR="198.51.100.30").get("/api/v1/lookup/X").status_code == 404
    clock.set("2026-11-25T09:02:00")
    assert c.get("/api/v1/lookup/H31.000007").status_code == 404


def test_page_lookup_is_limited_per_address(settings, db):
    settings.CQS_THROTTLE_LOOKUP = "2/1m"
    c = Client(REMOTE_ADDR="203.0.113.8")
    assert c.get("/tra-cuu").status_code == 200  # the empty form is not counted
    assert [c.get("/tra-cuu", {"ma": f"H31.{i}"}).status_code for i in range(2)] == [404, 404]
    r = c.get("/tra-cuu", {"ma": "H31.3"})
    assert r.status_code == 429
    assert "tra cứu quá nhiều lần" in r.content.decode()
    assert int(r["Retry-After"]) >= 1


def test_throttle_costs_at_most_one_statement_per_lookup(settings, db):
    """On PostgreSQL none: the count and the look-up are one statement (issue 10 §7)."""
    c = Client(REMOTE_ADDR="203.0.113.9")
    settings.CQS_THROTTLE_LOOKUP = "0"
    with CaptureQueriesContext(connection) as off:
        c.get("/api/v1/lookup/H31.000001")
    settings.CQS_THROTTLE_LOOKUP = "60/1m"
    with CaptureQueriesContext(connection) as on:
        c.get("/api/v1/lookup/H31.000001")
    assert len(on) == len(off) + (0 if ON_POSTGRES else 1)
