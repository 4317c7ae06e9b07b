"""The portal as an OpenID Connect relying party (authorization-code flow with PKCE, OpenID
Connect Core 1.0 §3.1): the provider is VNeID / the national portal's SSO in production and
the local provider (portal/idp.py) in development. The portal stores no password of a
citizen: it keeps the provider's issuer and subject and the identity data it asserted.

The protocol is Authlib's: its requests client builds the authorization request (state,
nonce, S256 code challenge) and exchanges the code; joserfc (Authlib's JOSE library) checks
the RS256 signature against the provider's keys; Authlib's `CodeIDToken` checks the claims
of §3.1.3.7 (iss, aud, azp, exp, iat, nbf, nonce, at_hash). This module adds what a library
cannot know: the configured issuer, how long the provider's keys are kept, how old a token
may be, and how a verified identity becomes an account."""

import hmac
import logging
import re
import secrets
import time
from datetime import date

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oidc.core import CodeIDToken
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError, MissingClaimError
from joserfc.jwk import KeySet

from chinhquyenso.core import audit
from chinhquyenso.core.errors import DomainError, NotAuthenticated
from chinhquyenso.directory.models import APPLICANT_ROLES, E_ID_USERNAME_PREFIX, Role
from chinhquyenso.dossiers.validation import ID_NUMBER, TAX_CODE

log = logging.getLogger(__name__)

SESSION_KEY = "oidc_request"
TIMEOUT = 10  # seconds for each call to the provider
# Clock skew allowed between the provider and the platform on exp, nbf and iat (seconds).
LEEWAY = 120
# An ID token is fetched from the token endpoint right after the provider signs it: one
# issued longer ago than this is refused ("The iat Claim can be used to reject tokens that
# were issued too far away from the current time", OpenID Connect Core §3.1.3.7 item 10).
MAX_TOKEN_AGE = 600
ALGORITHMS = ["RS256"]  # what the provider signs with (§3.1.3.7 item 7: the agreed alg)

# A requests transport adapter that answers instead of the network (tests mount the local
# provider or a forged one here): the one seam of every HTTP call to the provider.
TRANSPORT: requests.adapters.BaseAdapter | None = None

UNREACHABLE = "Không kết nối được với hệ thống định danh điện tử. Vui lòng thử lại sau."
BAD_TOKEN = "Mã định danh (ID token) không hợp lệ."


class ProviderUnavailable(DomainError):
    """The provider cannot be reached or answers with something unusable."""

    status = 503
    title = UNREACHABLE


def redirect_uri() -> str:
    return f"{settings.CQS_PUBLIC_URL}/dang-nhap/xac-thuc"


def client() -> OAuth2Session:
    """Authlib's OAuth 2.0 client for the configured provider."""
    session = OAuth2Session(
        client_id=settings.CQS_OIDC_CLIENT_ID,
        client_secret=settings.CQS_OIDC_CLIENT_SECRET,
        token_endpoint_auth_method="client_secret_basic",
        scope=settings.CQS_OIDC_SCOPES,
        redirect_uri=redirect_uri(),
        code_challenge_method="S256",
        default_timeout=TIMEOUT,
    )
    if TRANSPORT is not None:
        session.mount("http://", TRANSPORT)
        session.mount("https://", TRANSPORT)
    return session


def _get_json(url: str) -> dict:
    try:
        with client() as session:
            resp = session.get(url, withhold_token=True)
            resp.raise_for_status()
            data = resp.json()
    except (requests.RequestException, ValueError) as exc:
        log.warning("identity provider unreachable at %s: %s", url, exc)
        raise ProviderUnavailable() from exc
    if not isinstance(data, dict):
        raise ProviderUnavailable()
    return data


# --- the provider's discovery document and keys, kept for CQS_OIDC_JWKS_TTL ------------------

_kept: dict[str, tuple[float, object]] = {}


def _keep(key: str, load, *, fresh: bool = False):
    hit = _kept.get(key)
    if hit is not None and not fresh and time.time() - hit[0] < settings.CQS_OIDC_JWKS_TTL:
        return hit[1]
    value = load()
    _kept[key] = (time.time(), value)
    return value


def forget_provider() -> None:
    """Drop the kept discovery document and keys (tests; a changed configuration)."""
    _kept.clear()


