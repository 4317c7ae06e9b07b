"""The portal's OpenID Connect client against a forged provider: ID tokens signed in the
test with its own RSA keys, served through a forged discovery document and key set. Each
defect of a token, of the provider or of an account refuses the sign-in with a Vietnamese
page, writes nothing and opens no session."""

import time

import pytest
import requests
from django.conf import settings
from django.test import Client
from joserfc import jwt
from joserfc.jwk import OctKey

from chinhquyenso.core.errors import ValidationFailed
from chinhquyenso.core.models import AuditRecord
from chinhquyenso.directory.models import User
from chinhquyenso.directory.services import add_officer, add_user

from .conftest import DROP

BAD_TOKEN = "Mã định danh (ID token) không hợp lệ."
UNREACHABLE = "Không kết nối được với hệ thống định danh điện tử. Vui lòng thử lại sau."


def _signed_in(c: Client) -> User | None:
    pk = c.session.get("_auth_user_id")
    return User.objects.get(pk=pk) if pk else None


def _refused(r, c: Client, message: str, status: int = 400):
    body = r.content.decode()
    assert r.status_code == status, body[:300]
    assert message in body
    assert _signed_in(c) is None


# --- accounts by issuer and subject ----------------------------------------------------------


def test_first_sign_in_links_the_applicant_with_that_number_then_the_subject_finds_it(
    forged_idp, people
):
    c = Client()
    r = forged_idp.sign_in(c, sub="chu-the-1", id_number="001099012345")
    assert r.status_code == 302 and r["Location"] == "/ca-nhan/ho-so"
    an = User.objects.get(pk=people["citizen"].pk)
    assert _signed_in(c) == an
    assert (an.oidc_issuer, an.oidc_subject) == (settings.CQS_OIDC_ISSUER, "chu-the-1")

    # Later the provider asserts another number for the same subject: still the same account.
    c2 = Client()
    forged_idp.sign_in(c2, sub="chu-the-1", id_number="001099099999")
    assert _signed_in(c2) == an
    assert User.objects.get(pk=an.pk).id_number == "001099099999"


def test_a_second_subject_with_the_same_number_never_takes_the_account_over(forged_idp, people):
    forged_idp.sign_in(Client(), sub="chu-the-1", id_number="001099012345")
    c = Client()
    r = forged_idp.sign_in(c, sub="ke-khac", id_number="001099012345", name="Kẻ Mạo Danh")
    assert r.status_code == 302
    other = _signed_in(c)
    an = User.objects.get(pk=people["citizen"].pk)
    assert other != an and other.oidc_subject == "ke-khac"
    assert an.oidc_subject == "chu-the-1" and an.full_name == "Nguyễn Văn An"


def test_the_same_subject_at_another_issuer_is_another_person(forged_idp, people, settings):
    forged_idp.sign_in(Client(), sub="chu-the-1", id_number="001099012345")
    settings.CQS_OIDC_ISSUER = "https://sso.dichvucong.example.vn"
    forged_idp.issuer = forged_idp.discovery["issuer"] = settings.CQS_OIDC_ISSUER
    c = Client()
    assert forged_idp.sign_in(c, sub="chu-the-1", id_number="001099012345").status_code == 302
    other = _signed_in(c)
    assert other.pk != people["citizen"].pk
    assert other.oidc_issuer == "https://sso.dichvucong.example.vn"


def test_two_branches_of_one_business_are_two_accounts(forged_idp, db):
    a, b = Client(), Client()
    forged_idp.sign_in(
        a, sub="cn-1", kind="business", id_number="0209999999-001", name="Chi nhánh 1"
    )
    forged_idp.sign_in(
        b, sub="cn-2", kind="business", id_number="0209999999-002", name="Chi nhánh 2"
    )
    one, two = _signed_in(a), _signed_in(b)
    assert one != two
    assert (one.id_number, two.id_number) == ("0209999999001", "0209999999002")
    assert one.role == two.role == "business"


@pytest.mark.parametrize(
    "kind,number",
    [
        ("citizen", "0010990123456789"),
        ("citizen", "0209999999-001"),
        ("business", "0209999999-0011"),
        ("business", "02099999990011"),
    ],
)
def test_an_identity_number_that_does_not_fit_is_refused_never_cut(
    forged_idp, people, kind, number
):
    User.objects.filter(pk=people["citizen"].pk).update(id_number=number[:12])
    before = User.objects.count()
    c = Client()
    r = forged_idp.sign_in(c, sub="chu-the-dai", kind=kind, id_number=number)
    _refused(r, c, "do hệ thống định danh điện tử gửi không hợp lệ")
    assert User.objects.count() == before
    assert User.objects.get(pk=people["citizen"].pk).oidc_subject is None


