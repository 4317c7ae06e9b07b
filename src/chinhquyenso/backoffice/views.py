"""Back-office pages: the work queue, a dossier's page with its actions, its documents and
forms, the one-stop desk, the leader's approvals. Thin: parse, call one service, render."""

from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chinhquyenso.core import audit
from chinhquyenso.core.downloads import serve_file
from chinhquyenso.core.errors import DomainError, ValidationFailed
from chinhquyenso.core.web import officer_required, staff_required
from chinhquyenso.directory.models import Role
from chinhquyenso.dossiers import documents
from chinhquyenso.dossiers import services as dossier_services
from chinhquyenso.dossiers.documents import step_result
from chinhquyenso.dossiers.models import ENDED_WITHOUT_RESULT, OPEN_STATUSES, Action, Status
from chinhquyenso.dossiers.queries import get_visible

from . import queries
from . import services as bo_services

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def _flag(request, name: str) -> bool:
    return request.GET.get(name) in {"1", "on", "true"}


def _int(value, lo: int, hi: int) -> int | None:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return None
    return n if lo <= n <= hi else None


# --- queue ------------------------------------------------------------------------------


@officer_required()
@require_GET
def queue(request):
    user = request.user
    raw_status = request.GET.get("status") or ""
    status = _int(raw_status, 1, 10)
    page = _int(request.GET.get("page") or "1", 1, 100_000)
    q = (request.GET.get("q") or "").strip()
    errors = []
    if raw_status and (status is None or status not in OPEN_STATUSES):
        errors.append("Trạng thái không hợp lệ.")
    if page is None:
        errors.append("Số trang không hợp lệ.")
    if len(q) > 100:
        errors.append("Từ khóa tìm kiếm dài quá 100 ký tự.")
    f = queries.QueueFilters(status=status if not errors else None,
                             procedure=(request.GET.get("procedure") or "")[:30],
                             overdue=_flag(request, "overdue"), due_soon=_flag(request, "due_soon"),
                             mine=_flag(request, "mine"), q=q[:100], page=page or 1)
    at = timezone.now()
    soon = queries.due_soon_limit(user.agency, at)
    qs = queries.queue(user, f, at, soon)
    rows = queries.queue_rows(qs, f.page)
    count = queries.queue_count(qs)
    risks = {}
    try:
        from chinhquyenso.planning.warnings import risks_for
    except ImportError:
        risks_for = None
    if risks_for is not None and rows:
        risks = risks_for(rows, at=at)
    for r in rows:
        r["status_name"] = Status(r["status"]).label
        r["overdue"] = bool(r["due_at"] and r["due_at"] < at)
        r["due_soon"] = bool(r["due_at"] and not r["overdue"] and r["due_at"] < soon)
        r["risk"] = risks.get(r["id"], "")
    params = {k: v for k, v in request.GET.items() if k != "page" and v}
    base = urlencode(params)
    pages = (count["count"] + queries.PAGE_SIZE - 1) // queries.PAGE_SIZE
    ctx = {
        "rows": rows, "count": count, "filters": f, "errors": errors,
        "counts": queries.status_counts(user),
        "procedures": queries.agency_procedures(user.agency),
        "open_statuses": [(s, Status(s).label) for s in OPEN_STATUSES],
        "page": f.page, "has_prev": f.page > 1,
        "has_next": len(rows) == queries.PAGE_SIZE and (f.page < pages or not count["count_exact"]),
        "pages": pages, "base": base, "prev_page": f.page - 1, "next_page": f.page + 1,
    }
    return render(request, "backoffice/queue.html", ctx, status=400 if errors else 200)


# --- one dossier ------------------------------------------------------------------------


def _visible_or_404(request, code: str):
    d = get_visible(request.user, code) if len(code) <= 60 else None
    if d is None:
        raise Http404("Không tìm thấy hồ sơ.")
    return d


