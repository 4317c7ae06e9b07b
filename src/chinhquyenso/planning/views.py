"""/giam-sat/muc-tieu (the city's targets) and /giam-sat/ke-hoach (the yearly task plan),
each with its CSV export. Access: monitor and province admin see all; an agency leader sees
the targets and their own agency's tasks."""

from datetime import date

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from chinhquyenso.core.errors import DomainError
from chinhquyenso.core.exports import table_response
from chinhquyenso.core.web import staff_required

from . import services
from .models import Target

ROLES = ("monitor", "province_admin", "leader")


def money(n: int) -> str:
    """Đồng with dots between thousands, as Vietnamese writes it: 400.000.000.000."""
    return f"{n:,}".replace(",", ".")


def _spark(readings, width=120, height=32):
    """Points of a small server-rendered SVG line of the readings (oldest left)."""
    values = [float(r.value) for r in readings]
    if len(values) < 2:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    step = width / (len(values) - 1)
    return " ".join(f"{i * step:.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}"
                    for i, v in enumerate(values))


@staff_required(*ROLES)
def targets(request):
    rows = services.targets_overview()
    for r in rows:
        r.spark = _spark(r.readings)
    counts = {k: sum(1 for r in rows if r.status == k) for k in services.STATUS_LABELS}
    return render(request, "planning/targets.html", {
        "rows": rows, "counts": counts, "labels": services.STATUS_LABELS,
        "can_enter": request.user.role in services.PROVINCE_WIDE,
        "today": services.today().isoformat(),
    })


@staff_required(*ROLES)
def targets_csv(request, fmt="csv"):
    header = ["Mã", "Mục tiêu", "Chỉ tiêu", "Đơn vị", "Năm", "Hiện tại", "Ngày số liệu",
              "Nguồn số liệu", "Đánh giá", "Nguồn mục tiêu"]
    rows = []
    for r in services.targets_overview():
        t = r.target
        rows.append([t.code, t.name, ("≥ " if t.direction == "at_least" else "≤ ") + str(t.value),
                     t.unit, t.deadline_year, "" if r.current is None else r.current,
                     str(r.current_on or ""), r.current_source, r.status_label, t.source])
    return table_response("muc-tieu", header, rows, fmt)


@require_POST
@staff_required("monitor", "province_admin")
def add_reading(request, code):
    target = Target.objects.filter(code=code).first()
    if target is None:
        raise Http404
    try:
        on = date.fromisoformat(request.POST.get("on", ""))
    except ValueError:
        messages.error(request, "Ngày số liệu phải có dạng NNNN-TT-NN.")
        return redirect("planning:targets")
    try:
        services.record_reading(actor=request.user, target=target, on=on,
                                value=request.POST.get("value", ""),
                                source=request.POST.get("source", ""))
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Đã ghi số liệu cho «{target.name}».")
    return redirect("planning:targets")


def _tasks(request):
    qs = services.tasks_visible_to(request.user)
    years = sorted(set(qs.values_list("year", flat=True)), reverse=True)
    try:
        year = int(request.GET.get("nam") or (years[0] if years else services.today().year))
    except ValueError:
        year = years[0] if years else services.today().year
    return qs.filter(year=year).order_by("deadline", "code"), year, years


@staff_required(*ROLES)
def tasks(request):
    qs, year, years = _tasks(request)
    on = services.today()
    totals = qs.aggregate(n=Count("id"), budget=Sum("budget"))
    flags = {"overdue": 0, "slow": 0}
    for t in qs.select_related(None).only("progress", "start", "deadline"):
        f = services.task_flag(t, on)
        if f:
            flags[f] += 1
    page = Paginator(qs, 50).get_page(request.GET.get("trang"))
    rows = [{"t": t, "flag": services.task_flag(t, on),
             "flag_label": services.FLAG_LABELS[services.task_flag(t, on)],
             "budget": money(t.budget),
             "can_report": request.user.role == "province_admin" or (
                 request.user.role == "leader" and request.user.agency_id == t.owner_id)}
            for t in page.object_list]
    return render(request, "planning/tasks.html", {
        "page": page, "rows": rows, "year": year, "years": years, "totals": totals,
        "flags": flags, "budget_text": money(totals["budget"] or 0),
        "has_demo": qs.filter(is_demo=True).exists(),
    })


@staff_required(*ROLES)
def tasks_csv(request, fmt="csv"):
    qs, year, _ = _tasks(request)
    on = services.today()
    header = ["nam", "ma", "ten", "co_quan", "kinh_phi", "bat_dau", "han", "tien_do",
              "canh_bao", "du_lieu_mau"]
    rows = ([t.year, t.code, t.name, t.owner.key, t.budget, t.start.isoformat(),
             t.deadline.isoformat(), t.progress, services.FLAG_LABELS[services.task_flag(t, on)],
             "có" if t.is_demo else ""] for t in qs.iterator())
    return table_response(f"ke-hoach-{year}", header, rows, fmt)


@require_POST
@staff_required("province_admin", "leader")
def add_progress(request, pk):
    try:
        task = services.get_task_or_404(request.user, pk)
    except DomainError as exc:
        raise Http404 from exc
    raw = request.POST.get("progress", "").strip()
    try:
        services.report_progress(actor=request.user, task=task,
                                 progress=int(raw) if raw.isdigit() else -1,
                                 note=request.POST.get("note", ""))
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Đã ghi tiến độ nhiệm vụ {task.code}.")
    return redirect(f"/giam-sat/ke-hoach?nam={task.year}")
