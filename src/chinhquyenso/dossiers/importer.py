"""History import from a previous one-stop system: `cqs dossiers import FILE.jsonl`.

One JSON object a line, with exactly these keys (issue 5):
  code, procedure, agency, channel (online|counter|post), submitted_at, received_at, due_at,
  finished_at, returned_at, status (portal code 1–10), supplements [{requested_at,
  completed_at}], fee, paid_online, digitised, electronic_result, reused_data,
  rating (satisfied|normal|unsatisfied|null).

Times are ISO 8601; without an offset they are Vietnam time. For a dossier that ended
without a result (3 refused, 7 withdrawn, 8 stopped) `finished_at` is the end of processing
(NgayKetThucXuLy) and is stored as such.

All or nothing: every line is checked first and every bad line reported with its number and
reason; only a file without errors is written, in one transaction. Each imported dossier
gets an "import" history event and an outbox event `dossier.import`, so the consumers (the
service-quality index, the national-portal sync) count it like a native one.

How an imported dossier is judged (the same rule as native ones, research note §3): its
appointed date (`due_at`, or when missing the procedure's legal time from receipt) is moved by
the working time spent waiting for each completed supplement, as `_resume_clock` does for a
native dossier; `original_due_at` keeps the appointed date as given.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from chinhquyenso.catalog.models import Procedure
from chinhquyenso.core import audit
from chinhquyenso.core.calendar import calendar_for
from chinhquyenso.core.models import OutboxEvent
from chinhquyenso.core.workcalendar import FIRST_YEAR, LAST_YEAR, in_horizon
from chinhquyenso.directory.models import Agency

from .models import ENDED_WITHOUT_RESULT, Dossier, DossierEvent, Rating, Status, Supplement

VN = ZoneInfo("Asia/Ho_Chi_Minh")
KEYS = ("code", "procedure", "agency", "channel", "submitted_at", "received_at", "due_at",
        "finished_at", "returned_at", "status", "supplements", "fee", "paid_online",
        "digitised", "electronic_result", "reused_data", "rating")
REQUIRED = ("code", "procedure", "agency", "channel", "submitted_at", "status")
CHANNELS = {"online", "counter", "post"}
NOT_RECEIVED = {Status.NEW, Status.REFUSED}
CODE_RE = re.compile(r"^(?P<agency>.+)-(?P<day>\d{6})-(?P<n>\d{4,})$")
APPLICANT = "Không rõ (dữ liệu chuyển đổi từ hệ thống cũ)"


@dataclass
class ImportResult:
    lines: int = 0
    imported: int = 0
    errors: list = field(default_factory=list)  # (line number, reason)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Bad(Exception):
    pass


def _time(row: dict, key: str, required: bool = False) -> datetime | None:
    v = row.get(key)
    if v is None or v == "":
        if required:
            raise _Bad(f"thiếu «{key}»")
        return None
    if not isinstance(v, str):
        raise _Bad(f"«{key}» phải là chuỗi ngày giờ ISO 8601")
    try:
        dt = datetime.fromisoformat(v)
    except ValueError:
        raise _Bad(f"«{key}» không phải ngày giờ ISO 8601: {v!r}") from None
    if not in_horizon(dt):
        raise _Bad(f"«{key}»: năm {dt.year} ngoài khoảng {FIRST_YEAR}–{LAST_YEAR}")
    return dt.replace(tzinfo=VN) if dt.tzinfo is None else dt


def _bool(row: dict, key: str) -> bool:
    v = row.get(key, False)
    if v is None:
        return False
    if not isinstance(v, bool):
        raise _Bad(f"«{key}» phải là true hoặc false")
    return v


def _check(row, procs: dict, agencies: dict, seen: set, existing: set) -> dict:
    """One line → the values to store, or _Bad with the reason in Vietnamese."""
    if not isinstance(row, dict):
        raise _Bad("mỗi dòng phải là một đối tượng JSON")
    unknown = sorted(set(row) - set(KEYS))
    if unknown:
        raise _Bad(f"trường không được hỗ trợ: {', '.join(unknown)}")
    for k in REQUIRED:
        if row.get(k) in (None, ""):
            raise _Bad(f"thiếu «{k}»")
    code = row["code"]
    if not isinstance(code, str) or len(code) > 60:
        raise _Bad("«code» phải là chuỗi tối đa 60 ký tự")
    if code in seen:
        raise _Bad(f"mã hồ sơ «{code}» lặp lại trong tệp")
    if code in existing:
        raise _Bad(f"mã hồ sơ «{code}» đã có trong hệ thống")
    proc = procs.get(row["procedure"])
    if proc is None:
        raise _Bad(f"không có thủ tục mã «{row['procedure']}»")
    agency = agencies.get(row["agency"])
    if agency is None:
        raise _Bad(f"không có cơ quan mã «{row['agency']}»")
    if row["channel"] not in CHANNELS:
        raise _Bad("«channel» phải là online, counter hoặc post")
    status = row["status"]
    if not isinstance(status, int) or isinstance(status, bool) or status not in Status.values:
        raise _Bad("«status» phải là mã trạng thái 1–10 của Cổng DVCQG")
    submitted = _time(row, "submitted_at", required=True)
    received = _time(row, "received_at", required=status not in NOT_RECEIVED)
    if status in NOT_RECEIVED and received is not None:
        raise _Bad(f"hồ sơ trạng thái {status} ({Status(status).label}) không có ngày tiếp nhận")
    due = _time(row, "due_at")
    finished = _time(row, "finished_at", required=status in {9, 10, 7, 8, 3})
    returned = _time(row, "returned_at", required=status == Status.RETURNED)
    if received and received < submitted:
        raise _Bad("ngày tiếp nhận trước ngày nộp")
    if due and received and due < received:
        raise _Bad("ngày hẹn trả trước ngày tiếp nhận")
    start = received or submitted
    if finished and finished < start:
        raise _Bad("ngày kết thúc xử lý trước ngày tiếp nhận")
    if returned and (finished is None or returned < finished):
        raise _Bad("ngày trả kết quả phải sau ngày xử lý xong")
    if status not in {9, 10} and returned is not None:
        raise _Bad("chỉ hồ sơ đã trả kết quả (10) mới có ngày trả kết quả")
    if status in {1, 2, 4, 5, 6} and finished is not None:
        raise _Bad(f"hồ sơ đang ở trạng thái {status} chưa thể có ngày kết thúc xử lý")
    sups = row.get("supplements") or []
    if not isinstance(sups, list) or len(sups) > 20:
        raise _Bad("«supplements» phải là danh sách (tối đa 20)")
    parsed = []
    for i, s in enumerate(sups, 1):
        if not isinstance(s, dict) or set(s) - {"requested_at", "completed_at"}:
            raise _Bad(f"yêu cầu bổ sung thứ {i} phải có requested_at, completed_at")
        req = _time(s, "requested_at", required=True)
        done = _time(s, "completed_at")
        if req < submitted or (done is not None and done < req):
            raise _Bad(f"yêu cầu bổ sung thứ {i}: thời gian không hợp lệ")
        if done is None and (i != len(sups) or status != Status.WAITING_SUPPLEMENT):
            raise _Bad(f"yêu cầu bổ sung thứ {i} chưa hoàn thành nhưng hồ sơ không ở "
                       "trạng thái 5 (chờ bổ sung)")
        parsed.append((req, done))
    if status == Status.WAITING_SUPPLEMENT and (not parsed or parsed[-1][1] is not None):
        raise _Bad("hồ sơ trạng thái 5 cần một yêu cầu bổ sung chưa hoàn thành")
    fee = row.get("fee", 0) or 0
    if not isinstance(fee, int) or isinstance(fee, bool) or fee < 0:
        raise _Bad("«fee» phải là số nguyên không âm (đồng)")
    rating = row.get("rating") or ""
    if rating and rating not in Rating.values:
        raise _Bad("«rating» phải là satisfied, normal, unsatisfied hoặc null")
    if rating and status != Status.RETURNED:
        raise _Bad("chỉ hồ sơ đã trả kết quả mới có đánh giá")
    seen.add(code)
    return {"code": code, "proc": proc, "agency": agency, "channel": row["channel"],
            "status": status, "submitted": submitted, "received": received, "due": due,
            "finished": finished, "returned": returned, "supplements": parsed, "fee": fee,
            "paid_online": _bool(row, "paid_online"), "digitised": _bool(row, "digitised"),
            "electronic_result": _bool(row, "electronic_result"),
            "reused_data": _bool(row, "reused_data"), "rating": rating}


def _dossier(v: dict, cals: dict, now: datetime) -> Dossier:
    agency, proc, status = v["agency"], v["proc"], v["status"]
    cal = cals.get(agency.pk)
    if cal is None:
        cal = cals[agency.pk] = calendar_for(agency)
    clock = cal.next_working_moment(v["received"]) if v["received"] else None
    due = v["due"]
    if due is None and clock is not None:
        due = cal.add_working_days(clock, proc.working_days)
    original = due
    waited = 0
    paused_at = None
    for req, done in v["supplements"]:
        if done is None:
            paused_at = req
        elif clock is not None:
            waited += cal.working_minutes_between(max(req, clock), max(done, clock))
    if due is not None and waited:
        due = cal.add_working_minutes(due, waited)
    ended = finished = None
    if status in ENDED_WITHOUT_RESULT:
        ended = v["finished"]
    elif v["finished"] is not None:
        finished = ended = v["finished"]
    return Dossier(
        code=v["code"], procedure=proc, agency=agency, current_agency=agency,
        applicant_name=APPLICANT, form={}, channel=v["channel"], status=status,
        current_step=0, submitted_at=v["submitted"], received_at=v["received"],
        clock_started_at=clock, due_at=due, original_due_at=original, paused_at=paused_at,
        finished_at=finished, returned_at=v["returned"], ended_at=ended,
        supplement_count=len(v["supplements"]), paused_minutes=waited, fee=v["fee"],
        paid_online=v["paid_online"], digitised=v["digitised"],
        electronic_result=v["electronic_result"], reused_data=v["reused_data"],
        rating=v["rating"], rated_at=v["returned"] if v["rating"] else None,
        is_demo=False, created_at=now, updated_at=now,
    )


def import_dossiers(lines, *, actor=None, source: str = "") -> ImportResult:
    """Check every line, then (only when none is bad) write all in one transaction."""
    result = ImportResult()
    procs = {p.code: p for p in Procedure.objects.all()}
    agencies = {a.code: a for a in Agency.objects.all()}
    rows: list[tuple[int, object]] = []
    digest = hashlib.sha256()
    for n, line in enumerate(lines, 1):
        if isinstance(line, bytes):
            line = line.decode("utf-8")
        digest.update(line.encode("utf-8"))
        if not line.strip():
            continue
        result.lines += 1
        try:
            rows.append((n, json.loads(line)))
        except json.JSONDecodeError as exc:
            result.errors.append((n, f"không phải JSON hợp lệ ({exc.msg}, cột {exc.colno})"))
    codes = [r.get("code") for _n, r in rows if isinstance(r, dict)
             and isinstance(r.get("code"), str)]
    existing = set()
    for i in range(0, len(codes), 5000):
        existing |= set(Dossier.objects.filter(code__in=codes[i:i + 5000])
                        .values_list("code", flat=True))
    seen: set = set()
    values = []
    for n, row in rows:
        try:
            values.append(_check(row, procs, agencies, seen, existing))
        except _Bad as exc:
            result.errors.append((n, str(exc)))
    result.errors.sort()
    if result.errors:
        return result
    now = timezone.now()
    cals: dict = {}
    with transaction.atomic():
        for i in range(0, len(values), 5000):
            chunk = values[i:i + 5000]
            objs = Dossier.objects.bulk_create([_dossier(v, cals, now) for v in chunk])
            if connection.vendor != "postgresql" or any(o.pk is None for o in objs):
                ids = dict(Dossier.objects.filter(code__in=[o.code for o in objs])
                           .values_list("code", "id"))
                for o in objs:
                    o.pk = o.id = ids[o.code]
            Supplement.objects.bulk_create([
                Supplement(dossier=o, requested_at=req, completed_at=done,
                           items=["(dữ liệu chuyển đổi)"], note="Nhập từ hệ thống cũ")
                for o, v in zip(objs, chunk, strict=True) for req, done in v["supplements"]])
            DossierEvent.objects.bulk_create([
                DossierEvent(dossier=o, at=now, action="import", from_status=None,
                             to_status=o.status, actor_label="Chuyển đổi dữ liệu",
                             note=f"Nhập từ hệ thống cũ {source}".strip())
                for o in objs])
            OutboxEvent.objects.bulk_create([
                OutboxEvent(topic="dossier.import", aggregate_type="dossiers.dossier",
                            aggregate_id=o.code, payload={"status": o.status,
                                                          "from_status": None},
                            created_at=now) for o in objs])
            _reserve_codes(objs)
        audit.record(actor=actor, verb="dossier.import",
                     data={"count": len(values), "source": source,
                           "sha256": digest.hexdigest()})
    result.imported = len(values)
    return result


def _reserve_codes(objs) -> None:
    """A code in this platform's own shape (`{agency}-{yymmdd}-{n}`) reserves its ordinal,
    so that a dossier submitted later that day never gets the same code."""
    from .models import DossierSequence

    best: dict = {}
    for o in objs:
        m = CODE_RE.match(o.code)
        if m and m.group("agency") == o.agency.code:
            try:
                day = datetime.strptime(m.group("day"), "%y%m%d").date()
            except ValueError:
                continue
            key = (o.agency_id, day)
            best[key] = max(best.get(key, 0), int(m.group("n")))
    for (agency_id, day), n in best.items():
        seq, _ = DossierSequence.objects.select_for_update().get_or_create(
            agency_id=agency_id, day=day, defaults={"last": n})
        if seq.last < n:
            seq.last = n
            seq.save(update_fields=["last"])
