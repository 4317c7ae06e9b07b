"""Officer sign-in: password, then a TOTP code (RFC 6238) for leaders and admins; lock-out
after 5 failures for 15 minutes, kept in the database; every attempt audited."""

import re
from datetime import timedelta

import pyotp
import pytest
from django.test import Client
from django.utils import timezone

from chinhquyenso.backoffice.models import LoginThrottle, TotpDevice
from chinhquyenso.core.models import AuditRecord
from chinhquyenso.directory.services import add_user

PASSWORD = "mat-khau-du-dai-12"


@pytest.fixture
def officers(agency, province):
    return {
        "receiver": add_user(username="tiepnhan1", role="receiver", agency=agency.code,
                             password=PASSWORD),
        "leader": add_user(username="lanhdao1", role="leader", agency=agency.code,
                           password=PASSWORD),
        "citizen": add_user(username="congdan1", role="citizen", password=PASSWORD),
    }


def login(c: Client, username: str, password: str = PASSWORD):
    return c.post("/can-bo/dang-nhap", {"username": username, "password": password})


def signed_in(c: Client) -> bool:
    return "_auth_user_id" in c.session


def verbs(username: str | None = None) -> list[str]:
    qs = AuditRecord.objects.order_by("id")
    if username:
        qs = [r for r in qs if r.data.get("username") == username
              or r.actor_label == username]
    return [r.verb for r in qs]


def test_receiver_signs_in_with_password_only(officers):
    c = Client()
    r = login(c, "tiepnhan1")
    assert r.status_code == 302 and r["Location"] == "/can-bo/"
    assert signed_in(c)
    assert c.get("/can-bo/").status_code == 200
    assert "login.success" in verbs("tiepnhan1")


def test_wrong_password_is_refused_and_audited(officers):
    c = Client()
    r = login(c, "tiepnhan1", "sai-mat-khau")
    assert r.status_code == 400
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in r.content.decode()
    assert "Còn 4 lần thử" in r.content.decode()
    assert not signed_in(c)
    assert verbs("tiepnhan1") == ["login.failure"]


def test_citizen_cannot_sign_in_at_the_officer_page(officers):
    c = Client()
    r = login(c, "congdan1")
    assert r.status_code == 400
    assert not signed_in(c)


def test_inactive_officer_cannot_sign_in(officers):
    officers["receiver"].is_active = False
    officers["receiver"].save()
    c = Client()
    assert login(c, "tiepnhan1").status_code == 400
    assert not signed_in(c)


