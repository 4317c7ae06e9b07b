"""A new officer is invited by a one-time link (only its hash stored, expiring, single use):
the officer sets their own password and enrols their authenticator through it; the
administrator never sees a password; `cqs user add` without --password prints a link."""

import re
from datetime import timedelta

import pyotp
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from chinhquyenso.backoffice.models import TotpDevice
from chinhquyenso.core.models import AuditRecord
from chinhquyenso.directory.models import ApiToken, Invitation, User

PASSWORD = "mat-khau-rieng-cua-toi"


def _path(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def _invite(web, email="chin@example.gov.vn", capture=None):
    r = web("admin").post(
        "/can-bo/quan-tri/can-bo",
        {
            "username": "chuyenvien9",
            "full_name": "Lê Văn Chín",
            "role": "specialist",
            "email": email,
        },
    )
    assert r.status_code == 200
    return re.search(r'<code class="invitation-link">([^<]+)</code>', r.content.decode()).group(1)


def _secret(page: str) -> str:
    return re.search(r"<dt>Khóa bí mật</dt><dd><code>([A-Z2-7]+)</code>", page).group(1)


def _accept(c: Client, path: str, secret: str, **over):
    data = {"password": PASSWORD, "password2": PASSWORD, "code": pyotp.TOTP(secret).now()}
    return c.post(path, {**data, **over})


def test_admin_sees_a_link_not_a_password_and_the_officer_gets_it_by_mail(
    web, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        link = _invite(web)
    assert "/can-bo/loi-moi/" in link
    u = User.objects.get(username="chuyenvien9")
    assert not u.has_usable_password()
    # Only the SHA-256 of the token is kept.
    token = link.rsplit("/", 1)[1]
    inv = Invitation.objects.get(user=u)
    assert inv.digest == ApiToken.hash(token) and token not in inv.digest
    assert inv.expires_at == inv.created_at + timedelta(hours=72)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["chin@example.gov.vn"] and link in mail.outbox[0].body


def test_officer_sets_password_and_enrols_then_the_link_is_dead(web, clock):
    path = _path(_invite(web))
    c = Client()
    page = c.get(path)
    assert page.status_code == 200 and "Kích hoạt tài khoản" in page.content.decode()
    secret = _secret(page.content.decode())
    r = _accept(c, path, secret)
    assert r.status_code == 302 and r["Location"] == "/can-bo/dang-nhap"
    u = User.objects.get(username="chuyenvien9")
    assert u.check_password(PASSWORD)
    assert TotpDevice.objects.get(user=u).confirmed
    assert {"invitation.accept", "totp.enrol"} <= set(
        AuditRecord.objects.values_list("verb", flat=True)
    )
    # Used once: dead, for the officer and for anyone who saw it.
    again = Client().get(path)
    assert again.status_code == 410 and "đã được dùng" in again.content.decode()
    assert _accept(Client(), path, secret).status_code == 410
    # The officer signs in with the password and a code from the enrolled app.
    clock.set(timezone.now() + timedelta(seconds=31))
    s = Client()
    assert (
        s.post("/can-bo/dang-nhap", {"username": "chuyenvien9", "password": PASSWORD})["Location"]
        == "/can-bo/dang-nhap/ma"
    )
    s.post("/can-bo/dang-nhap/ma", {"code": pyotp.TOTP(secret).now()})
    assert "_auth_user_id" in s.session


def test_wrong_code_or_mismatched_password_keeps_the_link(web):
    path = _path(_invite(web))
    c = Client()
    secret = _secret(c.get(path).content.decode())
    r = _accept(c, path, secret, password2="khong-giong-mat-khau")
    assert r.status_code == 422 and "không khớp" in r.content.decode()
    r = _accept(
        c, path, secret, code="000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    )
    assert r.status_code == 422 and "Mã xác thực không đúng" in r.content.decode()
    assert not User.objects.get(username="chuyenvien9").has_usable_password()
    assert _accept(c, path, secret).status_code == 302


def test_expired_link_is_refused(web, clock):
    path = _path(_invite(web))
    clock.set(timezone.now() + timedelta(hours=72, minutes=1))
    r = Client().get(path)
    assert r.status_code == 410 and "hết hạn" in r.content.decode()


def test_unknown_link_is_refused(db):
    r = Client().get("/can-bo/loi-moi/khong-phai-ma-that")
    assert r.status_code == 410


def test_new_invitation_ends_the_old_one(web, more_people):
    old = _path(_invite(web))
    u = User.objects.get(username="chuyenvien9")
    r = web("admin").post(f"/can-bo/quan-tri/can-bo/{u.pk}", {"op": "reinvite"})
    assert r.status_code == 200
    new = _path(
        re.search(r'<code class="invitation-link">([^<]+)</code>', r.content.decode()).group(1)
    )
    assert new != old
    assert Client().get(old).status_code == 410
    assert Client().get(new).status_code == 200


def test_an_active_officer_cannot_be_reinvited(web, more_people):
    cv = more_people["receiver"]  # has a password of their own
    r = web("admin").post(f"/can-bo/quan-tri/can-bo/{cv.pk}", {"op": "reinvite"})
    assert r.status_code == 409
    assert not Invitation.objects.filter(user=cv).exists()


def test_cli_user_add_without_password_prints_an_invitation(agency, capsys):
    call_command(
        "user", "add", "--username", "lanhdao7", "--role", "leader", "--agency", agency.code
    )
    out = capsys.readouterr().out
    assert "/can-bo/loi-moi/" in out
    assert Invitation.objects.filter(user__username="lanhdao7").count() == 1
    call_command(
        "user",
        "add",
        "--username",
        "tn7",
        "--role",
        "receiver",
        "--agency",
        agency.code,
        "--password",
        "mot-mat-khau-du-dai",
    )
    assert "/can-bo/loi-moi/" not in capsys.readouterr().out
    call_command("user", "add", "--username", "dan7", "--role", "citizen")
    assert "/can-bo/loi-moi/" not in capsys.readouterr().out


def test_admin_page_lists_the_officer_as_waiting(web):
    _invite(web)
    page = web("admin").get("/can-bo/quan-tri/can-bo").content.decode()
    assert "Chờ kích hoạt" in page
