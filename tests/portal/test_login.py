"""Citizens sign in through OpenID Connect (the local provider standing in for VNeID): the
whole authorization-code flow with PKCE, and the portal keeps no password."""

import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

from django.test import Client

from chinhquyenso.core.models import AuditRecord
from chinhquyenso.directory.models import User
from chinhquyenso.portal.idp import add_identity


def _follow_to_provider_login(c: Client):
    r = c.get("/dang-nhap/vneid?next=/ca-nhan/ho-so")
    assert r.status_code == 302
    authorize = r["Location"]
    q = parse_qs(urlsplit(authorize).query)
    assert q["response_type"] == ["code"] and q["code_challenge_method"] == ["S256"]
    assert q["scope"] == ["openid profile address phone email"] and q["nonce"][0] and q["state"][0]
    r = c.get(authorize)
    assert r.status_code == 302 and r["Location"].startswith("/idp/dang-nhap?next=")
    return r["Location"]


def _sign_in(c: Client, login_url: str, id_number: str, password: str):
    nxt = parse_qs(urlsplit(login_url).query)["next"][0]
    return c.post("/idp/dang-nhap", {"id_number": id_number, "password": password,
                                      "next": nxt})


def test_citizen_signs_in_with_the_identity_provider(local_idp, people):
    add_identity(id_number="001099012345", full_name="Nguyễn Văn An", password="bí-mật-123",
                 birth_date=date(1990, 3, 4), address="Số 1 Hoàng Văn Thụ, Hồng Bàng",
                 phone="0912345678", email="an@example.vn")
    c = Client()
    login_url = _follow_to_provider_login(c)
    r = _sign_in(c, login_url, "001099012345", "bí-mật-123")
    assert r.status_code == 302 and r["Location"].startswith("/idp/authorize/")
    r = c.get(r["Location"])  # the provider sends the code back to the portal
    assert r.status_code == 302
    callback = urlsplit(r["Location"])
    assert callback.path == "/dang-nhap/xac-thuc" and "code=" in callback.query
    r = c.get(f"{callback.path}?{callback.query}")
    assert r.status_code == 302 and r["Location"] == "/ca-nhan/ho-so"

    # The existing applicant with that identity number is the one signed in.
    user = User.objects.get(pk=people["citizen"].pk)
    assert user.oidc_subject == "001099012345"
    assert not user.has_usable_password()
    assert user.birth_date == date(1990, 3, 4) and user.phone == "0912345678"
    assert {"full_name", "id_number", "birth_date", "address"} <= set(user.verified_fields)
    assert c.get("/ca-nhan/ho-so").status_code == 200
    assert AuditRecord.objects.filter(verb="login.oidc", target_id=str(user.pk)).exists()


def test_wrong_password_at_the_provider_is_refused(local_idp, people):
    add_identity(id_number="001099012345", full_name="Nguyễn Văn An", password="đúng-rồi")
    c = Client()
    login_url = _follow_to_provider_login(c)
    r = _sign_in(c, login_url, "001099012345", "sai-rồi")
    assert r.status_code == 400
    assert "Số định danh hoặc mật khẩu không đúng." in r.content.decode()
    assert "_auth_user_id" not in c.session


def test_a_forged_callback_signs_nobody_in(local_idp, people):
    c = Client()
    _follow_to_provider_login(c)
    r = c.get("/dang-nhap/xac-thuc?code=abc&state=not-the-state")
    assert r.status_code == 400
    assert "Phiên đăng nhập đã hết hạn hoặc không hợp lệ" in r.content.decode()
    assert "_auth_user_id" not in c.session


def test_first_sign_in_creates_the_citizen_without_password(local_idp, db):
    add_identity(id_number="031200000001", full_name="Lê Thị Mới", password="mat-khau-1")
    c = Client()
    r = _sign_in(c, _follow_to_provider_login(c), "031200000001", "mat-khau-1")
    r = c.get(r["Location"])
    r = c.get(r["Location"])
    assert r["Location"] == "/ca-nhan/ho-so"
    user = User.objects.get(oidc_subject="031200000001")
    assert user.role == "citizen" and user.full_name == "Lê Thị Mới"
    assert not user.has_usable_password()


def test_officers_do_not_sign_in_through_the_citizen_provider(local_idp, people):
    r = Client().get("/dang-nhap")
    body = r.content.decode()
    assert r.status_code == 200 and 'href="/can-bo/dang-nhap"' in body
    assert re.search(r"Đăng nhập bằng định danh điện tử", body)