def discovery() -> dict:
    issuer = settings.CQS_OIDC_ISSUER

    def load() -> dict:
        meta = _get_json(f"{issuer}/.well-known/openid-configuration")
        # "The issuer value returned MUST be identical to the Issuer URL that was used as the
        # prefix to /.well-known/openid-configuration" (OpenID Connect Discovery 1.0 §4.3).
        if meta.get("issuer") != issuer:
            log.warning("discovery issuer %r is not the configured %r", meta.get("issuer"), issuer)
            raise ProviderUnavailable()
        if not all(
            isinstance(meta.get(k), str) and meta[k]
            for k in ("authorization_endpoint", "token_endpoint", "jwks_uri")
        ):
            raise ProviderUnavailable()
        return meta

    return _keep(f"discovery {issuer}", load)


def provider_keys(*, fresh: bool = False) -> KeySet:
    uri = discovery()["jwks_uri"]

    def load() -> KeySet:
        data = _get_json(uri)
        try:
            return KeySet.import_key_set(data)
        except (JoseError, KeyError, TypeError, ValueError) as exc:
            log.warning("identity provider's keys at %s unusable: %s", uri, exc)
            raise ProviderUnavailable() from exc

    return _keep(f"jwks {uri}", load, fresh=fresh)


# --- the flow ----------------------------------------------------------------------------------


def begin(session, next_url: str) -> str:
    """Remember state, nonce and the PKCE verifier; return the provider's authorize URL."""
    meta = discovery()
    nonce, verifier = generate_token(32), generate_token(64)
    with client() as oauth:
        url, state = oauth.create_authorization_url(
            meta["authorization_endpoint"], nonce=nonce, code_verifier=verifier
        )
    session[SESSION_KEY] = {"state": state, "nonce": nonce, "verifier": verifier, "next": next_url}
    return url


def complete(session, params: dict):
    """Finish the flow: check state, exchange the code, verify the ID token, sign in the
    person (creating their account on first visit). Returns (user, next_url)."""
    pending = session.pop(SESSION_KEY, None)
    state = params.get("state") or ""
    if pending is None or not state or not hmac.compare_digest(state, pending["state"]):
        raise NotAuthenticated("Phiên đăng nhập đã hết hạn hoặc không hợp lệ. Vui lòng thử lại.")
    if params.get("error"):
        raise NotAuthenticated("Nhà cung cấp định danh từ chối đăng nhập.")
    if not params.get("code"):
        raise NotAuthenticated("Thiếu mã xác thực từ nhà cung cấp định danh.")
    meta = discovery()
    try:
        with client() as oauth:
            tokens = oauth.fetch_token(
                meta["token_endpoint"],
                grant_type="authorization_code",
                code=params["code"],
                code_verifier=pending["verifier"],
            )
    except OAuthError as exc:  # the provider answered, and refused the code
        raise NotAuthenticated(
            "Không đổi được mã xác thực với nhà cung cấp định danh. Vui lòng thử lại."
        ) from exc
    except (requests.RequestException, ValueError) as exc:
        log.warning("identity provider's token endpoint unreachable: %s", exc)
        raise ProviderUnavailable() from exc
    claims = verify_id_token(
        tokens.get("id_token"), nonce=pending["nonce"], access_token=tokens.get("access_token")
    )
    return person_from_claims(claims), pending.get("next") or ""


def _not_too_old(claims, iat) -> bool:
    return iat >= time.time() - MAX_TOKEN_AGE - LEEWAY


def verify_id_token(id_token, *, nonce: str, access_token: str | None = None) -> dict:
    """The claims of an ID token whose signature and claims hold (§3.1.3.7), else
    NotAuthenticated; ProviderUnavailable when the provider's keys cannot be had."""
    if not isinstance(id_token, str) or not id_token:
        raise NotAuthenticated("Nhà cung cấp định danh không trả về mã định danh (ID token).")
    try:
        try:
            token = jwt.decode(id_token, provider_keys(), algorithms=ALGORITHMS)
        except InvalidKeyIdError:  # signed with a key not kept here: the provider rotated
            token = jwt.decode(id_token, provider_keys(fresh=True), algorithms=ALGORITHMS)
        options = {
            "iss": {"essential": True, "value": settings.CQS_OIDC_ISSUER},
            "aud": {"essential": True, "value": settings.CQS_OIDC_CLIENT_ID},
            "sub": {"essential": True},
            "iat": {"essential": True, "validate": _not_too_old},
        }
        params = {"nonce": nonce, "client_id": settings.CQS_OIDC_CLIENT_ID}
        if access_token:
            params["access_token"] = access_token
        claims = CodeIDToken(token.claims, token.header, options, params)
        claims.validate(leeway=LEEWAY)
    except MissingClaimError as exc:
        raise NotAuthenticated(f"{BAD_TOKEN} Thiếu thông tin bắt buộc ({exc.claim}).") from exc
    except JoseError as exc:
        raise NotAuthenticated(BAD_TOKEN) from exc
    return dict(claims)