def _detail_context(request, d, at) -> dict:
    page = queries.dossier_page(d)
    for s in page["steps"]:
        s.result = step_result(s)
        s.late_open = s.finished_at is None and s.due_at is not None and s.due_at < at \
            and s.started_at is not None
    for e in page["events"]:
        e.label = Action.label_of(e.action)
        e.status_name = Status(e.to_status).label
    actions = dossier_services.allowed_actions(request.user, d, at=at, steps=page["steps"])
    form_labels = {f["name"]: f.get("label", f["name"]) for f in d.procedure.form}
    return {
        "d": d, "status_name": Status(d.status).label, **page,
        "form_rows": [(form_labels.get(k, k), v) for k, v in d.form.items()],
        "actions": [(a, Action(a).label) for a in actions],
        "action_set": set(actions),
        "agencies": dossier_services.forward_agencies(d).only("code", "name")
        if "forward" in actions else [],
        "forms": [(n, f"Mẫu {n} — {title}")
                  for n, title in documents.forms_for(request.user, d)],
        "overdue": bool(d.due_at and d.status in OPEN_STATUSES and d.due_at < at),
        "refund": d.paid_online and d.status in ENDED_WITHOUT_RESULT,
        "is_officer": request.user.is_officer,
    }


def _record_read(request, d, what: str, detail: str = "") -> None:
    """An officer read the applicant's personal data (Decree 13/2023/NĐ-CP): core.audit."""
    audit.record_access(actor=request.user, target=d, what=what, citizen=d.applicant_user_id,
                        citizen_id_number=d.applicant_id_number, detail=detail)


@staff_required()
@require_GET
def dossier(request, code: str):
    d = _visible_or_404(request, code)
    _record_read(request, d, "dossier.view")
    return render(request, "backoffice/dossier.html", _detail_context(request, d, timezone.now()))


def _parse_new_due(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("Ngày hẹn trả mới không hợp lệ.") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=VN)


def action_body(action: str, post) -> dict:
    """The form fields of an action button, as the dossier services take them."""
    note = (post.get("note") or "").strip()
    if len(note) > 2000:
        raise ValidationFailed("Ghi chú dài quá 2.000 ký tự.")
    body = {"note": note}
    if action == "request-supplement":
        body["items"] = [line.strip() for line in (post.get("items") or "").splitlines()
                         if line.strip()]
    if action == "forward" and post.get("agency"):
        body["agency"] = post.get("agency")[:40]
    if action == "extend":
        body["new_due_at"] = _parse_new_due(post.get("new_due_at") or "")
    return body


@officer_required()
@require_POST
def dossier_action(request, code: str, action: str):
    if action not in Action.values:
        raise Http404("Không có thao tác này.")
    d = _visible_or_404(request, code)
    try:
        dossier_services.act(actor=request.user, dossier=d, action=action,
                             body=action_body(action, request.POST))
    except DomainError as exc:
        d = _visible_or_404(request, code)
        ctx = _detail_context(request, d, timezone.now())
        ctx["error"] = exc.detail
        ctx["failed_action"] = action
        return render(request, "backoffice/dossier.html", ctx, status=exc.status)
    messages.success(request, f"{Action(action).done} {code}.")
    if get_visible(request.user, code) is None:
        return redirect("backoffice:queue")
    nxt = request.POST.get("next") or ""
    if nxt == "phe-duyet":
        return redirect("backoffice:approvals")
    return redirect("backoffice:dossier", code=code)


@staff_required()
@require_GET
def attachment(request, code: str, att_id):
    """A document of the dossier, shown inline with its stored (content-checked) type."""
    from django.core.files.storage import default_storage

    d = _visible_or_404(request, code)
    att = d.attachments.filter(pk=att_id).first()
    if att is None:
        raise Http404("Không tìm thấy tệp.")
    try:
        fh = default_storage.open(att.storage_name, "rb")
    except FileNotFoundError as exc:
        raise Http404("Tệp không còn trong kho lưu trữ.") from exc
    _record_read(request, d, "file.download", att.original_name)
    return serve_file(fh, content_type=att.content_type, filename=att.original_name)


@staff_required()
@require_GET
def dossier_form(request, code: str, number: str):
    """Mẫu 01–06 as PDF, the same renderer as GET /api/v1/dossiers/{code}/forms/{number}."""
    d = _visible_or_404(request, code)
    try:
        data = documents.render_form(d, number)
    except DomainError as exc:
        return render(request, "backoffice/error.html",
                      {"title": "Không có mẫu này", "message": exc.detail,
                       "back": f"/can-bo/ho-so/{d.code}"}, status=exc.status)
    _record_read(request, d, "form.pdf", f"Mẫu {number}")
    return serve_file(data, content_type="application/pdf", filename=f"mau-{number}-{d.code}.pdf")


