"""The city's targets and the yearly task plan: loading, readings, status, import, progress
reports, and the daily early-warning digest to leaders.

Rules kept here, one place each:
- target status (`target_status`): met when the current value reaches the target; behind
  when the deadline year is over and it is not met; otherwise on track when the current
  value is at least where a straight line from the first reading to the target at the end
  of the deadline year would be today, behind when below it;
- task flags (`task_flag`): overdue when the deadline has passed below 100 %; slow when the
  progress is more than SLOW_MARGIN points below the share of the time elapsed from start
  to deadline.
"""

import csv
import io
import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from chinhquyenso.core import audit
from chinhquyenso.core.calendar import VN_TZ
from chinhquyenso.core.dates import check_date
from chinhquyenso.core.errors import NotFound, PermissionDenied, ValidationFailed
from chinhquyenso.core.workcalendar import FIRST_YEAR, LAST_YEAR, in_horizon
from chinhquyenso.directory.models import Agency, Role, User
from chinhquyenso.dossiers.models import OPEN_STATUSES, Dossier, DossierStep

from .measures import MEASURES
from .models import Direction, PlanTask, Target, TargetReading, TaskReport
from .warnings import risks_for

TARGETS_FILE = Path(__file__).parent / "data" / "targets.json"
SLOW_MARGIN = 20
READ_ROLES = {Role.MONITOR, Role.PROVINCE_ADMIN, Role.LEADER}
PROVINCE_WIDE = {Role.MONITOR, Role.PROVINCE_ADMIN}


def today() -> date:
    return timezone.now().astimezone(VN_TZ).date()


# --- targets -----------------------------------------------------------------------------


def load_targets(*, path: Path | str | None = None) -> int:
    """Create or update the targets of the city plan from the data file, with the readings
    the sources give (all or nothing). Returns the number of targets."""
    data = json.loads(Path(path or TARGETS_FILE).read_text(encoding="utf-8"))
    with transaction.atomic():
        for i, t in enumerate(data["targets"], 1):
            target, _ = Target.objects.update_or_create(code=t["code"], defaults={
                "name": t["name"], "group": t.get("group", ""), "value": Decimal(t["value"]),
                "unit": t.get("unit", "%"), "direction": t.get("direction", "at_least"),
                "deadline_year": t["deadline_year"], "measure": t.get("measure", ""),
                "source": t["source"], "note": t.get("note", ""), "position": i})
            if target.measure and target.measure not in MEASURES:
                raise ValidationFailed(f"Mục tiêu {target.code}: không có phép đo "
                                       f"«{target.measure}».")
            for r in t.get("readings", []):
                TargetReading.objects.update_or_create(
                    target=target, on=date.fromisoformat(r["on"]), live=False,
                    defaults={"value": Decimal(r["value"]), "source": r["source"]})
    return len(data["targets"])


def record_reading(*, actor: User, target: Target, on: date, value, source: str,
                   ) -> TargetReading:
    """A value read from outside the platform (statistics office, a report), with its
    source and date. Province admin or monitor."""
    if actor.role not in PROVINCE_WIDE:
        raise PermissionDenied("Chỉ quản trị cấp tỉnh hoặc giám sát được nhập số liệu.")
    check_date(on, "Ngày số liệu")
    try:
        value = Decimal(str(value).replace(",", ".").strip())
    except InvalidOperation as exc:
        raise ValidationFailed("Giá trị phải là số (ví dụ 82,5).") from exc
    if not value.is_finite() or value < 0 or value > Decimal("1000000"):
        raise ValidationFailed("Giá trị không hợp lệ.")
    source = (source or "").strip()
    if len(source) < 5:
        raise ValidationFailed("Cần ghi nguồn số liệu (văn bản, báo cáo, ngày).")
    if on > today():
        raise ValidationFailed("Ngày số liệu không được sau hôm nay.")
    with transaction.atomic():
        reading, _ = TargetReading.objects.update_or_create(
            target=target, on=on, live=False,
            defaults={"value": value, "source": source[:2000], "entered_by": actor})
        audit.record(actor=actor, verb="planning.reading", target=target,
                     data={"on": on.isoformat(), "value": str(value), "source": source})
    return reading


