"""The citizen portal's pages (thin: parse, call a service, render)."""

import uuid

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chinhquyenso.catalog.models import Field, Procedure
from chinhquyenso.catalog.queries import search_procedures
from chinhquyenso.core import notify, throttle
from chinhquyenso.core.downloads import serve_file
from chinhquyenso.core.errors import DomainError
from chinhquyenso.core.idempotency import run_once
from chinhquyenso.core.web import citizen_required
from chinhquyenso.directory.models import Agency
from chinhquyenso.dossiers import documents
from chinhquyenso.dossiers import services as dossier_services
from chinhquyenso.dossiers.models import Action, Attachment, Dossier, Rating, Status
from chinhquyenso.dossiers.queries import LOOKUP_SCOPE, LOOKUP_THROTTLED, public_lookup
from chinhquyenso.payments.queries import receipts_for
from chinhquyenso.payments.services import create_payment

from . import oidc, services


def _procedure(code: str) -> Procedure:
    return get_object_or_404(Procedure.objects.select_related("field"), code=code, active=True)


def _own_dossier(request, code: str) -> Dossier:
    """The signed-in applicant's own dossier; anybody else's is "not found"."""
    d = (Dossier.objects.select_related("procedure", "agency", "current_agency")
         .filter(code=code, applicant_user=request.user).first())
    if d is None:
        raise Http404
    return d


def _qr(url: str) -> str:
    return segno.make(url, error="m").svg_data_uri(scale=4, border=2)


# --- public pages ----------------------------------------------------------------------

@require_GET
def home(request):
    return render(request, "portal/home.html",
                  {"popular": services.most_used_procedures(), "fields": Field.objects.all()})


@require_GET
def search(request):
    q = request.GET.get("q", "")[:200]
    field = request.GET.get("linh_vuc") or None
    level = request.GET.get("cap") if request.GET.get("cap") in {"province", "commune"} else None
    agency = Agency.objects.filter(code=request.GET.get("co_quan")).first() \
        if request.GET.get("co_quan") else None
    results = search_procedures(q, level=level, field=field, agency=agency)
    page = Paginator(results, 20).get_page(request.GET.get("trang"))
    return render(request, "portal/search.html", {
        "q": q, "page": page, "count": len(results), "fields": Field.objects.all(),
        "field": field or "", "level": level or "", "agency": agency,
        "agencies": services.agencies_offering_procedures(),
    })


@require_GET
def procedure(request, code):
    p = _procedure(code)
    return render(request, "portal/procedure.html", {
        "p": p, "steps": p.steps.order_by("position"), "documents": p.documents.all(),
        "agencies": p.agencies.order_by("name")[:200]})


@require_GET
def lookup(request):
    code = request.GET.get("ma", "").strip()
    if code:  # the empty form is not counted
        try:
            throttle.check_request(request, LOOKUP_SCOPE, "CQS_THROTTLE_LOOKUP",
                                   LOOKUP_THROTTLED)
        except throttle.Throttled as exc:
            return throttle.throttled_page(request, exc)
    found = public_lookup(code) if code else None
    if found:
        found["status_name"] = Status(found["status"]).label
    return render(request, "portal/lookup.html", {"code": code, "found": found},
                  status=404 if code and not found else 200)


# --- submission ------------------------------------------------------------------------

