"""Pages of phản ánh, kiến nghị: the public form and tracking page (base.html), the
citizen's list, and the officer's list and answer page (backoffice/base.html). Thin: parse,
call one service, render."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from chinhquyenso.core.errors import DomainError
from chinhquyenso.core.throttle import Throttled, client_address, with_retry_after
from chinhquyenso.core.web import citizen_required, staff_required
from chinhquyenso.directory.models import Agency

from . import services
from .models import Category, ComplaintRating, ComplaintStatus
from .queries import complaints_visible_to, get_by_code, get_visible, officer_list

OFFICER_ROLES = ("receiver", "specialist", "leader", "agency_admin", "province_admin",
                 "monitor")


def _agencies():
    return Agency.objects.filter(active=True).only("code", "name").order_by("name")


def _rows(qs, at):
    return [{"c": c, "overdue": services.is_overdue(c, at),
             "on_time": services.is_on_time(c, at)} for c in qs]


@require_http_methods(["GET", "POST"])
def new(request):
    """/phan-anh/: the public form (signed in or not)."""
    data = request.POST if request.method == "POST" else request.GET
    ctx = {"categories": Category.choices, "agencies": _agencies(), "form": data,
           "error": None}
    if request.method == "POST":
        try:
            with services.submission_allowance(actor=request.user,
                                               address=client_address(request)):
                c, key = services.submit_complaint(
                    actor=request.user, category=data.get("category", ""),
                    title=data.get("title", ""), content=data.get("content", ""),
                    agency=data.get("agency") or None, dossier=data.get("dossier") or None,
                    parent=data.get("parent") or None, parent_key=data.get("key") or None,
                    contact={"name": data.get("name", ""), "phone": data.get("phone", ""),
                             "email": data.get("email", "")},
                )
        except Throttled as exc:  # the form again, its text kept, and when to come back
            ctx["error"] = exc.detail
            return with_retry_after(render(request, "complaints/new.html", ctx, status=429),
                                    exc)
        except DomainError as exc:
            ctx["error"] = exc.detail
            return render(request, "complaints/new.html", ctx, status=400)
        messages.success(request, f"Đã gửi phản ánh {c.code}. Hạn trả lời: "
                                  f"{timezone.localtime(c.due_at):%H:%M ngày %d/%m/%Y}.")
        if key:
            return redirect("complaints:track", code=c.code, key=key)
        return redirect("complaints:detail", code=c.code)
    return render(request, "complaints/new.html", ctx)


def _citizen_page(request, c, key=None):
    return render(request, "complaints/detail.html", {
        "c": c, "key": key, "ratings": ComplaintRating.choices,
        "on_time": services.is_on_time(c), "overdue": services.is_overdue(c),
        "can_rate": c.status in (ComplaintStatus.ANSWERED, ComplaintStatus.REJECTED)
        and not c.rating,
        "can_follow_up": c.status in (ComplaintStatus.ANSWERED, ComplaintStatus.REJECTED),
        "categories": Category.choices, "error": request.GET.get("loi"),
    })


def track(request, code, key):
    """/phan-anh/theo-doi/<code>/<key>: the page of a PAKN sent without signing in."""
    c = get_by_code(code)
    if c is None or not services._owner_ok(c, None, key):
        raise Http404
    return _citizen_page(request, c, key)


@citizen_required
def mine(request):
    page = Paginator(complaints_visible_to(request.user).select_related("agency")
                     .order_by("-received_at", "-id"), 20).get_page(request.GET.get("trang"))
    return render(request, "complaints/mine.html", {"page": page})


@citizen_required
def detail(request, code):
    c = get_visible(request.user, code)
    if c is None:
        raise Http404
    return _citizen_page(request, c)


@require_POST
def rate(request, code):
    """Rating from the citizen's page (signed in, or with the tracking key)."""
    key = request.POST.get("key") or None
    c = get_by_code(code)
    if c is None:
        raise Http404
    try:
        services.rate_complaint(actor=request.user, complaint=c,
                                rating=request.POST.get("rating", ""),
                                comment=request.POST.get("comment", ""), key=key)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Cảm ơn bạn đã đánh giá.")
    if key:
        return redirect("complaints:track", code=c.code, key=key)
    return redirect("complaints:detail", code=c.code)


# --- officer pages -------------------------------------------------------------------


@staff_required(*OFFICER_ROLES)
def officer_index(request):
    at = timezone.now()
    status = request.GET.get("trang_thai") or None
    if status not in ComplaintStatus.values:
        status = None
    overdue = {"1": True}.get(request.GET.get("qua_han", ""))
    qs = officer_list(request.user, status=status, overdue=overdue, at=at)
    page = Paginator(qs, 20).get_page(request.GET.get("trang"))
    return render(request, "complaints/officer_list.html", {
        "page": page, "rows": _rows(page.object_list, at), "status": status,
        "overdue": overdue, "statuses": ComplaintStatus.choices,
    })


@staff_required(*OFFICER_ROLES)
def officer_detail(request, code):
    c = get_visible(request.user, code)
    if c is None:
        raise Http404
    return render(request, "complaints/officer_detail.html", {
        "c": c, "on_time": services.is_on_time(c), "overdue": services.is_overdue(c),
        "open": c.status in (ComplaintStatus.RECEIVED, ComplaintStatus.PROCESSING),
        "categories": Category.choices, "agencies": _agencies(),
        "can_answer": request.user.role in services.ANSWER_ROLES,
        "can_classify": request.user.role in services.CLASSIFY_ROLES,
    })


@require_POST
@staff_required(*OFFICER_ROLES)
def officer_action(request, code, action):
    c = get_visible(request.user, code)
    if c is None:
        raise Http404
    p = request.POST
    try:
        if action == "tra-loi":
            services.answer_complaint(actor=request.user, complaint=c,
                                      answer=p.get("answer", ""))
            messages.success(request, "Đã gửi câu trả lời.")
        elif action == "tu-choi":
            services.reject_complaint(actor=request.user, complaint=c,
                                      reason=p.get("reason", ""))
            messages.success(request, "Đã từ chối tiếp nhận phản ánh.")
        elif action == "phan-loai":
            services.classify_complaint(actor=request.user, complaint=c,
                                        category=p.get("category", ""),
                                        agency=p.get("agency") or None)
            messages.success(request, "Đã phân loại phản ánh.")
        else:
            raise Http404
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, exc.detail)
    if get_visible(request.user, code) is None:  # transferred to another agency
        return redirect("complaints:officer_index")
    return redirect("complaints:officer_detail", code=code)
