"""core/throttle.py: sliding-window counts in the database, shared by every process; the
client address behind trusted proxies only."""

import threading

import pytest
from django.db import connection
from django.test import RequestFactory, override_settings

from chinhquyenso.core import throttle
from chinhquyenso.core.models import ThrottleCount
from tests.conftest import ON_POSTGRES

RATE = throttle.parse_rate("3/1m")


def test_parse_rate():
    assert throttle.parse_rate("20/15m") == throttle.Rate(20, 900)
    assert throttle.parse_rate("10/1h") == throttle.Rate(10, 3600)
    assert throttle.parse_rate("60/m") == throttle.Rate(60, 60)
    assert throttle.parse_rate("0").off
    with pytest.raises(ValueError):
        throttle.parse_rate("5/1w")


@pytest.mark.django_db
def test_limit_then_429_with_retry_after_then_window_slides(clock):
    clock.set("2026-11-25T09:00:00")
    assert [throttle.hit("t", "1.2.3.4", RATE).allowed for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    refused = throttle.hit("t", "1.2.3.4", RATE)
    assert not refused.allowed and 1 <= refused.retry_after <= 120
    # Another address is not affected.
    assert throttle.hit("t", "5.6.7.8", RATE).allowed
    # Half-way through the next window, the 5 of the previous one weigh 2.5: still refused.
    clock.set("2026-11-25T09:01:30")
    assert not throttle.hit("t", "1.2.3.4", RATE).allowed
    # Two windows later the count is forgotten.
    clock.set("2026-11-25T09:03:00")
    assert throttle.hit("t", "1.2.3.4", RATE).allowed


@pytest.mark.django_db
def test_peek_does_not_count_and_refund_gives_back(clock):
    clock.set("2026-11-25T09:00:00")
    for _ in range(3):
        throttle.hit("t", "a", RATE)
    assert not throttle.peek("t", "a", RATE).allowed
    assert ThrottleCount.objects.get(name="t:a").count == 3
    throttle.refund("t", "a", RATE)
    assert throttle.peek("t", "a", RATE).allowed
    assert ThrottleCount.objects.get(name="t:a").count == 2


@pytest.mark.django_db
def test_check_raises_vietnamese_429():
    for _ in range(3):
        throttle.check("t", "b", RATE, "Bạn đã gửi quá nhiều yêu cầu.")
    with pytest.raises(throttle.Throttled) as exc:
        throttle.check("t", "b", RATE, "Bạn đã gửi quá nhiều yêu cầu.")
    assert exc.value.status == 429
    assert "Vui lòng thử lại sau" in exc.value.detail
    assert exc.value.retry_after >= 1


@pytest.mark.django_db
def test_purge_removes_old_counters(clock):
    clock.set("2026-11-20T09:00:00")
    throttle.hit("t", "old", RATE)
    clock.set("2026-11-25T09:00:00")
    throttle.hit("t", "new", RATE)
    assert throttle.purge() == 1
    assert list(ThrottleCount.objects.values_list("name", flat=True)) == ["t:new"]


def _request(remote, forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_forwarded_for_is_ignored_without_trusted_proxy():
    with override_settings(CQS_TRUSTED_PROXIES=""):
        assert throttle.client_address(_request("203.0.113.9", "1.1.1.1")) == "203.0.113.9"


def test_forwarded_for_from_trusted_proxy_takes_last_untrusted_hop():
    with override_settings(CQS_TRUSTED_PROXIES="10.0.0.0/8"):
        # The client forged "1.1.1.1"; the proxy appended the real address.
        req = _request("10.0.0.5", "1.1.1.1, 198.51.100.7, 10.0.0.4")
        assert throttle.client_address(req) == "198.51.100.7"
        # A request that did not come through the proxy: its header is not believed.
        assert throttle.client_address(_request("198.51.100.8", "1.1.1.1")) == "198.51.100.8"


def test_ipv6_counted_per_64():
    a = throttle.client_address(_request("2001:db8:1:2:aaaa::1"))
    b = throttle.client_address(_request("2001:db8:1:2:bbbb::2"))
    assert a == b == "2001:db8:1:2::/64"


@pytest.mark.skipif(not ON_POSTGRES, reason="concurrency of the upsert: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_parallel_hits_are_all_counted():
    """20 threads (20 connections, like 20 web processes) × 10 hits: exactly 200 counted."""
    rate = throttle.parse_rate("1000/1h")
    errors = []

    def work():
        try:
            for _ in range(10):
                throttle.hit("p", "9.9.9.9", rate)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert ThrottleCount.objects.get(name="p:9.9.9.9").count == 200


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL only")
@pytest.mark.django_db
def test_counter_table_is_unlogged_on_postgres():
    with connection.cursor() as cur:
        cur.execute("SELECT relpersistence FROM pg_class WHERE relname = 'core_throttlecount'")
        assert cur.fetchone()[0] == "u"