def _form_context(request, p: Procedure, values: dict, errors: dict) -> dict:
    pre = services.prefill(request.user)
    merged = {**{f"a_{k}": v for k, v in pre["values"].items()}, **values}
    docs = services.attachments_by_document(request.user, merged)
    uploaded = {str(a.pk): a for a in Attachment.objects.filter(
        pk__in=[i for v in docs.values() for i in v])}
    fields = [{**f, "value": merged.get(f"f_{f['name']}", ""),
               "error": errors.get(f"f_{f['name']}")} for f in p.form]
    # The applicant is the signed-in person: name and identity number are the account's.
    own = {"full_name": pre["values"]["full_name"], "id_number": pre["values"]["id_number"]}
    applicant = [{"name": name, "label": label, "value": own.get(name,
                                                                 merged.get(f"a_{name}", "")),
                  "verified": name in pre["verified"], "locked": name in own,
                  "error": errors.get(f"a_{name}")}
                 for name, label, _ in services.APPLICANT_FIELDS]
    represented = [{"name": name, "label": label, "value": merged.get(f"r_{name}", ""),
                    "error": errors.get(f"r_{name}")}
                   for name, label in services.REPRESENTED_FIELDS]
    code = services.AUTHORISATION["code"]
    authorisation = {"d": services.AUTHORISATION, "error": errors.get(f"doc_{code}"),
                     "files": [uploaded[i] for i in docs.get(code, []) if i in uploaded],
                     "ids": ",".join(docs.get(code, []))}
    document_rows = [{"d": d, "error": errors.get(f"doc_{d.code}"),
                      "files": [uploaded[i] for i in docs.get(d.code, []) if i in uploaded],
                      "ids": ",".join(docs.get(d.code, []))} for d in p.documents.all()]
    agencies = list(p.agencies.order_by("name"))
    return {"p": p, "fields": fields, "applicant": applicant, "documents": document_rows,
            "behalf": services.on_behalf(merged), "represented": represented,
            "authorisation": authorisation,
            "agencies": agencies, "agency": merged.get("agency") or (
                agencies[0].code if len(agencies) == 1 else ""),
            "errors": errors, "max_bytes": settings.CQS_MAX_UPLOAD_BYTES,
            "agency_error": errors.get("agency")}


def _collect(request, p: Procedure) -> dict:
    """The form as posted, with files sent without JavaScript stored first."""
    values = {k: v for k, v in request.POST.items()
              if k.startswith(("a_", "f_", "doc_", "r_"))}
    values["agency"] = request.POST.get("agency", "")
    values["nop_thay"] = "1" if services.on_behalf(request.POST) else ""
    upload_errors = {}
    for key, upload in request.FILES.items():
        if not key.startswith("file_"):
            continue
        code = key[5:]
        try:
            att = services.upload_document(user=request.user, procedure=p, code=code,
                                           upload=upload)
        except DomainError as exc:
            upload_errors[f"doc_{code}"] = exc.detail
            continue
        values[f"doc_{code}"] = ",".join(filter(None, [values.get(f"doc_{code}", ""),
                                                       str(att.pk)]))
    return values, upload_errors


@citizen_required
@require_http_methods(["GET", "POST"])
def submit(request, code):
    p = _procedure(code)
    if request.method == "GET":
        return render(request, "portal/submit.html",
                      _form_context(request, p, services.draft_for(request.user, p), {}))
    values, upload_errors = _collect(request, p)
    step = request.POST.get("buoc", "xem-lai")
    if step == "luu-nhap":
        services.save_draft(user=request.user, procedure=p, data=values)
        messages.success(request, "Đã lưu bản nháp. Bạn có thể quay lại nộp tiếp bất cứ lúc nào.")
        return redirect("portal:submit", code=p.code)
    docs = services.attachments_by_document(request.user, values)
    behalf = services.on_behalf(values)
    applicant = services.applicant_for(request.user, values)
    form = services.parse_form(p.form, values)
    errors = {**services.validate_submission(user=request.user, procedure=p,
                                             agency=values["agency"], applicant=applicant,
                                             form=form, docs=docs, behalf=behalf),
              **upload_errors}
    services.save_draft(user=request.user, procedure=p, data=values)
    if errors or step == "sua":
        ctx = _form_context(request, p, values, errors)
        return render(request, "portal/submit.html", ctx, status=422 if errors else 200)
    if step == "xem-lai":
        ctx = _form_context(request, p, values, {})
        ctx["agency_obj"] = next((a for a in ctx["agencies"] if a.code == values["agency"]), None)
        return render(request, "portal/summary.html",
                      {**ctx, "values": values, "key": uuid.uuid4().hex})
    # The summary page's one-time key: a double click or a resent form finds the dossier the
    # first click created instead of making a second one.
    key = request.POST.get("khoa", "")[:64] or None
    try:
        _status, body = run_once(
            user=request.user, scope="portal-submit", key=key, payload={"procedure": p.code},
            create=lambda: (201, {"code": services.submit(
                user=request.user, procedure=p, agency=values["agency"], applicant=applicant,
                form=form, docs=docs, behalf=behalf).code}))
    except DomainError as exc:
        ctx = _form_context(request, p, values, exc.extra.get("errors") or {})
        messages.error(request, exc.detail)
        return render(request, "portal/submit.html", ctx, status=422)
    return redirect("portal:receipt", code=body["code"])