# --- the leader's approvals ----------------------------------------------------------------


@officer_required(Role.LEADER)
@require_http_methods(["GET", "POST"])
def approvals(request):
    results = None
    if request.method == "POST":
        codes = request.POST.getlist("ma")[:200]
        if not codes:
            messages.error(request, "Chưa chọn hồ sơ nào để phê duyệt.")
            return redirect("backoffice:approvals")
        results = bo_services.approve_many(actor=request.user, codes=codes,
                                           note=(request.POST.get("note") or "")[:2000])
    rows = queries.awaiting_approval(request.user)
    at = timezone.now()
    for d in rows:
        d.overdue = bool(d.due_at and d.due_at < at)
    return render(request, "backoffice/approvals.html", {"rows": rows, "results": results},
                  status=200)


# --- the one-stop desk -----------------------------------------------------------------------

APPLICANT_FIELDS = (("full_name", "Họ và tên người nộp", "text", True),
                    ("id_number", "Số định danh cá nhân (12 chữ số)", "text", True),
                    ("phone", "Số điện thoại", "tel", False),
                    ("email", "Thư điện tử", "email", False),
                    ("address", "Địa chỉ", "text", False))


def _desk_context(request, procedure, **extra) -> dict:
    post = request.POST if request.method == "POST" else {}
    fields = []
    for f in (procedure.form if procedure else []):
        fields.append({**f, "key": f"form_{f['name']}", "value": post.get(f"form_{f['name']}", ""),
                       "type": f.get("type", "string")})
    import uuid

    return {
        "procedures": queries.agency_procedures(request.user.agency),
        "procedure": procedure,
        "applicant_fields": [
            {"name": n, "label": label, "input": kind, "required": req,
             "value": post.get(f"applicant_{n}", "")}
            for n, label, kind, req in APPLICANT_FIELDS],
        "form_fields": fields,
        "documents": queries.required_documents(procedure) if procedure else [],
        "idem": post.get("idem") or uuid.uuid4().hex,
        **extra,
    }


@officer_required(Role.RECEIVER)
@require_http_methods(["GET", "POST"])
def desk(request):
    from chinhquyenso.core.idempotency import run_once

    code = (request.POST.get("procedure") if request.method == "POST"
            else request.GET.get("thu_tuc")) or ""
    procedure = queries.agency_procedure(request.user.agency, code[:30]) if code else None
    if code and procedure is None:
        return render(request, "backoffice/desk.html",
                      _desk_context(request, None, error="Cơ quan không tiếp nhận thủ tục này."),
                      status=404 if request.method == "GET" else 422)
    if request.method == "GET":
        return render(request, "backoffice/desk.html", _desk_context(request, procedure))
    if procedure is None:
        return render(request, "backoffice/desk.html",
                      _desk_context(request, None, error="Vui lòng chọn thủ tục."), status=422)
    applicant = {n: (request.POST.get(f"applicant_{n}") or "").strip()
                 for n, *_ in APPLICANT_FIELDS}
    form = bo_services.form_from_post(procedure.form, request.POST)
    uploads = []
    for key in request.FILES:
        doc = key[len("file_"):] if key.startswith("file_") else ""
        doc = "" if doc == "khac" else doc
        uploads += [(f, doc) for f in request.FILES.getlist(key)]
    payload = {"procedure": procedure.code, "applicant": applicant, "form": form,
               "files": sorted((doc, f.name, f.size) for f, doc in uploads)}

    def create():
        d = bo_services.receive_paper_dossier(actor=request.user, procedure=procedure.code,
                                              applicant=applicant, form=form, uploads=uploads)
        return 201, {"code": d.code}

    key = (request.POST.get("idem") or "")[:200]
    try:
        _, out = run_once(user=request.user, scope="backoffice.desk", key=key, payload=payload,
                          create=create)
    except DomainError as exc:
        errors = exc.extra.get("errors") or {}
        return render(request, "backoffice/desk.html",
                      _desk_context(request, procedure, error=exc.detail, field_errors=errors),
                      status=exc.status)
    return redirect("backoffice:desk_done", code=out["code"])


@officer_required(Role.RECEIVER)
@require_GET
def desk_done(request, code: str):
    d = _visible_or_404(request, code)
    return render(request, "backoffice/desk_done.html", {"d": d, "count": d.attachments.count()})