def snapshot_live_readings(*, at: datetime | None = None) -> int:
    """Store today's value of every live target as a reading (the trend of live targets).
    Run daily (by `cqs planning digest` and `cqs planning snapshot`); once a day."""
    at = at or timezone.now()
    day = at.astimezone(VN_TZ).date()
    n = 0
    for t in Target.objects.exclude(measure=""):
        measured = MEASURES[t.measure](at)
        if measured is None:
            continue
        value, num, den = measured
        TargetReading.objects.update_or_create(
            target=t, on=day, live=True,
            defaults={"value": value, "source": f"Đo trên nền tảng: {num}/{den}"})
        n += 1
    return n


@dataclass
class TargetView:
    target: Target
    current: Decimal | None
    current_on: date | None
    current_source: str
    status: str  # met | on_track | behind | no_data
    readings: list = field(default_factory=list)
    trend: str = ""  # up | down | flat | ""

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


STATUS_LABELS = {"met": "Đạt", "on_track": "Đúng lộ trình", "behind": "Chậm",
                 "no_data": "Chưa có số liệu"}


def _reached(t: Target, value: Decimal) -> bool:
    return value >= t.value if t.direction == Direction.AT_LEAST else value <= t.value


def target_status(t: Target, current: Decimal | None, first: tuple[date, Decimal] | None,
                  on: date) -> str:
    if current is None:
        return "no_data"
    if _reached(t, current):
        return "met"
    end = date(t.deadline_year, 12, 31)
    if on > end or first is None or first[0] >= end:
        return "behind"
    start_on, start_value = first
    elapsed = Decimal((on - start_on).days) / Decimal((end - start_on).days)
    expected = start_value + (t.value - start_value) * max(Decimal(0), elapsed)
    ahead = current >= expected if t.direction == Direction.AT_LEAST else current <= expected
    return "on_track" if ahead else "behind"


def targets_overview(*, at: datetime | None = None) -> list[TargetView]:
    """Every target with its current value (live measure now, else the latest reading),
    its readings over time and its status. One query for all readings."""
    at = at or timezone.now()
    on = at.astimezone(VN_TZ).date()
    readings = defaultdict(list)
    for r in TargetReading.objects.order_by("on", "id"):
        readings[r.target_id].append(r)
    out = []
    for t in Target.objects.all():
        rs = readings.get(t.pk, [])
        current, current_on, src = None, None, ""
        if t.measure:
            measured = MEASURES[t.measure](at)
            if measured is not None:
                current, current_on = measured[0], on
                src = f"Đo trực tiếp trên nền tảng: {measured[1]}/{measured[2]}"
        if current is None and rs:
            last = rs[-1]
            current, current_on, src = last.value, last.on, last.source
        first = (rs[0].on, rs[0].value) if rs else None
        trend = ""
        series = [r.value for r in rs]
        if current is not None and current_on == on and (not rs or rs[-1].on != on):
            series.append(current)
        if len(series) >= 2:
            trend = ("up" if series[-1] > series[-2] else "down" if series[-1] < series[-2]
                     else "flat")
        out.append(TargetView(t, current, current_on, src,
                              target_status(t, current, first, on), rs, trend))
    return out


# --- task plan -----------------------------------------------------------------------------


def task_flag(task: PlanTask, on: date) -> str:
    """"overdue", "slow" or "" (see the module docstring)."""
    if task.progress >= 100:
        return ""
    if on > task.deadline:
        return "overdue"
    span = (task.deadline - task.start).days
    if span <= 0 or on <= task.start:
        return ""
    expected = Decimal(100) * Decimal((on - task.start).days) / Decimal(span)
    return "slow" if Decimal(task.progress) + SLOW_MARGIN < expected else ""


FLAG_LABELS = {"overdue": "Quá hạn", "slow": "Chậm tiến độ", "": ""}


def tasks_visible_to(user):
    qs = PlanTask.objects.select_related("owner")
    if user.role in PROVINCE_WIDE:
        return qs
    if user.role == Role.LEADER and user.agency_id:
        return qs.filter(owner_id=user.agency_id)
    return qs.none()


def report_progress(*, actor: User, task: PlanTask, progress: int, note: str = "",
                    on: date | None = None) -> TaskReport:
    """A progress report by the owner agency's leader (or the province admin)."""
    if not (actor.role == Role.PROVINCE_ADMIN or
            (actor.role == Role.LEADER and actor.agency_id == task.owner_id)):
        raise PermissionDenied("Chỉ lãnh đạo cơ quan chủ trì được báo cáo tiến độ.")
    if not isinstance(progress, int) or not 0 <= progress <= 100:
        raise ValidationFailed("Tiến độ phải là số nguyên từ 0 đến 100 (%).")
    on = on or today()
    check_date(on, "Ngày báo cáo")
    note = (note or "").strip()
    if len(note) > 2000:
        raise ValidationFailed("Ghi chú dài quá 2.000 ký tự.")
    with transaction.atomic():
        task = PlanTask.objects.select_for_update().get(pk=task.pk)
        report = TaskReport.objects.create(task=task, on=on, progress=progress, note=note,
                                           reported_by=actor)
        if task.reported_at is None or on >= task.reported_at:
            task.progress, task.reported_at = progress, on
            task.save(update_fields=["progress", "reported_at", "updated_at"])
        audit.record(actor=actor, verb="planning.progress", target=task,
                     data={"progress": progress, "on": on.isoformat(), "note": note})
    return report


CSV_COLUMNS = ["nam", "ma", "ten", "co_quan", "kinh_phi", "bat_dau", "han"]
CSV_OPTIONAL = ["tien_do", "nguon"]
_MONEY = re.compile(r"^(\d+|\d{1,3}(\.\d{3})+)$")


def _date(value: str) -> date:
    value = value.strip()
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", value)
    day = date(int(m[3]), int(m[2]), int(m[1])) if m else date.fromisoformat(value)
    if not in_horizon(day):
        raise ValueError(f"năm {day.year} ngoài khoảng {FIRST_YEAR}–{LAST_YEAR}")
    return day