@citizen_required
@require_POST
def upload(request, code):
    """One file from the submission form's script (progress shown in the browser)."""
    p = _procedure(code)
    try:
        att = services.upload_document(user=request.user, procedure=p,
                                       code=request.POST.get("document", ""),
                                       upload=request.FILES.get("file"))
    except DomainError as exc:
        return JsonResponse({"error": exc.detail}, status=exc.status)
    return JsonResponse({"id": str(att.pk), "name": att.original_name, "size": att.size},
                        status=201)


@citizen_required
@require_POST
def save_draft(request, code):
    p = _procedure(code)
    try:
        services.save_draft(user=request.user, procedure=p, data=request.POST.dict())
    except DomainError as exc:
        return JsonResponse({"error": exc.detail}, status=exc.status)
    return JsonResponse({"saved": True})


@citizen_required
@require_GET
def receipt(request, code):
    d = _own_dossier(request, code)
    url = documents.lookup_url(d.code)
    return render(request, "portal/receipt.html", {
        "d": d, "qr": _qr(url), "lookup_url": url,
        "files": d.attachments.filter(purpose="submission").order_by("created_at")})


@citizen_required
@require_GET
def receipt_pdf(request, code):
    d = _own_dossier(request, code)
    return _pdf(documents.render_submission_ack(d), f"xac-nhan-nop-{d.code}.pdf")


def _pdf(content: bytes, filename: str) -> HttpResponse:
    return serve_file(content, content_type="application/pdf", filename=filename,
                      inline=False)


# --- my dossiers -----------------------------------------------------------------------

@citizen_required
@require_GET
def my_dossiers(request):
    qs = (Dossier.objects.filter(applicant_user=request.user)
          .select_related("procedure", "agency").order_by("-submitted_at", "-id"))
    status = request.GET.get("trang_thai")
    if status and status.isdigit():
        qs = qs.filter(status=int(status))
    page = Paginator(qs, 20).get_page(request.GET.get("trang"))
    return render(request, "portal/my_dossiers.html",
                  {"page": page, "statuses": Status.choices, "status": status or ""})


@citizen_required
@require_GET
def my_dossier(request, code):
    d = _own_dossier(request, code)
    supplement = d.supplements.filter(completed_at__isnull=True).order_by("-id").first()
    receipts = receipts_for(d)
    actions = dossier_services.allowed_actions(request.user, d)
    return render(request, "portal/my_dossier.html", {
        "d": d, "status": Status(d.status).label,
        "events": [{"at": e.at, "note": e.note,
                    "label": Action.label_of(e.action)}
                   for e in d.events.order_by("at", "id")],
        "steps": d.steps.order_by("position"),
        "files": d.attachments.order_by("created_at"),
        "supplement": supplement if "supplement" in actions else None,
        "can_withdraw": "withdraw" in actions,
        "can_rate": d.status == Status.RETURNED and not d.rating,
        "ratings": Rating.choices, "rating_label": Rating(d.rating).label if d.rating else "",
        "can_pay": dossier_services.fee_unpayable(d) is None,
        "forms": documents.forms_for(request.user, d), "receipts": receipts,
        "qr": _qr(documents.lookup_url(d.code)),
    })