def test_leader_first_sign_in_enrols_the_authenticator(officers):
    c = Client()
    r = login(c, "lanhdao1")
    assert r.status_code == 302 and r["Location"] == "/can-bo/dang-nhap/dang-ky-ma"
    assert not signed_in(c)  # the password alone is not a session
    assert c.get("/can-bo/").status_code == 302
    page = c.get("/can-bo/dang-nhap/dang-ky-ma").content.decode()
    assert 'src="data:image/svg+xml' in page
    secret = re.search(r"<code>([A-Z2-7]{32})</code>", page).group(1)
    assert "otpauth://totp/" in page
    # A wrong code first: refused, still not signed in.
    r = c.post("/can-bo/dang-nhap/dang-ky-ma", {"code": "000000"})
    assert r.status_code == 400 and not signed_in(c)
    # The app, set up with the secret read from the page, shows a code.
    r = c.post("/can-bo/dang-nhap/dang-ky-ma", {"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 302 and r["Location"] == "/can-bo/"
    assert signed_in(c)
    assert TotpDevice.objects.get(user=officers["leader"]).confirmed_at is not None
    assert verbs("lanhdao1")[-2:] == ["totp.enrol", "login.success"]


def test_leader_with_device_needs_a_correct_code(officers):
    secret = pyotp.random_base32()  # the test's own authenticator
    TotpDevice.objects.create(user=officers["leader"], secret=secret,
                              confirmed_at=timezone.now())
    c = Client()
    r = login(c, "lanhdao1")
    assert r["Location"] == "/can-bo/dang-nhap/ma"
    totp = pyotp.TOTP(secret)
    wrong = f"{(int(totp.now()) + 500_000) % 1_000_000:06d}"
    r = c.post("/can-bo/dang-nhap/ma", {"code": wrong})
    assert r.status_code == 400
    assert "Mã xác thực không đúng" in r.content.decode()
    assert not signed_in(c)
    code = totp.now()
    r = c.post("/can-bo/dang-nhap/ma", {"code": code})
    assert r.status_code == 302 and signed_in(c)
    # The same code cannot be used a second time (replay).
    c2 = Client()
    login(c2, "lanhdao1")
    r = c2.post("/can-bo/dang-nhap/ma", {"code": code})
    assert r.status_code == 400 and not signed_in(c2)


def test_code_page_without_password_step_goes_back_to_login(officers):
    r = Client().post("/can-bo/dang-nhap/ma", {"code": "123456"})
    assert r.status_code == 302 and r["Location"] == "/can-bo/dang-nhap"


def test_five_failures_lock_the_username_for_fifteen_minutes(officers):
    # From several addresses: one address alone is throttled before it can lock the
    # account (tests/backoffice/test_lockout.py).
    for i in range(4):
        assert login(Client(REMOTE_ADDR=f"192.0.2.{i + 1}"), "tiepnhan1", "sai").status_code \
            == 400
    c = Client(REMOTE_ADDR="192.0.2.9")
    r = login(c, "tiepnhan1", "sai")
    assert r.status_code == 429
    assert "bị khóa" in r.content.decode() and "15 phút" in r.content.decode()
    row = LoginThrottle.objects.get(username="tiepnhan1")
    assert row.failures == 5
    minutes = (row.locked_until - row.last_failure_at).total_seconds() / 60
    assert minutes == 15
    # Even the right password is refused while locked, from any browser (and counted).
    r = login(Client(REMOTE_ADDR="192.0.2.10"), "tiepnhan1")
    assert r.status_code == 429
    assert not signed_in(c)
    row.refresh_from_db()
    assert row.failures == 6
    assert verbs("tiepnhan1") == ["login.failure"] * 5 + ["login.lockout", "login.locked"]
    # Fifteen minutes later the officer can sign in again; success clears the count.
    LoginThrottle.objects.filter(pk=row.pk).update(
        locked_until=timezone.now() - timedelta(seconds=1))
    c3 = Client()
    assert login(c3, "tiepnhan1").status_code == 302 and signed_in(c3)
    assert LoginThrottle.objects.get(pk=row.pk).failures == 0


def test_wrong_codes_count_towards_the_lock(officers):
    TotpDevice.objects.create(user=officers["leader"], secret=pyotp.random_base32(),
                              confirmed_at=timezone.now())
    c = Client()
    login(c, "lanhdao1")
    for i in range(4):
        assert c.post("/can-bo/dang-nhap/ma", {"code": "abc"},
                      REMOTE_ADDR=f"192.0.2.{i + 1}").status_code == 400
    r = c.post("/can-bo/dang-nhap/ma", {"code": "abc"}, REMOTE_ADDR="192.0.2.9")
    assert r.status_code == 429 and "bị khóa" in r.content.decode()
    assert login(Client(REMOTE_ADDR="192.0.2.10"), "lanhdao1").status_code == 429


def test_logout_is_a_post_and_is_audited(officers):
    c = Client()
    login(c, "tiepnhan1")
    assert c.get("/can-bo/dang-xuat").status_code == 405
    assert signed_in(c)
    r = c.post("/can-bo/dang-xuat")
    assert r.status_code == 302 and not signed_in(c)
    assert verbs("tiepnhan1")[-1] == "logout"


def test_login_form_has_csrf_and_says_the_lock_rule(officers):
    c = Client(enforce_csrf_checks=True)
    page = c.get("/can-bo/dang-nhap").content.decode()
    assert 'name="csrfmiddlewaretoken"' in page
    assert "5 lần" in page and "15 phút" in page
    r = c.post("/can-bo/dang-nhap", {"username": "tiepnhan1", "password": PASSWORD})
    assert r.status_code == 403


def test_next_parameter_is_followed_only_inside_the_site(officers):
    c = Client()
    r = c.post("/can-bo/dang-nhap", {"username": "tiepnhan1", "password": PASSWORD,
                                      "next": "https://evil.example/"})
    assert r["Location"] == "/can-bo/"
    c = Client()
    r = c.post("/can-bo/dang-nhap", {"username": "tiepnhan1", "password": PASSWORD,
                                      "next": "/can-bo/tiep-nhan"})
    assert r["Location"] == "/can-bo/tiep-nhan"


def test_demo_totp_only_for_demo_accounts(officers, agency):
    from django.core.management import call_command

    from chinhquyenso.backoffice.services import DEMO_TOTP_SECRET
    from chinhquyenso.dossiers.demo import DEMO_MARK

    demo = add_user(username="lanhdao", role="leader", agency=agency.code, password=PASSWORD,
                    full_name=f"Vũ Đức Thắng {DEMO_MARK}")
    # A real account that happens to be called like a demo one gets nothing.
    real = add_user(username="quantri", role="agency_admin", agency=agency.code,
                    password=PASSWORD, full_name="Quản trị thật")
    call_command("officer", "totp", "--demo", stdout=open("/dev/null", "w"))
    assert TotpDevice.objects.get(user=demo).secret == DEMO_TOTP_SECRET
    assert not TotpDevice.objects.filter(user=real).exists()
    c = Client()
    login(c, "lanhdao")
    r = c.post("/can-bo/dang-nhap/ma", {"code": pyotp.TOTP(DEMO_TOTP_SECRET).now()})
    assert r.status_code == 302 and signed_in(c)