# --- from a verified identity to an account ----------------------------------------------------

# The identity data a provider asserts, kept on the person and shown as "prefilled".
VERIFIED = ("full_name", "id_number", "birth_date", "address", "phone", "email")
BRANCH_CODE = re.compile(r"^([0-9]{10})-([0-9]{3})$")  # "0209999999-001": a branch's tax code


def e_id_username() -> str:
    """A username for an account made by the e-ID: no officer form or command accepts it."""
    return E_ID_USERNAME_PREFIX + secrets.token_hex(16)


def identity_number(value, role: str) -> str:
    """The identity number asserted by the provider, in the platform's form (12 digits for a
    person, 10 or 13 for an organisation), or NotAuthenticated: never cut to fit."""
    if value in (None, ""):
        return ""
    text = str(value).strip()
    if role == Role.BUSINESS:
        branch = BRANCH_CODE.match(text)
        text = "".join(branch.groups()) if branch else text
        if TAX_CODE.match(text):
            return text
        rule = "mã số doanh nghiệp phải gồm 10 hoặc 13 chữ số"
    else:
        if ID_NUMBER.match(text):
            return text
        rule = "số định danh cá nhân phải gồm đúng 12 chữ số"
    shown = text if len(text) <= 30 else text[:30] + "…"
    raise NotAuthenticated(
        f"Số định danh «{shown}» do hệ thống định danh điện tử gửi không hợp lệ ({rule}), nên "
        "không thể đăng nhập. Vui lòng liên hệ bộ phận hỗ trợ của Cổng dịch vụ công."
    )


def person_from_claims(claims: dict, issuer: str | None = None):
    """The account of a verified identity: the one bound to (issuer, sub); else, the first
    time, the applicant account with the same identity number that no provider has claimed
    yet; else a new one. Nothing is written for a locked account or an officer."""
    issuer = issuer or settings.CQS_OIDC_ISSUER
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise NotAuthenticated(f"{BAD_TOKEN} Thiếu thông tin bắt buộc (sub).")
    role = Role.BUSINESS if claims.get("kind") == "business" else Role.CITIZEN
    id_number = identity_number(claims.get("id_number"), role)
    try:
        return _bind(claims, issuer, sub, role, id_number)
    except IntegrityError:  # the same person's first sign-in, twice at once: the other won
        return _bind(claims, issuer, sub, role, id_number)


def _bind(claims: dict, issuer: str, sub: str, role: str, id_number: str):
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.select_for_update().filter(oidc_issuer=issuer, oidc_subject=sub).first()
        if user is None and id_number:
            user = (
                User.objects.select_for_update()
                .filter(id_number=id_number, role=role, oidc_subject__isnull=True)
                .order_by("pk")
                .first()
            )
        if user is not None and user.role not in APPLICANT_ROLES:
            raise NotAuthenticated("Tài khoản cán bộ đăng nhập tại trang dành cho cán bộ.")
        if user is not None and not user.is_active:
            raise NotAuthenticated(
                "Tài khoản của bạn trên Cổng dịch vụ công đã bị khóa. "
                "Vui lòng liên hệ bộ phận hỗ trợ."
            )
        if user is None:
            user = User(username=e_id_username(), role=role)
        user.oidc_issuer, user.oidc_subject = issuer, sub
        address = claims.get("address")
        values = {
            "full_name": claims.get("name"),
            "id_number": id_number,
            "birth_date": _date(claims.get("birthdate")),
            "address": address.get("formatted") if isinstance(address, dict) else None,
            "phone": claims.get("phone_number"),
            "email": claims.get("email"),
        }
        verified = []
        for name, value in values.items():
            limit = getattr(User._meta.get_field(name), "max_length", None)
            if isinstance(value, str) and limit and len(value) > limit:
                continue  # kept out rather than cut: the person types it on the form
            if value and isinstance(value, (str, date)):
                setattr(user, name, value)
                verified.append(name)
        user.verified_fields = verified
        user.set_unusable_password()
        user.save()
        audit.record(actor=user, verb="login.oidc", target=user, data={"issuer": issuer})
    return user


def _date(value):
    try:
        return date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None
