"""Officer lock-out under concurrency (PostgreSQL), and the per-address throttle that
slows an attacker without locking the officer out (OWASP ASVS 4.0.3 §2.2.1)."""

import threading

import pyotp
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from chinhquyenso.backoffice import services
from chinhquyenso.backoffice.models import LoginThrottle, TotpDevice
from chinhquyenso.core.errors import DomainError
from chinhquyenso.core.models import AuditRecord
from chinhquyenso.directory.services import add_user
from tests.conftest import ON_POSTGRES

PASSWORD = "mat-khau-du-dai-12"
FAST_HASH = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # 30 checks in parallel


def _parallel(n: int, attempt) -> list:
    """Run attempt(i) in n threads (n connections, as n web processes); return the errors
    raised, one per attempt."""
    results: list = [None] * n
    start = threading.Barrier(n)

    def run(i):
        try:
            start.wait()
            attempt(i)
            results[i] = "ok"
        except DomainError as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _outcome(results):
    failed = [r for r in results if isinstance(r, services.LoginFailed)]
    locked = [r for r in results if isinstance(r, services.LockedOut)]
    return failed, locked


pg_only = pytest.mark.skipif(not ON_POSTGRES, reason="the race is PostgreSQL's")


@pg_only
@pytest.mark.django_db(transaction=True)
def test_thirty_parallel_wrong_passwords_are_all_counted(agency, settings):
    settings.PASSWORD_HASHERS = FAST_HASH
    add_user(username="tiepnhan1", role="receiver", agency=agency.code, password=PASSWORD)

    # 30 addresses (a botnet): the per-address limit does not stop them, the lock does.
    results = _parallel(
        30,
        lambda i: services.check_password(
            username="tiepnhan1", password="sai", ip=f"198.51.100.{i + 1}"
        ),
    )

    failed, locked = _outcome(results)
    row = LoginThrottle.objects.get(username="tiepnhan1")
    assert row.failures == 30
    assert row.locked_until is not None and row.locked_until > timezone.now()
    # Exactly four «còn N lần» answers (4, 3, 2, 1 left), every other attempt refused as locked.
    assert len(failed) == 4 and len(locked) == 26
    assert sorted(int(e.detail.split("Còn ")[1].split()[0]) for e in failed) == [1, 2, 3, 4]
    verbs = list(AuditRecord.objects.values_list("verb", flat=True))
    assert verbs.count("login.lockout") == 1
    assert verbs.count("login.failure") + verbs.count("login.locked") == 30


@pg_only
@pytest.mark.django_db(transaction=True)
def test_thirty_parallel_wrong_codes_are_all_counted(agency, settings):
    settings.PASSWORD_HASHERS = FAST_HASH
    leader = add_user(username="lanhdao1", role="leader", agency=agency.code, password=PASSWORD)
    TotpDevice.objects.create(
        user=leader, secret=pyotp.random_base32(), confirmed_at=timezone.now()
    )

    results = _parallel(
        30,
        lambda i: services.check_code(
            user=leader, code="000000" if i % 2 else "12345x", ip=f"198.51.100.{i + 1}"
        ),
    )

    failed, locked = _outcome(results)
    row = LoginThrottle.objects.get(username="lanhdao1")
    assert row.failures == 30
    assert row.locked_until is not None
    assert len(failed) == 4 and len(locked) == 26


def _login(c: Client, username: str, password: str = PASSWORD):
    return c.post("/can-bo/dang-nhap", {"username": username, "password": password})


@pytest.mark.django_db
def test_one_address_is_throttled_before_it_can_lock_the_officer_out(agency):
    """The design: failed attempts of one username from one address are limited to 4 per 15
    minutes (CQS_THROTTLE_LOGIN), fewer than the 5 that lock the account, so an attacker
    from one address is answered 429 and never reaches the lock; the officer at another
    address signs in. Several addresses together can still lock the account (the lock is
    the last guard: at most 5 guesses per 15 minutes whatever the number of addresses)."""
    add_user(username="tiepnhan1", role="receiver", agency=agency.code, password=PASSWORD)
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    codes = [_login(attacker, "tiepnhan1", "sai").status_code for _ in range(4)]
    assert codes == [400, 400, 400, 400]
    r = _login(attacker, "tiepnhan1", "sai")
    assert r.status_code == 429
    assert "địa chỉ" in r.content.decode() and "Vui lòng thử lại sau" in r.content.decode()
    assert int(r["Retry-After"]) >= 1
    # Even the right password from the attacker's address waits.
    assert _login(attacker, "tiepnhan1").status_code == 429
    row = LoginThrottle.objects.get(username="tiepnhan1")
    assert row.failures == 4 and row.locked_until is None
    # The officer, at the office, signs in.
    officer = Client(REMOTE_ADDR="192.0.2.10")
    r = _login(officer, "tiepnhan1")
    assert r.status_code == 302 and "_auth_user_id" in officer.session
    assert "login.throttled" in AuditRecord.objects.values_list("verb", flat=True)


@pytest.mark.django_db
def test_password_spraying_from_one_address_is_throttled(agency, settings):
    settings.CQS_THROTTLE_LOGIN_ADDRESS = "6/15m"
    for i in range(4):
        add_user(username=f"cb{i}", role="receiver", agency=agency.code, password=PASSWORD)
    attacker = Client(REMOTE_ADDR="203.0.113.67")
    codes = [_login(attacker, f"cb{i % 4}", "sai").status_code for i in range(8)]
    assert codes == [400] * 6 + [429, 429]
    assert not LoginThrottle.objects.filter(locked_until__isnull=False).exists()
    assert _login(Client(REMOTE_ADDR="192.0.2.10"), "cb0").status_code == 302


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_forwarded_address_is_throttled(agency, settings):
    settings.CQS_TRUSTED_PROXIES = "10.0.0.1"
    add_user(username="tiepnhan1", role="receiver", agency=agency.code, password=PASSWORD)
    attacker = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.66")
    for _ in range(4):
        assert _login(attacker, "tiepnhan1", "sai").status_code == 400
    assert _login(attacker, "tiepnhan1", "sai").status_code == 429
    officer = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.10")
    assert _login(officer, "tiepnhan1").status_code == 302


@pytest.mark.django_db
def test_successful_sign_in_gives_the_attempt_back(agency):
    add_user(username="tiepnhan1", role="receiver", agency=agency.code, password=PASSWORD)
    c = Client(REMOTE_ADDR="192.0.2.10")
    for _ in range(3):
        assert _login(c, "tiepnhan1", "sai").status_code == 400
    for _ in range(3):  # a success refunds its attempt: signing in again and again is fine
        assert _login(Client(REMOTE_ADDR="192.0.2.10"), "tiepnhan1").status_code == 302
