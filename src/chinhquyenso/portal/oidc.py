"""The portal as an OpenID Connect relying party (authorization-code flow with PKCE, OpenID
Connect Core 1.0 §3.1): the provider is VNeID / the national portal's SSO in production and
the local provider (portal/idp.py) in development. The portal stores no password of a
citizen: it keeps the provider's subject and the identity data the provider asserted."""

import base64
import hashlib
import json
import secrets
from datetime import date
from functools import lru_cache

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from jwcrypto import jwk, jwt

from chinhquyenso.core import audit
from chinhquyenso.core.errors import NotAuthenticated
from chinhquyenso.directory.models import APPLICANT_ROLES, Role

SESSION_KEY = "oidc_request"
TIMEOUT = 10


def fetch(method: str, url: str, **kwargs) -> dict:
    """One HTTP call to the provider (tests route it to the in-process provider)."""
    resp = requests.request(method, url, timeout=TIMEOUT, **kwargs)
    resp.raise_for_status()
    return resp.json()


@lru_cache(maxsize=4)
def _discovery(issuer: str) -> dict:
    return fetch("GET", f"{issuer}/.well-known/openid-configuration")


def discovery() -> dict:
    return _discovery(settings.CQS_OIDC_ISSUER)


def redirect_uri() -> str:
    return f"{settings.CQS_PUBLIC_URL}/dang-nhap/xac-thuc"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def begin(session, next_url: str) -> str:
    """Remember state, nonce and the PKCE verifier; return the provider's authorize URL."""
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    session[SESSION_KEY] = {"state": state, "nonce": nonce, "verifier": verifier,
                            "next": next_url}
    params = {
        "response_type": "code", "client_id": settings.CQS_OIDC_CLIENT_ID,
        "redirect_uri": redirect_uri(), "scope": settings.CQS_OIDC_SCOPES, "state": state,
        "nonce": nonce, "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
    }
    return requests.Request("GET", discovery()["authorization_endpoint"],
                            params=params).prepare().url


def _verify_id_token(token: str, nonce: str) -> dict:
    keys = jwk.JWKSet.from_json(_jwks_text())
    try:
        parsed = jwt.JWT(jwt=token, key=keys, algs=["RS256"], check_claims={
            "iss": settings.CQS_OIDC_ISSUER, "aud": settings.CQS_OIDC_CLIENT_ID, "exp": None})
    except Exception as exc:  # any defect of the token means: not signed in
        raise NotAuthenticated("Mã định danh (ID token) không hợp lệ.") from exc
    claims = json.loads(parsed.claims)
    if claims.get("nonce") != nonce:
        raise NotAuthenticated("Phiên đăng nhập không khớp (nonce).")
    return claims


def _jwks_text() -> str:
    return json.dumps(fetch("GET", discovery()["jwks_uri"]))


def complete(session, params: dict):
    """Finish the flow: check state, exchange the code, verify the ID token, sign in the
    person (creating their account on first visit). Returns (user, next_url)."""
    pending = session.pop(SESSION_KEY, None)
    if pending is None or not params.get("state") or params.get("state") != pending["state"]:
        raise NotAuthenticated("Phiên đăng nhập đã hết hạn hoặc không hợp lệ. Vui lòng thử lại.")
    if params.get("error"):
        raise NotAuthenticated("Nhà cung cấp định danh từ chối đăng nhập.")
    if not params.get("code"):
        raise NotAuthenticated("Thiếu mã xác thực từ nhà cung cấp định danh.")
    try:
        tokens = fetch("POST", discovery()["token_endpoint"], data={
            "grant_type": "authorization_code", "code": params["code"],
            "redirect_uri": redirect_uri(), "code_verifier": pending["verifier"],
        }, auth=(settings.CQS_OIDC_CLIENT_ID, settings.CQS_OIDC_CLIENT_SECRET))
    except requests.RequestException as exc:
        raise NotAuthenticated("Không đổi được mã xác thực với nhà cung cấp định danh.") from exc
    claims = _verify_id_token(tokens.get("id_token", ""), pending["nonce"])
    return person_from_claims(claims), pending.get("next") or ""


# The identity data a provider asserts, kept on the person and shown as "prefilled".
VERIFIED = ("full_name", "id_number", "birth_date", "address", "phone", "email")


def person_from_claims(claims: dict):
    """The user for a verified identity: by subject, else the applicant with the same
    identification number (first OIDC sign-in of an existing applicant), else a new one."""
    User = get_user_model()
    sub = str(claims["sub"])
    id_number = str(claims.get("id_number") or "")[:12]
    role = Role.BUSINESS if claims.get("kind") == "business" else Role.CITIZEN
    with transaction.atomic():
        user = User.objects.select_for_update().filter(oidc_subject=sub).first()
        if user is None and id_number:
            user = (User.objects.select_for_update()
                    .filter(id_number=id_number, role__in=APPLICANT_ROLES).first())
        if user is None:
            user = User(username=f"vneid-{id_number or sub}"[:150], role=role)
        if user.role not in APPLICANT_ROLES:
            raise NotAuthenticated("Tài khoản cán bộ đăng nhập tại trang dành cho cán bộ.")
        user.oidc_subject = sub
        values = {
            "full_name": claims.get("name", ""), "id_number": id_number,
            "birth_date": _date(claims.get("birthdate")),
            "address": (claims.get("address") or {}).get("formatted", ""),
            "phone": claims.get("phone_number", ""), "email": claims.get("email", ""),
        }
        verified = []
        for name, value in values.items():
            if value:
                setattr(user, name, value)
                verified.append(name)
        user.verified_fields = verified
        user.set_unusable_password()
        user.save()
        audit.record(actor=user, verb="login.oidc", target=user,
                     data={"issuer": settings.CQS_OIDC_ISSUER})
    return user


def _date(value):
    try:
        return date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None
