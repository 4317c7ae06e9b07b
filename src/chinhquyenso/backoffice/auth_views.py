"""Officer sign-in pages: /can-bo/dang-nhap (password), /can-bo/dang-nhap/ma (the TOTP
code), /can-bo/dang-nhap/dang-ky-ma (first-time enrolment of the authenticator app),
/can-bo/dang-xuat (POST). `django.contrib.auth.login` is called only when both factors
passed (core/web.py relies on it)."""

from datetime import datetime, timedelta

from django.contrib import messages
from django.contrib.auth import login, logout
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from chinhquyenso.core import throttle
from chinhquyenso.core.errors import DomainError
from chinhquyenso.core.web import staff_required
from chinhquyenso.directory.models import Role, User

from . import services
from .services import LockedOut

PENDING = "backoffice_pending_login"
PENDING_MINUTES = 5
BACKEND = "django.contrib.auth.backends.ModelBackend"


def client_ip(request) -> str:
    """The address the sign-in throttle counts (REMOTE_ADDR, or X-Forwarded-For behind a
    trusted proxy: core/throttle.py)."""
    return throttle.client_address(request)


def _refused(request, template: str, ctx: dict, exc: DomainError):
    """The page again with the reason; a 429 says when to try again (Retry-After)."""
    response = render(request, template, ctx, status=exc.status)
    if getattr(exc, "retry_after", None):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _home_for(user) -> str:
    if user.role == Role.PROVINCE_ADMIN:
        return "/can-bo/quan-tri/"
    if user.role == Role.MONITOR:
        return "/giam-sat/"
    return "/can-bo/"


def _next_url(request, user) -> str:
    nxt = request.session.get(PENDING, {}).get("next") or request.POST.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()) \
            and nxt.startswith("/"):
        return nxt
    return _home_for(user)


def _finish(request, user, second_factor: bool):
    target = _next_url(request, user)
    request.session.pop(PENDING, None)
    services.record_login(user=user, ip=client_ip(request), second_factor=second_factor)
    login(request, user, backend=BACKEND)  # rotates the session key
    return redirect(target)


def _pending_user(request, step: str) -> User | None:
    """The user who passed the password step in this session, for at most 5 minutes."""
    p = request.session.get(PENDING)
    if not p or p.get("step") != step:
        return None
    started = datetime.fromisoformat(p["at"])
    if timezone.now() - started > timedelta(minutes=PENDING_MINUTES):
        request.session.pop(PENDING, None)
        return None
    return User.objects.filter(pk=p["uid"], is_active=True).first()


@never_cache
@require_http_methods(["GET", "POST"])
def login_page(request):
    if request.user.is_authenticated and request.method == "GET" \
            and request.user.role in services.STAFF_ROLES:
        return redirect(_home_for(request.user))
    ctx = {"next": request.GET.get("next") or request.POST.get("next") or "",
           "username": "", "max_failures": services.MAX_FAILURES,
           "lock_minutes": services.LOCK_MINUTES}
    if request.method == "GET":
        return render(request, "backoffice/login.html", ctx)
    username = (request.POST.get("username") or "").strip()
    ctx["username"] = username[:150]
    try:
        result = services.check_password(username=username,
                                         password=request.POST.get("password") or "",
                                         ip=client_ip(request))
    except DomainError as exc:
        ctx["error"] = exc.detail
        ctx["locked"] = isinstance(exc, LockedOut)
        return _refused(request, "backoffice/login.html", ctx, exc)
    if request.user.is_authenticated:
        logout(request)
    request.session[PENDING] = {"uid": result.user.pk, "step": result.next_step,
                                "at": timezone.now().isoformat(), "next": ctx["next"]}
    if result.next_step == "done":
        return _finish(request, result.user, second_factor=False)
    if result.next_step == "code":
        return redirect("backoffice:login_code")
    return redirect("backoffice:login_enrol")