# --- the claims of OpenID Connect Core §3.1.3.7 ----------------------------------------------


def _now():
    return int(time.time())


BAD_CLAIMS = {
    "another issuer": lambda: {"iss": "https://gia-mao.example"},
    "another audience": lambda: {"aud": "ung-dung-khac"},
    "audience list without azp": lambda: {"aud": [settings.CQS_OIDC_CLIENT_ID, "khac"]},
    "azp of another client": lambda: {"azp": "ung-dung-khac"},
    "expired": lambda: {"exp": _now() - 600, "iat": _now() - 900},
    "issued in the future": lambda: {"iat": _now() + 600, "exp": _now() + 900},
    "issued too long ago": lambda: {"iat": _now() - 3600, "exp": _now() + 300},
    "not yet valid": lambda: {"nbf": _now() + 600},
    "another nonce": lambda: {"nonce": "nonce-cua-phien-khac"},
    "no nonce": lambda: {"nonce": DROP},
    "no iat": lambda: {"iat": DROP},
    "no exp": lambda: {"exp": DROP},
}


@pytest.mark.parametrize("defect", list(BAD_CLAIMS))
def test_each_defective_claim_refuses_the_sign_in(forged_idp, people, defect):
    before = (User.objects.count(), AuditRecord.objects.filter(verb="login.oidc").count())
    c = Client()
    r = forged_idp.sign_in(c, **BAD_CLAIMS[defect]())
    _refused(r, c, BAD_TOKEN)
    assert (User.objects.count(), AuditRecord.objects.filter(verb="login.oidc").count()) == before
    assert User.objects.get(pk=people["citizen"].pk).oidc_subject is None


@pytest.mark.parametrize(
    "claims",
    [
        lambda: {"aud": [settings.CQS_OIDC_CLIENT_ID, "khac"], "azp": settings.CQS_OIDC_CLIENT_ID},
        lambda: {"aud": [settings.CQS_OIDC_CLIENT_ID]},
        lambda: {"azp": settings.CQS_OIDC_CLIENT_ID},
        lambda: {"nbf": _now() - 60},
        lambda: {"iat": _now() - 300},
    ],
    ids=["list with azp", "list of one", "azp of this client", "nbf past", "iat 5 min ago"],
)
def test_well_formed_variants_are_accepted(forged_idp, people, claims):
    c = Client()
    assert forged_idp.sign_in(c, **claims()).status_code == 302
    assert _signed_in(c).pk == people["citizen"].pk


def test_a_token_without_subject_is_a_400_page(forged_idp, people):
    c = Client()
    r = forged_idp.sign_in(c, sub=DROP)
    _refused(r, c, "Thiếu thông tin bắt buộc (sub)")


def test_a_token_signed_with_another_key_is_refused(forged_idp, people):
    forged_idp.signer = forged_idp.new_key("key-1")  # same key id, not the provider's key
    c = Client()
    _refused(forged_idp.sign_in(c), c, BAD_TOKEN)


def test_a_token_signed_with_the_client_secret_is_refused(forged_idp, people, monkeypatch):
    # HS256 with a secret the client knows: anybody holding it could mint identities.
    secret = OctKey.import_key(settings.CQS_OIDC_CLIENT_SECRET)
    monkeypatch.setattr(
        forged_idp,
        "id_token",
        lambda **claims: jwt.encode(
            {"alg": "HS256"},
            {
                "iss": forged_idp.issuer,
                "aud": settings.CQS_OIDC_CLIENT_ID,
                "sub": "x",
                "exp": _now() + 300,
                "iat": _now(),
                "nonce": forged_idp.nonce,
            },
            secret,
            algorithms=["HS256"],
        ),
    )
    c = Client()
    _refused(forged_idp.sign_in(c), c, BAD_TOKEN)


def test_the_discovery_issuer_must_be_the_configured_one(forged_idp, db):
    forged_idp.discovery["issuer"] = "https://gia-mao.example"
    c = Client()
    r = c.get("/dang-nhap/vneid")
    _refused(r, c, UNREACHABLE, status=503)


# --- the provider's keys, kept for a time; an unreachable provider ---------------------------


