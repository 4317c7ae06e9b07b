"""The local OpenID Connect provider under /idp/: the development and test stand-in for VNeID
(the national identity) and the national portal's single sign-on, built on
django-oauth-toolkit. It knows demo identities (IdpAccount) with their own passwords; the
portal signs them in through the same authorization-code flow (PKCE, RS256-signed ID token)
that it uses with the real provider, whose issuer, client id and secret are settings.

Its session is its own key in the browser session ("idp_user_id"): signing in here does not
sign the citizen in to the portal; only the portal's callback does."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import path, re_path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from oauth2_provider import views as dot
from oauth2_provider.models import get_application_model
from oauth2_provider.oauth2_validators import OAuth2Validator

from chinhquyenso.directory.models import APPLICANT_ROLES, Role

from .idpkey import private_key
from .models import IdpAccount
from .oidc import e_id_username

SESSION_KEY = "idp_user_id"
LOGIN_PATH = "/idp/dang-nhap"


class ClaimsValidator(OAuth2Validator):
    """ID token and userinfo claims: the subject is the personal identification number, as
    VNeID identifies a citizen; the profile claims follow OpenID Connect Core §5.1."""

    # Claims outside OpenID Connect's list, released with the "profile" scope.
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "id_number": "profile",
                        "kind": "profile"}

    def get_claim_dict(self, request):
        claims = super().get_claim_dict(request)
        claims["sub"] = request.user.id_number or str(request.user.pk)
        return claims

    def get_additional_claims(self, request):
        user = request.user
        account = IdpAccount.objects.filter(id_number=user.id_number).first()
        if account is None:
            return {"name": user.full_name}
        claims = {"name": account.full_name, "id_number": account.id_number,
                  "kind": account.kind}
        if account.birth_date:
            claims["birthdate"] = account.birth_date.isoformat()
        if account.address:
            claims["address"] = {"formatted": account.address}
        if account.phone:
            claims["phone_number"] = account.phone
        if account.email:
            claims["email"] = account.email
        return claims


def _idp_user(request):
    user_id = request.session.get(SESSION_KEY)
    if user_id:
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        if user is not None:
            return user
    return AnonymousUser()


class AuthorizationView(dot.AuthorizationView):
    """The provider's authorize endpoint, with the provider's own sign-in."""

    login_url = LOGIN_PATH

    def dispatch(self, request, *args, **kwargs):
        request.user = _idp_user(request)
        return super().dispatch(request, *args, **kwargs)


def user_for_account(account: IdpAccount):
    """The platform's user row behind an identity (made on first sign-in, no password)."""
    User = get_user_model()
    role = Role.BUSINESS if account.kind == "business" else Role.CITIZEN
    with transaction.atomic():
        user = (User.objects.select_for_update()
                .filter(id_number=account.id_number, role__in=APPLICANT_ROLES).first())
        if user is None:
            user = User(username=e_id_username(), role=role,
                        id_number=account.id_number, full_name=account.full_name)
            user.set_unusable_password()
            user.save()
    return user


def authenticate(id_number: str, password: str) -> IdpAccount | None:
    account = IdpAccount.objects.filter(id_number=(id_number or "").strip()).first()
    if account is None or not check_password(password or "", account.password):
        return None
    return account


@require_http_methods(["GET", "POST"])
def login_view(request):
    nxt = request.GET.get("next") or request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = ""
    error = ""
    if request.method == "POST":
        account = authenticate(request.POST.get("id_number", ""), request.POST.get("password", ""))
        if account is None:
            error = "Số định danh hoặc mật khẩu không đúng."
        else:
            request.session.cycle_key()
            request.session[SESSION_KEY] = user_for_account(account).pk
            return redirect(nxt or "/")
    demo = IdpAccount.objects.filter(is_demo=True).order_by("id_number")[:5]
    return render(request, "portal/idp_login.html",
                  {"next": nxt, "error": error, "demo": demo},
                  status=400 if error else 200)


def ensure_local_client() -> None:
    """Register the portal as a client of the local provider (idempotent; `cqs init`)."""
    if not settings.CQS_LOCAL_IDP:
        return
    private_key()  # the signing key, made now rather than by the first sign-in
    Application = get_application_model()
    app = Application.objects.filter(client_id=settings.CQS_OIDC_CLIENT_ID).first() or Application(
        client_id=settings.CQS_OIDC_CLIENT_ID)
    app.name = "Cổng dịch vụ công (cục bộ)"
    app.client_type = Application.CLIENT_CONFIDENTIAL
    app.authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
    app.redirect_uris = f"{settings.CQS_PUBLIC_URL}/dang-nhap/xac-thuc"
    app.algorithm = Application.RS256_ALGORITHM
    app.skip_authorization = True
    app.client_secret = settings.CQS_OIDC_CLIENT_SECRET
    app.save()


def add_identity(*, id_number: str, full_name: str, password: str, birth_date=None,
                 address: str = "", phone: str = "", email: str = "", kind: str = "citizen",
                 is_demo: bool = False) -> IdpAccount:
    account, _ = IdpAccount.objects.update_or_create(
        id_number=id_number,
        defaults=dict(full_name=full_name, password=make_password(password),
                      birth_date=birth_date, address=address, phone=phone, email=email,
                      kind=kind, is_demo=is_demo))
    return account


app_name = "oauth2_provider"
urlpatterns = [
    path("dang-nhap", login_view, name="idp-login"),
    path("authorize/", AuthorizationView.as_view(), name="authorize"),
    path("token/", dot.TokenView.as_view(), name="token"),
    re_path(r"^\.well-known/openid-configuration/?$", dot.ConnectDiscoveryInfoView.as_view(),
            name="oidc-connect-discovery-info"),
    path(".well-known/jwks.json", dot.JwksInfoView.as_view(), name="jwks-info"),
    path("userinfo/", dot.UserInfoView.as_view(), name="user-info"),
]
