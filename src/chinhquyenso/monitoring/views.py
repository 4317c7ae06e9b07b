"""/giam-sat/: the province's score now, the six cards, the month trend (server-rendered SVG),
rankings, the drill-down behind every number, CSV/XLSX exports and the monthly PDF report.
Thin views: parse, check access (queries.check_can_view), call one query, render."""

from datetime import date, timedelta

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from chinhquyenso.core.errors import DomainError, ValidationFailed
from chinhquyenso.core.exports import table_response
from chinhquyenso.core.web import staff_required
from chinhquyenso.directory.models import PROVINCE_ROLES

from . import queries, reports, services

ROLES = ("leader", "monitor", "province_admin")


def _error(request, exc: DomainError):
    return render(request, "monitoring/error.html", {"message": exc.detail}, status=exc.status)


def _today() -> date:
    return (timezone.now() + queries.VN_OFFSET).date()


def _scope(request):
    """(unit, period) from the query string; defaults: the province (or the leader's own
    agency) and the year to date."""
    user = request.user
    default_unit = queries.province_code() if user.role in PROVINCE_ROLES else (
        user.agency.code if user.agency_id else "")
    unit = queries.get_unit(request.GET.get("unit") or default_unit)
    queries.check_can_view(user, unit)
    unit = queries.narrow(unit, procedure=request.GET.get("procedure", ""),
                          field=request.GET.get("field", ""))
    period = queries.get_period(request.GET.get("period") or str(_today().year))
    return unit, period


def _table_response(request, name: str, header: list, rows: list):
    """CSV (UTF-8 with BOM, opens in Excel) or XLSX of one table."""
    return table_response(name, header, rows, request.GET.get("format", "csv"))


def _wants_export(request) -> bool:
    return request.GET.get("format") in ("csv", "xlsx")


INDICATOR_HEADER = ["Nhóm", "Mã", "Chỉ số", "Tử số", "Mẫu số", "Tỷ lệ (%)", "Điểm",
                    "Điểm tối đa", "Quy tắc"]


def indicator_rows(idx: dict) -> list:
    return [[g["name"], i["code"], i["name"], i["numerator"], i["denominator"], i["ratio"],
             i["score"], i["max"], i["rule"]] for g in idx["groups"] for i in g["indicators"]]


@staff_required(*ROLES)
def dashboard(request):
    try:
        unit, period = _scope(request)
        services.catch_up()
        idx = queries.index_for(unit, period)
    except DomainError as exc:
        return _error(request, exc)
    if _wants_export(request):
        return _table_response(request, f"chi-so-766-{unit.code}-{period.code}",
                               INDICATOR_HEADER, indicator_rows(idx))
    cards = []
    for g in idx["groups"]:
        if g["parts"]:
            cards += [{"code": p["code"], "name": p["name"], "max": p["max"],
                       "score": p["score"], "anchor": g["code"]} for p in g["parts"]]
        else:
            cards.append({"code": g["code"], "name": g["name"], "max": g["max"],
                          "score": g["score"], "anchor": g["code"]})
    for c in cards:
        share = c["score"] / c["max"] if c["max"] else 0
        c["badge"] = "ok" if share >= 0.8 else "warn" if share >= 0.5 else "bad"
    year = period.first_month.year
    trend = queries.month_trend(unit, year, _today())
    is_province = request.user.role in PROVINCE_ROLES
    ctx = {
        "idx": idx, "unit": unit, "period": period, "cards": cards,
        "trend": _svg_points(trend), "year": year,
        "advice": queries.to_full_points(idx)[:8],
        "at_risk": queries.at_risk_this_week(unit, period, limit=10),
        "is_province": is_province,
        "agencies": queries.rankings(period, "agency")[:10] if is_province else [],
        "communes": queries.rankings(period, "commune")[:10] if is_province else [],
        "periods": _period_choices(_today()),
    }
    return render(request, "monitoring/dashboard.html", ctx)


def _period_choices(today: date) -> list:
    out = [(str(today.year), f"Năm {today.year} (lũy kế)")]
    q = (today.month - 1) // 3 + 1
    for k in range(q, 0, -1):
        out.append((f"{today.year}-Q{k}", f"Quý {k}/{today.year}"))
    for m in range(today.month, 0, -1):
        out.append((f"{today.year}-{m:02d}", f"Tháng {m:02d}/{today.year}"))
    return out