@citizen_required
@require_POST
def my_action(request, code, action):
    d = _own_dossier(request, code)
    try:
        if action == "bo-sung":
            services.supplement(user=request.user, dossier=d,
                                files=request.FILES.getlist("files"),
                                note=request.POST.get("note", "")[:2000])
            messages.success(request, "Đã gửi giấy tờ bổ sung. Cơ quan tiếp tục giải quyết hồ sơ.")
        elif action == "rut":
            dossier_services.withdraw_dossier(actor=request.user, dossier=d,
                                              note=request.POST.get("note", "")[:2000])
            messages.success(request, "Đã rút hồ sơ theo yêu cầu của bạn.")
        elif action == "danh-gia":
            dossier_services.rate_dossier(actor=request.user, dossier=d,
                                          rating=request.POST.get("rating", ""),
                                          comment=request.POST.get("comment", "")[:2000])
            messages.success(request, "Cảm ơn bạn đã đánh giá chất lượng phục vụ.")
        elif action == "thanh-toan":
            _order, url = create_payment(actor=request.user, dossier=d,
                                         ip_addr=request.META.get("REMOTE_ADDR", "127.0.0.1"))
            return redirect(url)
        else:
            raise Http404
    except DomainError as exc:
        messages.error(request, exc.detail)
    return redirect("portal:my-dossier", code=d.code)


@citizen_required
@require_GET
def my_form_pdf(request, code, number):
    d = _own_dossier(request, code)
    if not documents.may_have_form(request.user, number):
        raise Http404
    try:
        content = documents.render_form(d, number)
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect("portal:my-dossier", code=d.code)
    return _pdf(content, f"mau-{number}-{d.code}.pdf")


@citizen_required
@require_GET
def my_file(request, code, file_id):
    d = _own_dossier(request, code)
    att = d.attachments.filter(pk=file_id).first()
    if att is None:
        raise Http404
    try:
        fh = default_storage.open(att.storage_name, "rb")
    except FileNotFoundError as exc:
        raise Http404("Tệp không còn trong kho lưu trữ.") from exc
    return serve_file(fh, content_type=att.content_type, filename=att.original_name)


@citizen_required
@require_GET
def inbox(request):
    items = list(notify.inbox(request.user))
    notify.mark_read(request.user)
    return render(request, "portal/inbox.html", {"items": items})


# --- signing in ------------------------------------------------------------------------

def _safe_next(request, value: str) -> str:
    ok = value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()})
    return value if ok else ""


@require_GET
def login_page(request):
    nxt = _safe_next(request, request.GET.get("next", ""))
    return render(request, "portal/login.html",
                  {"next": nxt, "local_idp": settings.CQS_LOCAL_IDP})


@require_GET
def login_start(request):
    nxt = _safe_next(request, request.GET.get("next", "")) or "/ca-nhan/ho-so"
    try:
        return redirect(oidc.begin(request.session, nxt))
    except oidc.ProviderUnavailable as exc:  # unreachable, or its discovery unusable
        return render(request, "portal/login.html", {
            "error": exc.detail, "local_idp": settings.CQS_LOCAL_IDP}, status=503)


@require_GET
def login_callback(request):
    try:
        user, nxt = oidc.complete(request.session, request.GET.dict())
    except DomainError as exc:  # the provider unreachable (503) or the sign-in refused (400)
        status = 503 if isinstance(exc, oidc.ProviderUnavailable) else 400
        return render(request, "portal/login.html",
                      {"error": exc.detail, "local_idp": settings.CQS_LOCAL_IDP}, status=status)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect(_safe_next(request, nxt) or "/ca-nhan/ho-so")


@require_POST
def logout_view(request):
    logout(request)
    messages.info(request, "Bạn đã đăng xuất.")
    return redirect("/")
