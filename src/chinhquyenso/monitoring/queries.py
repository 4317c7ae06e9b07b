"""Read side of the index: units, periods, the index of a unit read from the maintained
cells (never from the raw dossiers), rankings, the drill-down behind each number, and
"what it would take"."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.apps import apps
from django.db.models import Count, Q, Sum
from django.utils import timezone

from chinhquyenso.catalog.models import Procedure
from chinhquyenso.core.calendar import calendar_for
from chinhquyenso.core.errors import NotFound, PermissionDenied, ValidationFailed
from chinhquyenso.directory.models import (
    PROVINCE_ROLES,
    AdministrativeUnit,
    Agency,
    AgencyKind,
    Role,
)
from chinhquyenso.dossiers.models import Dossier

from . import rules
from .models import DossierFact, IndexCell

VN_OFFSET = timedelta(hours=7)
PAGE_SIZE = 50


# --- units and periods --------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: str  # "province", "agency", "commune"
    agency_ids: frozenset | None  # None: every agency of the province
    procedure_ids: frozenset | None = None  # a subset: one procedure or one field
    subset: str = ""
    subset_query: str = ""


def narrow(unit: Unit, *, procedure: str = "", field: str = "") -> Unit:
    """The unit's index for one procedure (TTHC code) or one field (lĩnh vực code)."""
    if not procedure and not field:
        return unit
    if procedure and field:
        raise ValidationFailed("Chỉ chọn một trong hai: thủ tục (procedure) hoặc lĩnh vực (field).")
    if procedure:
        p = Procedure.objects.filter(code=procedure).first()
        if p is None:
            raise NotFound(f"Không có thủ tục mã «{procedure}».")
        return Unit(unit.code, unit.name, unit.kind, unit.agency_ids, frozenset({p.pk}),
                    f"Thủ tục {p.code} {p.name}", f"&procedure={p.code}")
    ids = frozenset(Procedure.objects.filter(field__code=field).values_list("id", flat=True))
    if not ids:
        raise NotFound(f"Không có lĩnh vực mã «{field}».")
    name = Procedure.objects.filter(pk__in=ids).values_list("field__name", flat=True).first()
    return Unit(unit.code, unit.name, unit.kind, unit.agency_ids, ids, f"Lĩnh vực {name}",
                f"&field={field}")


def province_code() -> str:
    from django.conf import settings

    return str(settings.CQS_PROVINCE)


def get_unit(code: str) -> Unit:
    """`31` (the province), an agency's identity code, or a commune-level unit's code."""
    code = (code or "").strip()
    if not code:
        raise ValidationFailed("Cần mã đơn vị (unit): mã tỉnh, mã cơ quan hoặc mã xã, phường.")
    if code == province_code():
        u = AdministrativeUnit.objects.filter(code=code).first()
        return Unit(code, u.name if u else f"Tỉnh/thành phố {code}", "province", None)
    ag = Agency.objects.filter(code=code).first()
    if ag is not None:
        kind = "commune" if ag.kind == AgencyKind.COMMUNE else "agency"
        return Unit(code, ag.name, kind, frozenset({ag.pk}))
    u = AdministrativeUnit.objects.filter(code=code).exclude(kind="province").first()
    if u is not None:
        ids = frozenset(Agency.objects.filter(unit=u).values_list("id", flat=True))
        return Unit(code, u.name, "commune", ids)
    raise NotFound(f"Không có đơn vị mã «{code}».")


def check_can_view(user, unit: Unit) -> None:
    """Monitor and province admin see every unit; an agency's leader sees their agency (or
    their commune); everyone else is refused."""
    if user.role in PROVINCE_ROLES:
        return
    if user.role == Role.LEADER and user.agency_id and unit.agency_ids is not None \
            and user.agency_id in unit.agency_ids:
        return
    raise PermissionDenied("Chỉ cán bộ giám sát, quản trị cấp tỉnh hoặc lãnh đạo cơ quan "
                           "được xem chỉ số của đơn vị này.")