def _svg_points(trend: list) -> dict:
    """Month totals → coordinates of a 600 × 220 chart (y: 0–100 points)."""
    left, top, width, height = 50, 12, 530, 170
    n = max(1, len(trend) - 1)
    pts = []
    for k, (period, label, total) in enumerate(trend):
        x = left + (width * k / n if len(trend) > 1 else width / 2)
        y = top + height * (1 - total / 100)
        pts.append({"x": round(x, 1), "y": round(y, 1), "label": label, "total": total,
                    "period": period})
    grid = [{"y": round(top + height * (1 - v / 100), 1), "v": v} for v in (0, 25, 50, 75, 100)]
    return {"points": pts, "polyline": " ".join(f"{p['x']},{p['y']}" for p in pts),
            "grid": grid, "bottom": top + height + 28}


@staff_required(*ROLES)
def items(request):
    try:
        unit, period = _scope(request)
        code = request.GET.get("indicator", "")
        part = request.GET.get("part", "all")
        try:
            page = int(request.GET.get("page", "1"))
        except ValueError:
            page = 0
        if _wants_export(request):
            rows, p = [], 1
            while True:
                data = queries.items_behind(unit, period, code, part=part, page=p)
                rows += [[i["code"], i["name"], i["agency"], i["received_at"] or "",
                          i["due_at"] or "", "có" if i["in_numerator"] else "không",
                          i["reason"]] for i in data["items"]]
                if p >= data["pages"] or p >= 200:
                    break
                p += 1
            return _table_response(request, f"chi-tiet-{code}-{unit.code}-{period.code}",
                                   ["Mã", "Tên", "Cơ quan", "Tiếp nhận", "Hạn",
                                    "Thuộc tử số", "Lý do"], rows)
        data = queries.items_behind(unit, period, code, part=part, page=page)
        idx = queries.index_for(unit, period)
    except DomainError as exc:
        return _error(request, exc)
    indicator = next((i for g in idx["groups"] for i in g["indicators"] if i["code"] == code),
                     None)
    return render(request, "monitoring/items.html", {
        "data": data, "unit": unit, "period": period, "indicator": indicator, "part": part})


@staff_required("monitor", "province_admin")
def ranking(request):
    kind = request.GET.get("kind", "agency")
    try:
        period = queries.get_period(request.GET.get("period") or str(_today().year))
        rows = queries.rankings(period, kind)
    except DomainError as exc:
        return _error(request, exc)
    if _wants_export(request):
        return _table_response(
            request, f"xep-hang-{kind}-{period.code}",
            ["Hạng", "Mã", "Đơn vị", "Tổng điểm", "Công khai", "Tiến độ", "Trực tuyến",
             "Số hóa", "Hài lòng", "Hồ sơ tiếp nhận"],
            [[r["rank"], r["unit"], r["name"], r["total"], r["groups"]["1"], r["groups"]["2"],
              r["groups"]["3"], r["groups"]["4"], r["groups"]["5"], r["received"]]
             for r in rows])
    return render(request, "monitoring/rankings.html", {
        "rows": rows, "period": period, "kind": kind, "periods": _period_choices(_today())})


@staff_required(*ROLES)
def report(request):
    """The monthly PDF report of a unit (period YYYY-MM; default: the last full month)."""
    prev = _today().replace(day=1) - timedelta(days=1)
    default = f"{prev:%Y-%m}"
    try:
        request.GET = request.GET.copy()
        request.GET.setdefault("period", default)
        if len(request.GET["period"]) != 7 or "Q" in request.GET["period"]:
            raise ValidationFailed("Báo cáo tháng cần kỳ dạng YYYY-MM.")
        unit, period = _scope(request)
        idx = queries.index_for(unit, period)
    except DomainError as exc:
        return _error(request, exc)
    pdf = reports.monthly_pdf(idx, queries.to_full_points(idx), generated=timezone.now())
    resp = HttpResponse(pdf, content_type="application/pdf")
    name = f"bao-cao-766-{unit.code}-{period.code}.pdf"
    resp["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp
