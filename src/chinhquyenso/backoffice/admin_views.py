"""Administration pages under /can-bo/quan-tri/: an agency admin manages the officers of the
agency; a province admin manages agencies, procedures' processes and deadlines, and the
working-day calendar. Every write is one service call (directory.services,
catalog.editing, core.calendar, backoffice.services.reset_totp)."""

from datetime import date

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from chinhquyenso.catalog import editing
from chinhquyenso.core import calendar as work_calendar
from chinhquyenso.core.errors import DomainError, ValidationFailed
from chinhquyenso.core.web import officer_required, staff_required
from chinhquyenso.directory import services as directory
from chinhquyenso.directory.models import Role

from . import queries
from . import services as bo_services

ROLE_CHOICES = [(r.value, r.label) for r in directory.ASSIGNABLE_ROLES]
STEP_ROLE_CHOICES = [("receiver", "Bộ phận một cửa (tiếp nhận, trả kết quả)"),
                     ("specialist", "Chuyên viên"), ("leader", "Lãnh đạo")]


@staff_required(Role.AGENCY_ADMIN, Role.PROVINCE_ADMIN)
@require_GET
def home(request):
    return render(request, "backoffice/admin_home.html", {})


# --- officers (agency admin) ---------------------------------------------------------------


@officer_required(Role.AGENCY_ADMIN)
@require_http_methods(["GET", "POST"])
def officers(request):
    ctx = {"roles": ROLE_CHOICES, "values": {}, "field_errors": {}}
    status = 200
    if request.method == "POST":
        values = {k: (request.POST.get(k) or "").strip()
                  for k in ("username", "full_name", "role", "email", "phone")}
        try:
            user, link = directory.invite_officer(actor=request.user, **values)
        except DomainError as exc:
            ctx.update(error=exc.detail, values=values,
                       field_errors=exc.extra.get("errors") or {})
            status = exc.status
        else:
            # The one-time link, shown once on this page (only its hash is stored) and
            # e-mailed to the officer: the officer sets the password, nobody else knows it.
            ctx.update(created=user, invitation_link=link)
    ctx["officers"] = queries.agency_officers(request.user.agency)
    return render(request, "backoffice/admin_officers.html", ctx, status=status)


@officer_required(Role.AGENCY_ADMIN)
@require_http_methods(["GET", "POST"])
def officer(request, user_id: int):
    user = queries.agency_officer(request.user.agency, user_id)
    if user is None:
        raise Http404("Không tìm thấy cán bộ trong cơ quan của bạn.")
    ctx = {"officer": user, "roles": ROLE_CHOICES,
           "has_device": queries.has_totp_device(user)}
    if request.method == "POST":
        op = request.POST.get("op")
        try:
            if op == "role":
                directory.change_officer_role(actor=request.user, user=user,
                                              role=request.POST.get("role") or "")
                done = "Đã đổi vai trò."
            elif op == "deactivate":
                directory.deactivate_officer(actor=request.user, user=user)
                done = "Đã khóa tài khoản."
            elif op == "reinvite":
                link = directory.reinvite_officer(actor=request.user, user=user)
                ctx.update(invitation_link=link)
                return render(request, "backoffice/admin_officer.html", ctx)
            elif op == "reset-totp":
                bo_services.reset_totp(actor=request.user, user=user)
                done = "Đã đặt lại ứng dụng xác thực; cán bộ sẽ đăng ký lại khi đăng nhập."
            else:
                raise ValidationFailed("Thao tác không hợp lệ.")
        except DomainError as exc:
            ctx["error"] = exc.detail
            return render(request, "backoffice/admin_officer.html", ctx, status=exc.status)
        messages.success(request, done)
        return redirect("backoffice:admin_officer", user_id=user.pk)
    return render(request, "backoffice/admin_officer.html", ctx)


# --- agencies (province admin) -------------------------------------------------------------


@staff_required(Role.PROVINCE_ADMIN)
@require_GET
def agencies(request):
    q = (request.GET.get("q") or "")[:100]
    return render(request, "backoffice/admin_agencies.html",
                  {"agencies": queries.agencies(q), "q": q})


def _hours_from_post(post) -> list[list[str]]:
    hours = []
    for i in range(1, 4):
        a, b = (post.get(f"start_{i}") or "").strip(), (post.get(f"end_{i}") or "").strip()
        if a or b:
            hours.append([a, b])
    return hours