def import_tasks(*, text: str, actor: User | None = None) -> int:
    """Import the task plan from CSV (docs/planning-format.md). Every line is checked first;
    any error → ValidationFailed listing each bad line by its number, and nothing is
    written. A task with the same year and code is updated."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise ValidationFailed("dòng 1: thiếu cột " + ", ".join(missing),
                               errors=[f"dòng 1: thiếu cột {c}" for c in missing])
    agencies = {}
    for a in Agency.objects.all():
        agencies[a.key] = a
        agencies[a.code] = a
    rows, errors, seen = [], [], {}
    for line, raw in enumerate(reader, 2):
        r = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k}
        if not any(r.values()):
            continue
        problems = []
        year = r.get("nam", "")
        if not re.fullmatch(r"20\d\d", year):
            problems.append("năm phải có dạng NNNN (ví dụ 2024)")
        if not r.get("ma") or len(r["ma"]) > 40:
            problems.append("mã nhiệm vụ trống hoặc dài quá 40 ký tự")
        if not r.get("ten") or len(r["ten"]) > 500:
            problems.append("tên nhiệm vụ trống hoặc dài quá 500 ký tự")
        owner = agencies.get(r.get("co_quan", ""))
        if owner is None:
            problems.append(f"không có cơ quan «{r.get('co_quan', '')}»")
        budget = r.get("kinh_phi", "")
        if not _MONEY.match(budget):
            problems.append("kinh phí phải là số nguyên đồng (ví dụ 1500000000 hoặc "
                            "1.500.000.000)")
        start = deadline = None
        try:
            start = _date(r.get("bat_dau", ""))
        except ValueError:
            problems.append("ngày bắt đầu phải là NNNN-TT-NN hoặc NN/TT/NNNN, "
                            f"năm {FIRST_YEAR}–{LAST_YEAR}")
        try:
            deadline = _date(r.get("han", ""))
        except ValueError:
            problems.append(f"hạn phải là NNNN-TT-NN hoặc NN/TT/NNNN, năm {FIRST_YEAR}–"
                            f"{LAST_YEAR}")
        if start and deadline and deadline < start:
            problems.append("hạn trước ngày bắt đầu")
        progress = None
        if r.get("tien_do"):
            if not r["tien_do"].isdigit() or int(r["tien_do"]) > 100:
                problems.append("tiến độ phải là số nguyên từ 0 đến 100")
            else:
                progress = int(r["tien_do"])
        key = (year, r.get("ma"))
        if key in seen:
            problems.append(f"trùng mã với dòng {seen[key]}")
        seen[key] = line
        if problems:
            errors.append(f"dòng {line}: " + "; ".join(problems))
            continue
        rows.append((line, int(year), r, owner, int(budget.replace(".", "")), start, deadline,
                     progress))
    if errors:
        raise ValidationFailed(f"Tệp có {len(errors)} dòng lỗi, không nhập dòng nào: "
                               + " | ".join(errors[:20]), errors=errors)
    if not rows:
        raise ValidationFailed("Tệp không có nhiệm vụ nào.")
    with transaction.atomic():
        for _line, year, r, owner, budget, start, deadline, progress in rows:
            defaults = {"name": r["ten"], "owner": owner, "budget": budget, "start": start,
                        "deadline": deadline, "source": r.get("nguon", "")}
            if progress is not None:
                defaults.update(progress=progress, reported_at=today())
            PlanTask.objects.update_or_create(year=year, code=r["ma"], defaults=defaults)
        audit.record(actor=actor, verb="planning.import", data={"tasks": len(rows)})
    return len(rows)


DEMO_TASK_NAMES = [
    "Nâng cấp Hệ thống thông tin giải quyết thủ tục hành chính",
    "Số hóa kết quả giải quyết thủ tục hành chính còn hiệu lực",
    "Mở rộng kho dữ liệu dùng chung thành phố",
    "Kết nối nền tảng tích hợp, chia sẻ dữ liệu (LGSP) với NDXP",
    "Triển khai họp không giấy tờ tại các sở, ngành",
    "Đào tạo kỹ năng số cho cán bộ, công chức cấp xã",
    "Bảo đảm an toàn thông tin theo cấp độ cho hệ thống dùng chung",
    "Xây dựng cơ sở dữ liệu chuyên ngành",
    "Phát triển ứng dụng dịch vụ công trên thiết bị di động",
    "Mở rộng Trung tâm điều hành đô thị thông minh",
    "Thúc đẩy thanh toán trực tuyến trong giải quyết thủ tục hành chính",
    "Số hóa hồ sơ lưu trữ của cơ quan",
]
# seeds/002_2da698a6e68170f5.txt: "Năm 2024, thành phố xác định thực hiện 81 nhiệm vụ cụ thể
# trong lĩnh vực chuyển đổi số với kinh phí dự kiến thực hiện khoảng 400 tỷ đồng."
DEMO_TASKS, DEMO_BUDGET = 81, 400_000_000_000


def load_demo_tasks(*, year: int = 2024, seed: int = 2024) -> int:
    """81 demo tasks for `year` totalling 400 billion đồng (the figures of seeds/002),
    spread over the agencies; every task is labelled demo (is_demo, code DEMO-…)."""
    agencies = list(Agency.objects.filter(active=True).order_by("key"))
    if not agencies:
        raise ValidationFailed("Chưa có cơ quan nào: chạy cqs init trước.")
    rng = random.Random(seed)
    weights = [rng.randint(1, 20) for _ in range(DEMO_TASKS)]
    budgets = [DEMO_BUDGET * w // sum(weights) // 1_000_000 * 1_000_000 for w in weights]
    budgets[0] += DEMO_BUDGET - sum(budgets)
    on = today()
    with transaction.atomic():
        for i in range(DEMO_TASKS):
            start = date(year, rng.randint(1, 6), 1)
            deadline = date(year, rng.randint(max(start.month + 1, 7), 12), 28)
            PlanTask.objects.update_or_create(year=year, code=f"DEMO-{i + 1:02d}", defaults={
                "name": f"[Mẫu] {DEMO_TASK_NAMES[i % len(DEMO_TASK_NAMES)]}",
                "owner": agencies[i % len(agencies)], "budget": budgets[i], "start": start,
                "deadline": deadline, "progress": rng.choice([100, 100, 100, 90, 75, 60, 40]),
                "reported_at": min(on, deadline), "is_demo": True,
                "source": "Dữ liệu mẫu (không có thật), theo số liệu seeds/002: 81 nhiệm vụ, "
                          "khoảng 400 tỷ đồng năm 2024"})
    return DEMO_TASKS


# --- early-warning digest ----------------------------------------------------------------------


def at_risk_by_agency(*, at: datetime | None = None, batch: int = 500):
    """agency id → [(dossier row, current step row, reason)] for every open dossier at risk,
    read in batches (risks_for costs three queries per batch)."""
    at = at or timezone.now()
    out = defaultdict(list)
    last = 0
    fields = ("id", "code", "status", "due_at", "clock_started_at", "current_step",
              "current_agency_id", "applicant_name")
    while True:
        rows = list(Dossier.objects.filter(status__in=OPEN_STATUSES, id__gt=last)
                    .order_by("id").values(*fields)[:batch])
        if not rows:
            break
        last = rows[-1]["id"]
        risks = risks_for(rows, at=at)
        if not risks:
            continue
        steps = {(s["dossier_id"], s["position"]): s for s in DossierStep.objects.filter(
            dossier_id__in=risks).values("dossier_id", "position", "name", "role")}
        for d in rows:
            if d["id"] in risks:
                out[d["current_agency_id"]].append(
                    (d, steps.get((d["id"], d["current_step"])), risks[d["id"]]))
    return out


def dossier_url(code: str) -> str:
    """The back office's page of a dossier, where the leader starts the apology letter."""
    return f"{settings.CQS_PUBLIC_URL}/can-bo/ho-so/{code}"