def test_keys_are_kept_for_a_time_then_fetched_again(forged_idp, people, clock, settings):
    settings.CQS_OIDC_JWKS_TTL = 3600
    for _ in range(3):
        assert forged_idp.sign_in(Client()).status_code == 302
    assert forged_idp.calls.count("/idp/.well-known/jwks.json") == 1
    clock.tick("2026-11-25T10:01")
    assert forged_idp.sign_in(Client()).status_code == 302
    assert forged_idp.calls.count("/idp/.well-known/jwks.json") == 2


def test_a_rotated_key_is_fetched_without_restart(forged_idp, people):
    assert forged_idp.sign_in(Client()).status_code == 302
    rotated = forged_idp.new_key("key-2")
    forged_idp.published = [rotated]
    forged_idp.signer = rotated
    c = Client()
    assert forged_idp.sign_in(c).status_code == 302
    assert _signed_in(c).pk == people["citizen"].pk
    assert forged_idp.calls.count("/idp/.well-known/jwks.json") == 2


@pytest.mark.parametrize(
    "failure",
    [
        requests.ConnectTimeout("timed out"),
        requests.ConnectionError("connection refused"),
        "bad-json",
    ],
    ids=["timeout", "refused", "bad json"],
)
def test_an_unreachable_provider_is_the_friendly_503_page(forged_idp, people, failure):
    forged_idp.failure = failure
    c = Client()
    _refused(c.get("/dang-nhap/vneid"), c, UNREACHABLE, status=503)

    # The provider fails between the redirect and the callback (token endpoint).
    forged_idp.failure = None
    c = Client()
    _, state = forged_idp.start(c)
    forged_idp.failure = failure
    r = c.get(f"/dang-nhap/xac-thuc?code=the-code&state={state}")
    _refused(r, c, UNREACHABLE, status=503)


# --- locked accounts and usernames -----------------------------------------------------------


def test_a_deactivated_citizen_is_refused_before_anything_is_written(forged_idp, people):
    assert forged_idp.sign_in(Client(), sub="chu-the-1").status_code == 302
    User.objects.filter(pk=people["citizen"].pk).update(is_active=False)
    logins = AuditRecord.objects.filter(verb="login.oidc").count()
    c = Client()
    r = forged_idp.sign_in(c, sub="chu-the-1", name="Tên Mới", phone_number="0987654321")
    _refused(r, c, "đã bị khóa")
    an = User.objects.get(pk=people["citizen"].pk)
    assert an.full_name == "Nguyễn Văn An" and an.phone != "0987654321"
    assert AuditRecord.objects.filter(verb="login.oidc").count() == logins


def test_a_deactivated_applicant_is_not_linked_by_number_either(forged_idp, people):
    User.objects.filter(pk=people["citizen"].pk).update(is_active=False)
    before = User.objects.count()
    c = Client()
    _refused(forged_idp.sign_in(c, sub="chu-the-1"), c, "đã bị khóa")
    assert User.objects.get(pk=people["citizen"].pk).oidc_subject is None
    assert User.objects.count() == before


def test_an_officer_named_like_an_old_citizen_username_does_not_block_sign_in(forged_idp, agency):
    add_user(username="vneid-031200000001", role="receiver", agency=agency.code)
    c = Client()
    r = forged_idp.sign_in(c, sub="chu-the-moi", id_number="031200000001", name="Lê Thị Mới")
    assert r.status_code == 302
    citizen = _signed_in(c)
    assert citizen.role == "citizen" and citizen.username.startswith("vneid:")
    assert User.objects.get(username="vneid-031200000001").role == "receiver"


def test_no_officer_can_take_a_citizen_username(forged_idp, people, agency):
    forged_idp.sign_in(Client(), sub="chu-the-1")
    citizen = User.objects.get(pk=people["citizen"].pk)
    forged_idp.sign_in(Client(), sub="chu-the-2", id_number="031200000002")
    new = User.objects.get(oidc_subject="chu-the-2")
    for username in (new.username, new.username.upper(), "vneid:moi"):
        with pytest.raises(ValidationFailed, match="dành riêng"):
            add_user(username=username, role="receiver", agency=agency.code)
    admin = add_user(username="qt", role="agency_admin", agency=agency.code)
    with pytest.raises(ValidationFailed, match="dành riêng"):
        add_officer(
            actor=admin,
            username=new.username,
            full_name="Cán Bộ",
            role="receiver",
            password="x" * 12,
        )
    assert User.objects.get(pk=new.pk).role == "citizen"
    assert citizen.role == "citizen"