@staff_required(Role.PROVINCE_ADMIN)
@require_http_methods(["GET", "POST"])
def agency(request, agency_id: int):
    ag = queries.agency(agency_id)
    if ag is None:
        raise Http404("Không tìm thấy cơ quan.")
    ctx = {"agency": ag}
    if request.method == "POST":
        try:
            directory.update_agency(
                actor=request.user, agency=ag, name=request.POST.get("name") or "",
                short_name=request.POST.get("short_name") or "",
                address=request.POST.get("address") or "", phone=request.POST.get("phone") or "",
                email=request.POST.get("email") or "",
                working_hours=_hours_from_post(request.POST))
        except DomainError as exc:
            ctx["error"] = exc.detail
            ag.refresh_from_db()
            ctx["periods"] = _periods(ag.working_hours)
            return render(request, "backoffice/admin_agency.html", ctx, status=exc.status)
        messages.success(request, "Đã lưu thông tin cơ quan.")
        return redirect("backoffice:admin_agency", agency_id=ag.pk)
    ctx["periods"] = _periods(ag.working_hours)
    return render(request, "backoffice/admin_agency.html", ctx)


def _periods(hours) -> list[tuple[int, str, str]]:
    hours = list(hours or [])
    return [(i, *(hours[i - 1] if i <= len(hours) else ("", ""))) for i in range(1, 4)]


# --- the catalogue (province admin) --------------------------------------------------------


@staff_required(Role.PROVINCE_ADMIN)
@require_GET
def procedures(request):
    q = (request.GET.get("q") or "")[:100]
    return render(request, "backoffice/admin_procedures.html",
                  {"procedures": queries.procedures(q), "q": q})


def _steps_from_post(post) -> list[dict]:
    steps = []
    for i in range(1, 21):
        name = (post.get(f"name_{i}") or "").strip()
        if not name:
            continue
        steps.append({"name": name, "role": post.get(f"role_{i}"),
                      "share": post.get(f"share_{i}") or "0",
                      "agency_key": post.get(f"agency_{i}") or ""})
    return steps


@staff_required(Role.PROVINCE_ADMIN)
@require_http_methods(["GET", "POST"])
def procedure(request, code: str):
    proc = queries.procedure(code[:30])
    if proc is None:
        raise Http404("Không tìm thấy thủ tục.")
    status = 200
    ctx = {"procedure": proc, "step_roles": STEP_ROLE_CHOICES,
           "agency_keys": queries.agency_keys()}
    if request.method == "POST":
        steps = _steps_from_post(request.POST)
        days = request.POST.get("working_days") or ""
        try:
            editing.update_procedure_process(actor=request.user, procedure=proc,
                                             working_days=days, steps=steps)
        except DomainError as exc:
            ctx.update(error=exc.detail, problems=exc.extra.get("errors") or [],
                       rows=_rows(steps), working_days=days)
            return render(request, "backoffice/admin_procedure.html", ctx, status=exc.status)
        messages.success(request, "Đã lưu quy trình và thời hạn giải quyết.")
        return redirect("backoffice:admin_procedure", code=proc.code)
    ctx.update(rows=_rows([{"name": s.name, "role": s.role, "share": s.share,
                            "agency_key": s.agency_key} for s in proc.steps.all()]),
               working_days=proc.working_days)
    return render(request, "backoffice/admin_procedure.html", ctx, status=status)


def _rows(steps: list[dict]) -> list[dict]:
    """The steps plus two empty rows for new steps."""
    rows = [{**s, "i": i} for i, s in enumerate(steps, 1)]
    n = len(rows)
    rows += [{"i": n + k, "name": "", "role": "specialist", "share": "", "agency_key": ""}
             for k in (1, 2)]
    return rows


# --- the working-day calendar (province admin) ---------------------------------------------


@staff_required(Role.PROVINCE_ADMIN)
@require_http_methods(["GET", "POST"])
def calendar(request):
    ctx = {}
    status = 200
    if request.method == "POST":
        op = request.POST.get("op")
        try:
            try:
                day = date.fromisoformat(request.POST.get("date") or "")
            except ValueError as exc:
                raise ValidationFailed("Ngày không hợp lệ.") from exc
            if op == "set":
                kind = request.POST.get("working")
                if kind not in {"0", "1"}:
                    raise ValidationFailed("Chọn ngày nghỉ hoặc ngày làm việc bù.")
                work_calendar.set_calendar_day(actor=request.user, day=day, working=kind == "1",
                                               reason=(request.POST.get("reason") or "")[:255])
                messages.success(request, f"Đã lưu ngày {day:%d/%m/%Y}.")
            elif op == "remove":
                if not work_calendar.remove_calendar_day(actor=request.user, day=day):
                    raise ValidationFailed(f"Ngày {day:%d/%m/%Y} không có trong danh sách.")
                messages.success(request, f"Đã bỏ ngày {day:%d/%m/%Y} khỏi danh sách.")
            else:
                raise ValidationFailed("Thao tác không hợp lệ.")
        except DomainError as exc:
            ctx["error"] = exc.detail
            status = exc.status
        else:
            return redirect("backoffice:admin_calendar")
    ctx["overrides"] = queries.calendar_overrides()
    return render(request, "backoffice/admin_calendar.html", ctx, status=status)