def check_can_rank(user) -> None:
    if user.role not in PROVINCE_ROLES:
        raise PermissionDenied("Chỉ cán bộ giám sát hoặc quản trị cấp tỉnh được xem xếp hạng.")


@dataclass(frozen=True)
class Period:
    code: str
    first_month: date
    last_month: date
    start: date
    end: date  # last day of the period (inclusive)
    as_of: date  # the day pending dossiers are judged at: min(today, end)
    label: str
    at: datetime | None = None  # the moment the index is taken ("now" of the caller)


def get_period(code: str, today: date | None = None, *, at: datetime | None = None) -> Period:
    """YYYY-MM, YYYY-Qn or YYYY (year to date, as the portal's "year": research note §5),
    judged at the moment `at` (default: now); `today` is that moment's day in Vietnam."""
    at = at or timezone.now()
    today = today or (at + VN_OFFSET).date()
    code = (code or "").strip()
    m = re.fullmatch(r"(\d{4})(?:-(\d{2})|-Q([1-4]))?", code)
    if not m:
        raise ValidationFailed("Kỳ (period) phải có dạng YYYY-MM, YYYY-Qn hoặc YYYY.")
    year = int(m.group(1))
    if not 2000 <= year <= 2100:
        raise ValidationFailed("Năm của kỳ không hợp lệ.")
    if m.group(2):
        month = int(m.group(2))
        if not 1 <= month <= 12:
            raise ValidationFailed("Tháng phải từ 01 đến 12.")
        first = last = date(year, month, 1)
        label = f"Tháng {month:02d}/{year}"
    elif m.group(3):
        q = int(m.group(3))
        first, last = date(year, 3 * q - 2, 1), date(year, 3 * q, 1)
        label = f"Quý {q}/{year}"
    else:
        first, last = date(year, 1, 1), date(year, 12, 1)
        label = f"Năm {year} (lũy kế)"
    end = (last.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    if first > today:
        raise ValidationFailed("Kỳ chưa bắt đầu.")
    return Period(code, first, last, first, end, min(today, end), label, at)


# --- the index ------------------------------------------------------------------------------

SUMS = ("received", "on_time", "completed", "minutes", "synced", "online", "online_ok",
        "paper", "eresult", "digitised", "reused", "fee", "paid", "ontime_unsatisfied")


def _cells(agency_ids, period: Period, procedure_ids=None):
    """Sums of the cells by (agency, procedure): pending dossiers count as on time when
    their due day is on or after the day the period is judged at."""
    qs = IndexCell.objects.filter(month__gte=period.first_month, month__lte=period.last_month)
    if agency_ids is not None:
        qs = qs.filter(agency_id__in=list(agency_ids))
    if procedure_ids is not None:
        qs = qs.filter(procedure_id__in=list(procedure_ids))
    ord_ = period.as_of.toordinal()
    return qs.values("agency_id", "procedure_id").annotate(
        **{f"s_{c}": Sum(c) for c in SUMS},
        s_pending_ok=Sum("pending", filter=Q(pending_day__gte=ord_)),
    )


@dataclass
class _Acc:
    x: rules.Inputs
    used: set
    fee_procs_with_dossiers: set
    paid_procs: set


def _catalogue():
    """Active procedures: id → (online, fee, agencies) and the content-completeness count
    (1.3) of the whole catalogue (copied to every unit, as the portal does)."""
    procs = {}
    for p in Procedure.objects.filter(active=True).annotate(
            n_steps=Count("steps", distinct=True), n_docs=Count("documents", distinct=True)):
        procs[p.pk] = p
    links: dict[int, set] = {}
    for pid, aid in Procedure.agencies.through.objects.values_list("procedure_id", "agency_id"):
        if pid in procs:
            links.setdefault(pid, set()).add(aid)
    # k.2 Đ.8 NĐ 63/2010: name, steps, method, documents, time limit, who may apply,
    # competent agency. The catalogue does not hold "đối tượng thực hiện": the other six.
    full = sum(1 for p in procs.values() if p.name and p.n_steps and p.online_mode
               and p.n_docs and p.working_days and links.get(p.pk))
    return procs, links, full


def _complaint_model():
    try:
        return apps.get_model("complaints", "Complaint")
    except LookupError:
        return None


def _end_of(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 23, 59, 59, tzinfo=timezone.get_fixed_timezone(420))


def _start_of(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=timezone.get_fixed_timezone(420))


def complaint_scope(agency_ids, period: Period):
    Complaint = _complaint_model()
    if Complaint is None:
        return None
    qs = Complaint.objects.filter(received_at__gte=_start_of(period.start),
                                  received_at__lte=_end_of(period.end))
    if agency_ids is not None:
        qs = qs.filter(agency_id__in=list(agency_ids))
    if any(f.name == "is_demo" for f in Complaint._meta.fields):
        pass  # demo complaints count like demo dossiers (both labelled)
    return qs


def complaint_on_time(c, as_of_end: datetime) -> bool:
    """5.2: the complaints app's one rule (answered, or rejected, by its deadline; still open
    and not past it at the end of the period)."""
    from chinhquyenso.complaints.services import is_on_time

    return is_on_time(c, at=as_of_end)


def _complaint_inputs(agency_ids, period: Period) -> dict:
    """Per agency: (total, about procedures, on time, satisfied) of PAKN received in the
    period, and the dossiers that have a complaint about them."""
    qs = complaint_scope(agency_ids, period)
    out: dict = {}
    complained: set = set()
    if qs is None:
        return {"by_agency": out, "dossiers": complained}
    as_of_end = min(_end_of(period.as_of), period.at or timezone.now())
    has_cat = any(f.name == "category" for f in qs.model._meta.fields)
    for c in qs:
        acc = out.setdefault(c.agency_id, [0, 0, 0, 0])
        acc[0] += 1
        if has_cat and getattr(c, "category", "") in ("procedure", "regulation"):
            acc[1] += 1
        ok = complaint_on_time(c, as_of_end)
        acc[2] += ok
        acc[3] += ok and c.rating != "unsatisfied" and not c.followed_up
        if c.dossier_id:
            complained.add(c.dossier_id)
    return {"by_agency": out, "dossiers": complained}


def _complained_on_time(agency_ids, period: Period, dossier_ids: set) -> dict:
    """Per agency: on-time dossiers of the cohort with a PAKN about them and not already
    rated unsatisfied (5.4 removes them from the numerator)."""
    if not dossier_ids:
        return {}
    qs = DossierFact.objects.filter(dossier_id__in=list(dossier_ids),
                                    month__gte=period.first_month, month__lte=period.last_month,
                                    ontime_unsatisfied=False)
    if agency_ids is not None:
        qs = qs.filter(agency_id__in=list(agency_ids))
    qs = qs.filter(Q(on_time=True) | Q(pending=True,
                                       pending_day__gte=period.as_of.toordinal()))
    return dict(qs.values_list("agency_id").annotate(n=Count("dossier_id")))


def compute_inputs(scopes: dict, period: Period, procedure_ids=None) -> dict:
    """Inputs of every scope ({key: agency ids or None}) from one read of the cells."""
    union = None
    if all(v is not None for v in scopes.values()):
        union = set().union(*scopes.values()) if scopes else set()
    rows = list(_cells(union, period, procedure_ids))
    procs, links, content_full = _catalogue()
    if procedure_ids is not None:
        procs = {k: v for k, v in procs.items() if k in procedure_ids}
    pakn = _complaint_inputs(union, period)
    complained = _complained_on_time(union, period, pakn["dossiers"])
    out = {}
    for key, ids in scopes.items():
        x = rules.Inputs()
        used, fee_used, paid_used = set(), set(), set()
        for r in rows:
            if ids is not None and r["agency_id"] not in ids:
                continue
            x.received += r["s_received"]
            x.on_time += r["s_on_time"] + (r["s_pending_ok"] or 0)
            x.completed += r["s_completed"]
            x.processing_minutes += r["s_minutes"]
            x.synced += r["s_synced"]
            x.online_ok += r["s_online_ok"]
            x.fee_dossiers += r["s_fee"]
            x.paid_online += r["s_paid"]
            x.paper_dossiers += r["s_paper"]
            x.eresult += r["s_eresult"]
            x.digitised += r["s_digitised"]
            x.reused += r["s_reused"]
            x.satisfied -= r["s_ontime_unsatisfied"]
            pid = r["procedure_id"]
            if r["s_online"]:
                used.add(pid)
            if r["s_fee"]:
                fee_used.add(pid)
            if r["s_paid"]:
                paid_used.add(pid)
        own = [p for pid, p in procs.items()
               if ids is None or (links.get(pid, set()) & ids)]
        x.procedures = len(own)
        x.online_procedures = sum(1 for p in own if p.online_mode in ("full", "partial"))
        online_ids = {p.pk for p in own if p.online_mode in ("full", "partial")}
        x.services = len(online_ids)
        x.services_used = len(used & online_ids)
        fee_ids = {p.pk for p in own if p.fee > 0}
        x.procedures_with_fee = len(fee_ids)
        x.procedures_with_fee_dossiers = len(fee_used & fee_ids)
        x.procedures_paid_online = len(paid_used & fee_used & fee_ids)
        x.content_total, x.content_full = len(procs), content_full
        for aid, (total, about, ok, sat) in pakn["by_agency"].items():
            if ids is None or aid in ids:
                x.pakn_total += total
                x.pakn_about_procedures += about
                x.pakn_on_time += ok
                x.pakn_satisfied += sat
        lost = sum(n for aid, n in complained.items() if ids is None or aid in ids)
        x.satisfied += x.on_time - lost
        out[key] = x
    return out


def index_for(unit: Unit, period: Period) -> dict:
    """The pinned answer of GET /api/v1/monitoring/index."""
    x = compute_inputs({unit.code: unit.agency_ids}, period, unit.procedure_ids)[unit.code]
    return render_index(unit, period, x)


DRILLABLE = {"1.3", "1.4", "2.1", "2.2", "3.1", "3.2", "3.3", "3.5a", "3.5b", "3.6", "4.1",
             "4.2", "4.3", "5.1", "5.2", "5.3", "5.4"}


def dossiers_url(unit: Unit, period: Period, code: str, extra: str = "") -> str | None:
    if code not in DRILLABLE:
        return None
    return (f"/api/v1/monitoring/index/items?unit={unit.code}&period={period.code}"
            f"&indicator={code}{extra}")


def render_index(unit: Unit, period: Period, x: rules.Inputs) -> dict:
    total, groups = rules.evaluate(x)
    return {
        "unit": unit.code,
        "unit_name": unit.name + (f" — {unit.subset}" if unit.subset else ""),
        "period": period.code,
        "period_label": period.label,
        "as_of": period.as_of.isoformat(),
        "total": total,
        "max": 100,
        "groups": [{
            "code": g.code, "name": g.name, "max": g.max, "score": g.score,
            "portal_code": g.portal_code, "parts": g.parts,
            "indicators": [{
                "code": i.code, "name": i.name, "max": i.score.max, "score": i.score.score,
                "numerator": i.score.numerator, "denominator": i.score.denominator,
                "ratio": i.score.ratio, "rule": i.score.rule,
                "dossiers_url": dossiers_url(unit, period, i.code, unit.subset_query),
            } for i in g.indicators],
        } for g in groups],
    }


# --- rankings -------------------------------------------------------------------------------


def rankings(period: Period, kind: str) -> list[dict]:
    """Agencies (sở, ban, ngành, văn phòng) or communes, each scored alone and ranked by
    total, as the portal ranks its AGENCY and COMMUNE child groups (research note §5)."""
    if kind not in ("agency", "commune"):
        raise ValidationFailed("Loại xếp hạng (kind) phải là agency hoặc commune.")
    ags = Agency.objects.filter(active=True).select_related("unit")
    ags = ags.filter(kind=AgencyKind.COMMUNE) if kind == "commune" else \
        ags.exclude(kind=AgencyKind.COMMUNE)
    ags = list(ags)
    scopes = {a.code: frozenset({a.pk}) for a in ags}
    inputs = compute_inputs(scopes, period)
    rows = []
    for a in ags:
        total, groups = rules.evaluate(inputs[a.code])
        rows.append({"unit": a.unit_id if kind == "commune" else a.code,
                     "agency": a.code, "name": a.name, "total": total,
                     "received": inputs[a.code].received,
                     "groups": {g.code: g.score for g in groups}})
    rows.sort(key=lambda r: (-r["total"], r["name"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows


# --- what it would take ----------------------------------------------------------------------

NOUNS = {
    "1.3": "thủ tục công khai đầy đủ nội dung", "1.4": "hồ sơ đồng bộ lên Cổng DVCQG",
    "2.1": "hồ sơ đúng hạn", "3.1": "thủ tục cung cấp dịch vụ công trực tuyến",
    "3.2": "dịch vụ công trực tuyến có hồ sơ", "3.3": "hồ sơ nộp trực tuyến có kết quả điện tử",
    "3.5a": "thủ tục có hồ sơ thu phí", "3.5b": "thủ tục có giao dịch thanh toán trực tuyến",
    "3.6": "hồ sơ thanh toán trực tuyến", "4.1": "hồ sơ có kết quả điện tử",
    "4.2": "hồ sơ số hóa", "4.3": "hồ sơ sử dụng lại dữ liệu số hóa",
    "4.4": "hồ sơ lấy dữ liệu từ kho dữ liệu cá nhân", "4.5a": "thủ tục kết nối dữ liệu dân cư",
    "4.5b": "hồ sơ sử dụng dữ liệu dân cư", "5.2": "phản ánh, kiến nghị xử lý đúng hạn",
    "5.3": "phản ánh, kiến nghị được hài lòng", "5.4": "hồ sơ đúng hạn, không bị phàn nàn",
}


def to_full_points(index: dict) -> list[dict]:
    """For every indicator below its maximum: how many more items give full points."""
    out = []
    for g in index["groups"]:
        for i in g["indicators"]:
            if not i["max"] or (i["score"] or 0) >= i["max"]:
                continue
            s = rules.Score(i["code"], i["max"], i["numerator"], i["denominator"], i["ratio"],
                            i["score"], i["rule"])
            k = rules.needed_for_full(s, rules.THRESHOLDS.get(i["code"]))
            noun = NOUNS.get(i["code"], "mục")
            if k is None:
                text = ("Chưa có dữ liệu trong kỳ trên nền tảng; điểm hiện tại "
                        f"{rules.fmt(i['score'] or 0)}/{rules.fmt(i['max'])}.")
            else:
                text = f"Cần thêm {k:,} {noun} trong kỳ để đạt điểm tối đa.".replace(",", ".")
            out.append({"code": i["code"], "name": i["name"], "missing": k,
                        "points_to_gain": round(i["max"] - (i["score"] or 0), 2), "text": text})
    out.sort(key=lambda r: -r["points_to_gain"])
    return out


def at_risk_this_week(unit: Unit, period: Period, *, now: datetime | None = None,
                      limit: int = 20) -> list[dict]:
    """Open dossiers of the unit's cohort due between now and the end of this week (Sunday):
    finished on time they keep their points; late, the unit loses what `rules` says for
    2.1 and 5.4 with one on-time dossier fewer. Largest loss first (dossiers of units with
    few dossiers weigh most), then the earliest due."""
    now = now or timezone.now()
    today = (now + VN_OFFSET).date()
    week_end = today + timedelta(days=6 - today.weekday())
    qs = Dossier.objects.filter(status__in=[2, 4, 6], due_at__gte=now,
                                due_at__lte=_end_of(week_end), received_at__isnull=False,
                                received_at__gte=_start_of(period.start),
                                received_at__lte=_end_of(period.end))
    if unit.agency_ids is not None:
        qs = qs.filter(agency_id__in=list(unit.agency_ids))
    rows = list(qs.select_related("agency", "procedure").order_by("due_at", "id")[:2000])
    if not rows:
        return []
    per_agency = compute_inputs({a: frozenset({a}) for a in {d.agency_id for d in rows}},
                                period)
    out = []
    for d in rows:
        x = per_agency[d.agency_id]
        loss = (rules.i2_1(x.on_time, x.received).points
                - rules.i2_1(x.on_time - 1, x.received).points
                + rules.i5_4(x.satisfied, x.received).points
                - rules.i5_4(x.satisfied - 1, x.received).points)
        out.append({"code": d.code, "procedure": d.procedure.name, "agency": d.agency.name,
                    "due_at": d.due_at.isoformat(), "points_at_stake": round(loss, 4),
                    "reason": f"hạn {(d.due_at + VN_OFFSET):%H:%M %d/%m/%Y}; trễ hạn sẽ mất "
                              f"{f'{loss:.4f}'.replace('.', ',')} điểm của {d.agency.name}"})
    out.sort(key=lambda r: (-r["points_at_stake"], r["due_at"]))
    return out[:limit]


# --- drill-down -------------------------------------------------------------------------------


def _late_days(agency, due: datetime, end: datetime) -> int:
    cal = calendar_for(agency)
    minutes = cal.working_minutes_between(due, end)
    return max(1, math.ceil(minutes / cal.day_minutes))


def _fact_filters(code: str, period: Period):
    """(denominator, numerator) conditions on facts for a dossier indicator."""
    ok = Q(on_time=True) | Q(pending=True, pending_day__gte=period.as_of.toordinal())
    return {
        "1.4": (Q(), Q(synced=True)),
        "2.1": (Q(), ok),
        "2.2": (Q(completed=True), Q(completed=True)),
        "3.3": (Q(), Q(online_ok=True)),
        "3.6": (Q(fee=True), Q(paid=True)),
        "4.1": (Q(paper=True), Q(eresult=True)),
        "4.2": (Q(), Q(digitised=True)),
        "4.3": (Q(), Q(reused=True)),
        "5.4": (Q(), ok & Q(ontime_unsatisfied=False)),
    }.get(code)


def _dossier_reason(code: str, d: Dossier, fact: DossierFact, in_num: bool,
                    period: Period, complained: bool) -> str:
    if code in ("2.1", "5.4"):
        v = rules.judge(status=d.status, due_at=d.due_at, ended_at=d.ended_at,
                        finished_at=d.finished_at, returned_at=d.returned_at,
                        paused_at=d.paused_at, supplement_count=d.supplement_count)
        if v.kind == rules.PENDING:
            due = (d.due_at + VN_OFFSET).strftime("%d/%m/%Y") if d.due_at else "không có hạn"
            within = fact.pending_day >= period.as_of.toordinal()
            text = f"đang giải quyết, {'còn hạn' if within else 'quá hạn'} (hạn {due})"
        elif v.kind == rules.LATE and v.end is not None and d.due_at is not None:
            text = f"{v.reason} {_late_days(d.agency, d.due_at, v.end)} ngày làm việc"
        else:
            text = v.reason
        if code == "5.4":
            if fact.ontime_unsatisfied:
                text += "; người dân đánh giá không hài lòng"
            elif complained:
                text += "; có phản ánh, kiến nghị về hồ sơ"
        return text
    return {
        "1.4": ("đã đồng bộ lên Cổng DVCQG", "chưa đồng bộ lên Cổng DVCQG"),
        "2.2": ("đã giải quyết xong", ""),
        "3.3": ("nộp trực tuyến" + (", có kết quả điện tử" if fact.paper else ""),
                "nộp trực tiếp hoặc qua bưu chính" if not fact.online
                else "nộp trực tuyến nhưng chưa có kết quả điện tử"),
        "3.6": ("thanh toán trực tuyến", "chưa thanh toán trực tuyến"),
        "4.1": ("có kết quả điện tử", "chưa có kết quả điện tử"),
        "4.2": ("đã số hóa", "chưa số hóa" if not d.digitised else
                "đã số hóa thành phần nhưng chưa có kết quả điện tử"),
        "4.3": ("có sử dụng lại dữ liệu số hóa", "không sử dụng lại dữ liệu số hóa"),
    }[code][0 if in_num else 1]


def items_behind(unit: Unit, period: Period, code: str, *, part: str = "all",
                 page: int = 1) -> dict:
    """The dossiers (or procedures, or PAKN) behind an indicator's numerator and denominator,
    each with why it counts; paginated, PAGE_SIZE a page."""
    if part not in ("all", "numerator", "outside"):
        raise ValidationFailed("part phải là all, numerator hoặc outside.")
    if page < 1:
        raise ValidationFailed("Trang phải từ 1.")
    if code not in DRILLABLE:
        raise NotFound(f"Chỉ số «{code}» không có danh sách chi tiết.")
    if code in ("1.3", "3.1", "3.2", "3.5a", "3.5b"):
        items = _procedure_items(unit, period, code)
        items = [i for i in items if part == "all" or (part == "numerator") == i["in_numerator"]]
        return _page(items, page, code, unit, period)
    if code in ("5.1", "5.2", "5.3"):
        items = _complaint_items(unit, period, code)
        items = [i for i in items if part == "all" or (part == "numerator") == i["in_numerator"]]
        return _page(items, page, code, unit, period)
    den, num = _fact_filters(code, period)
    qs = DossierFact.objects.filter(den, month__gte=period.first_month,
                                    month__lte=period.last_month)
    if unit.agency_ids is not None:
        qs = qs.filter(agency_id__in=list(unit.agency_ids))
    if unit.procedure_ids is not None:
        qs = qs.filter(procedure_id__in=list(unit.procedure_ids))
    if part == "numerator":
        qs = qs.filter(num)
    elif part == "outside":
        qs = qs.exclude(num)
    count = qs.count()
    facts = list(qs.order_by("dossier_id")[(page - 1) * PAGE_SIZE:page * PAGE_SIZE])
    num_ids = set(DossierFact.objects.filter(num, dossier_id__in=[f.dossier_id for f in facts])
                  .values_list("dossier_id", flat=True))
    dossiers = Dossier.objects.select_related("agency", "procedure").in_bulk(
        [f.dossier_id for f in facts])
    complained = set()
    if code == "5.4":
        complained = _complaint_inputs(unit.agency_ids, period)["dossiers"]
    items = []
    for f in facts:
        d = dossiers.get(f.dossier_id)
        if d is None:
            continue
        in_num = f.dossier_id in num_ids and not (code == "5.4" and f.dossier_id in complained)
        items.append({
            "kind": "dossier", "code": d.code, "name": d.procedure.name, "agency": d.agency.name,
            "received_at": d.received_at.isoformat() if d.received_at else None,
            "due_at": d.due_at.isoformat() if d.due_at else None,
            "in_numerator": in_num,
            "reason": _dossier_reason(code, d, f, in_num, period, f.dossier_id in complained),
        })
    return {"indicator": code, "unit": unit.code, "period": period.code, "count": count,
            "page": page, "pages": max(1, math.ceil(count / PAGE_SIZE)), "items": items}


def _page(items, page, code, unit, period):
    count = len(items)
    return {"indicator": code, "unit": unit.code, "period": period.code, "count": count,
            "page": page, "pages": max(1, math.ceil(count / PAGE_SIZE)),
            "items": items[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]}


def _procedure_items(unit: Unit, period: Period, code: str) -> list[dict]:
    procs, links, _full = _catalogue()
    rows = list(_cells(unit.agency_ids, period, unit.procedure_ids))
    online = {r["procedure_id"] for r in rows if r["s_online"]}
    fee_used = {r["procedure_id"] for r in rows if r["s_fee"]}
    paid = {r["procedure_id"] for r in rows if r["s_paid"]}
    items = []
    for pid, p in sorted(procs.items(), key=lambda kv: kv[1].code):
        if unit.procedure_ids is not None and pid not in unit.procedure_ids:
            continue
        if code != "1.3" and unit.agency_ids is not None and not (
                links.get(pid, set()) & unit.agency_ids):
            continue
        is_online = p.online_mode in ("full", "partial")
        if code == "1.3":
            ok = bool(p.name and p.n_steps and p.online_mode and p.n_docs and p.working_days
                      and links.get(pid))
            why = "công khai đủ các bộ phận" if ok else "thiếu quy trình, giấy tờ hoặc cơ quan"
        elif code == "3.1":
            ok = is_online
            why = ("dịch vụ công trực tuyến " + ("toàn trình" if p.online_mode == "full"
                                                  else "một phần")) if ok else "chưa trực tuyến"
        elif code == "3.2":
            if not is_online:
                continue
            ok = pid in online
            why = "có hồ sơ trực tuyến trong kỳ" if ok else "chưa có hồ sơ trực tuyến trong kỳ"
        elif code == "3.5a":
            if p.fee <= 0:
                continue
            ok = pid in fee_used
            why = "có hồ sơ thu phí trong kỳ" if ok else "chưa có hồ sơ thu phí trong kỳ"
        else:  # 3.5b
            if p.fee <= 0 or pid not in fee_used:
                continue
            ok = pid in paid
            why = ("có giao dịch thanh toán trực tuyến" if ok
                   else "chưa có giao dịch thanh toán trực tuyến")
        items.append({"kind": "procedure", "code": p.code, "name": p.name, "agency": "",
                      "received_at": None, "due_at": None, "in_numerator": ok, "reason": why})
    return items


def _complaint_items(unit: Unit, period: Period, code: str) -> list[dict]:
    qs = complaint_scope(unit.agency_ids, period)
    if qs is None:
        return []
    as_of_end = min(_end_of(period.as_of), period.at or timezone.now())
    has_cat = any(f.name == "category" for f in qs.model._meta.fields)
    items = []
    for c in qs.select_related("agency").order_by("received_at", "pk"):
        on_time = complaint_on_time(c, as_of_end)
        if code == "5.1":
            ok = has_cat and getattr(c, "category", "") in ("procedure", "regulation")
            why = "về quy định, thủ tục hành chính" if ok else "về hành vi, khác"
        elif code == "5.2":
            ok = on_time
            why = ("xử lý đúng hạn" if c.answered_at else "đang xử lý, còn hạn") if ok else \
                ("xử lý quá hạn" if c.answered_at else "đang xử lý, quá hạn")
        else:
            reasons = []
            if not on_time:
                reasons.append("xử lý quá hạn")
            if c.rating == "unsatisfied":
                reasons.append("không hài lòng với kết quả")
            if c.followed_up:
                reasons.append("có phản ánh tiếp về kết quả")
            ok = not reasons
            why = "không bị phàn nàn" if ok else "; ".join(reasons)
        items.append({"kind": "complaint", "code": str(getattr(c, "code", c.pk)),
                      "name": str(getattr(c, "title", "") or "Phản ánh, kiến nghị"),
                      "agency": c.agency.name, "received_at": c.received_at.isoformat(),
                      "due_at": c.due_at.isoformat() if c.due_at else None,
                      "in_numerator": ok, "reason": why})
    return items


def month_trend(unit: Unit, year: int, today: date) -> list[tuple[str, str, float]]:
    """(period, label, total) for every month of `year` up to today, from the cells."""
    last = 12 if year < today.year else today.month
    out = []
    for m in range(1, last + 1):
        p = get_period(f"{year}-{m:02d}", today)
        x = compute_inputs({unit.code: unit.agency_ids}, p, unit.procedure_ids)[unit.code]
        out.append((p.code, f"{m:02d}", rules.evaluate(x)[0]))
    return out