def _second_factor(request, user, check, template: str, ctx: dict):
    """The one-time-code step (sign-in or enrolment): on a good code the session starts; on a
    bad one the page again with the reason, and a lock-out ends the half-finished sign-in."""
    if request.method == "POST":
        try:
            check(user=user, code=request.POST.get("code") or "", ip=client_ip(request))
        except DomainError as exc:
            if isinstance(exc, LockedOut):
                request.session.pop(PENDING, None)
            return _refused(request, template, {**ctx, "error": exc.detail}, exc)
        return _finish(request, user, second_factor=True)
    return render(request, template, ctx)


@never_cache
@require_http_methods(["GET", "POST"])
def login_code(request):
    user = _pending_user(request, "code")
    if user is None:
        return redirect("backoffice:login")
    return _second_factor(request, user, services.check_code, "backoffice/login_code.html",
                          {"officer": user})


@never_cache
@require_http_methods(["GET", "POST"])
def login_enrol(request):
    """First sign-in of a leader or administrator without an authenticator app."""
    user = _pending_user(request, "enrol")
    if user is None:
        return redirect("backoffice:login")
    enrolment = services.start_enrolment(user=user)
    return _second_factor(request, user, services.confirm_enrolment,
                          "backoffice/login_enrol.html",
                          {"officer": user, "enrolment": enrolment,
                           "action": "/can-bo/dang-nhap/dang-ky-ma"})


@never_cache
@staff_required()
@require_http_methods(["GET", "POST"])
def security(request):
    """An officer for whom the code is optional sets up the authenticator app."""
    device = services.TotpDevice.objects.filter(user=request.user).first()
    if device is not None and device.confirmed:
        return render(request, "backoffice/security.html", {"enrolled": True})
    enrolment = services.start_enrolment(user=request.user)
    ctx = {"officer": request.user, "enrolment": enrolment, "action": "/can-bo/bao-mat"}
    if request.method == "POST":
        try:
            services.confirm_enrolment(user=request.user, code=request.POST.get("code") or "",
                                       ip=client_ip(request))
        except LockedOut as exc:
            logout(request)
            return render(request, "backoffice/login.html", {"error": exc.detail,
                                                              "locked": True}, status=exc.status)
        except DomainError as exc:
            ctx["error"] = exc.detail
            return _refused(request, "backoffice/login_enrol.html", ctx, exc)
        return render(request, "backoffice/security.html", {"enrolled": True, "just": True})
    return render(request, "backoffice/login_enrol.html", ctx)


@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request, token: str):
    """/can-bo/loi-moi/<token>: the new officer sets their own password and enrols their
    authenticator app; then the link is dead and the officer signs in as usual."""
    try:
        inv = services.open_invitation(token)
        enrolment = services.start_enrolment(user=inv.user)
    except DomainError as exc:
        return render(request, "backoffice/error.html",
                      {"title": "Liên kết mời không dùng được", "message": exc.detail,
                       "back": "/can-bo/dang-nhap"}, status=exc.status)
    ctx = {"officer": inv.user, "enrolment": enrolment, "expires": inv.expires_at,
           "field_errors": {}}
    if request.method == "POST":
        try:
            services.accept_invitation(token=token, password=request.POST.get("password") or "",
                                       password2=request.POST.get("password2") or "",
                                       code=request.POST.get("code") or "",
                                       ip=client_ip(request))
        except DomainError as exc:
            ctx.update(error=exc.detail, field_errors=exc.extra.get("errors") or {})
            return _refused(request, "backoffice/invitation.html", ctx, exc)
        if request.user.is_authenticated:
            logout(request)
        messages.success(request, "Đã kích hoạt tài khoản. Hãy đăng nhập bằng mật khẩu vừa "
                                  "đặt và mã trên ứng dụng xác thực.")
        return redirect("backoffice:login")
    return render(request, "backoffice/invitation.html", ctx)


@require_POST
def logout_page(request):
    if request.user.is_authenticated:
        services.record_logout(user=request.user, ip=client_ip(request))
    logout(request)
    return redirect("backoffice:login")