def send_digest(*, at: datetime | None = None) -> list[dict]:
    """E-mail each agency's leaders the list of its dossiers at risk, grouped by the step
    (and the officers of its role) they wait on. Returns what was sent."""
    at = at or timezone.now()
    sent = []
    groups = at_risk_by_agency(at=at)
    if not groups:
        return sent
    officers = defaultdict(list)
    for u in User.objects.filter(agency_id__in=groups, is_active=True).order_by("username"):
        officers[(u.agency_id, u.role)].append(u)
    for agency in Agency.objects.filter(pk__in=groups).order_by("key"):
        leaders = [u.email for u in officers[(agency.pk, Role.LEADER)] if u.email]
        if not leaders:
            continue
        by_step = defaultdict(list)
        for d, step, reason in groups[agency.pk]:
            role = step["role"] if step else ""
            by_step[(step["name"] if step else "Không rõ bước", role)].append((d, reason))
        lines = [f"Hồ sơ có nguy cơ trễ hạn của {agency.name} "
                 f"({at.astimezone(VN_TZ):%H:%M ngày %d/%m/%Y}):", ""]
        for (name, role), items in sorted(by_step.items()):
            people = ", ".join(u.full_name or u.username for u in officers[(agency.pk, role)])
            role_label = Role(role).label if role in Role.values else role
            lines.append(f"Bước «{name}» — {role_label}: {people or 'chưa có cán bộ'}")
            for d, reason in sorted(items, key=lambda x: x[0]["due_at"]):
                lines.append(f"  • {d['code']} ({d['applicant_name']}), hạn "
                             f"{d['due_at'].astimezone(VN_TZ):%H:%M %d/%m/%Y}: {reason}")
                lines.append(f"    {dossier_url(d['code'])}")
            lines.append("")
        lines.append("Nếu hồ sơ không thể xong đúng hạn, lãnh đạo gửi Văn bản xin lỗi và đề "
                     "nghị gia hạn (Mẫu 04) trước ngày hẹn trả từ trang của hồ sơ (chỉ một "
                     "lần cho mỗi hồ sơ).")
        count = len(groups[agency.pk])
        subject = f"[Cảnh báo sớm] {count} hồ sơ có nguy cơ trễ hạn — {agency.name}"
        send_mail(subject, "\n".join(lines), None, leaders)
        sent.append({"agency": agency.code, "to": leaders, "dossiers": count})
    return sent


def get_task_or_404(user, pk: int) -> PlanTask:
    task = tasks_visible_to(user).filter(pk=pk).first()
    if task is None:
        raise NotFound("Không tìm thấy nhiệm vụ.")
    return task
