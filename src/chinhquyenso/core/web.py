"""What every server-rendered page shares: the Content-Security-Policy header and the access
checks of the three kinds of page (citizen, officer, province).

Access rule for every web page: the check runs on the server, in the view's decorator;
anonymous visitors are sent to the right login page, a signed-in user without the right
role gets 403. An officer's session exists only after password *and* (where required) the
one-time code passed: the officer login view calls `django.contrib.auth.login` last, so
"authenticated" already means "second factor done"."""

from functools import wraps
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from chinhquyenso.directory.models import APPLICANT_ROLES, OFFICER_ROLES, PROVINCE_ROLES

CITIZEN_LOGIN_URL = "/dang-nhap"
OFFICER_LOGIN_URL = "/can-bo/dang-nhap"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy() -> str:
    """No inline script anywhere (scripts are static files), no third-party origin except
    the payment gateway a form may redirect to."""
    form_targets = " ".join(
        sorted({"'self'", *filter(None, (_origin(settings.VNPAY_PAYMENT_URL),
                                         _origin(getattr(settings, "CQS_OIDC_ISSUER", ""))))})
    )
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        f"frame-ancestors 'none'; form-action {form_targets}"
    )


class ContentSecurityPolicyMiddleware:
    """Adds the policy to every HTML page. The API's Swagger page is left out: its bundled
    UI starts itself from an inline script."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request):
        response = self.get_response(request)
        if (response.get("Content-Type", "").startswith("text/html")
                and not request.path.startswith("/api/")):
            response.setdefault("Content-Security-Policy", self.policy)
            response.setdefault("Referrer-Policy", "same-origin")
            response.setdefault("X-Content-Type-Options", "nosniff")
        return response


def _to_login(request, login_url: str):
    return redirect(f"{login_url}?{urlencode({'next': request.get_full_path()})}")


def _role_required(login_url: str, allowed: set, roles: tuple):
    wanted = set(roles) or allowed

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return _to_login(request, login_url)
            if user.role not in wanted:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def citizen_required(view=None):
    """A page of the signed-in applicant (citizen or business)."""
    decorator = _role_required(CITIZEN_LOGIN_URL, set(APPLICANT_ROLES), ())
    return decorator(view) if view else decorator


def officer_required(*roles):
    """A back-office page; `roles` narrows it (default: any agency officer)."""
    return _role_required(OFFICER_LOGIN_URL, set(OFFICER_ROLES), roles)


def staff_required(*roles):
    """A page for officers or province-level users (monitoring, province admin)."""
    return _role_required(OFFICER_LOGIN_URL, set(OFFICER_ROLES) | set(PROVINCE_ROLES), roles)
