"""Demo data (dữ liệu mẫu): `cqs demo --dossiers N [--seed S] [--users-only]`.

Creates clearly labelled, made-up dossiers (`is_demo = True`, names from common Vietnamese
name parts, ID numbers starting with "000", form data "Dữ liệu mẫu") spread over the past
two years with the status mix of a real province, and the demo logins (password
``demo12345``, full names marked "(dữ liệu mẫu)").

How it stays fast (1,000,000 dossiers in well under a minute on PostgreSQL):
- every procedure/agency pair, every half-hour of the two years and every name is prepared
  once; the rows are plain tuples drawn from one ``random.Random(seed)``;
- deadlines come from one WorkCalendar (``add_working_minutes`` with the procedure's
  working time converted to minutes once, i.e. ``add_working_days``);
- the rows go in with one COPY on PostgreSQL (executemany on SQLite), in one transaction, so
  a crash leaves nothing behind; the audit chain gets one record for the whole run.

Dossier codes follow ``{agency.code}-{yymmdd}-{NNNN}`` (Circular 01/2018/TT-VPCP Art. 19)
with the VN date of submission. The ordinals of every (agency, day) used are reserved in
DossierSequence first (``last = last + k``, the same row lock `next_code()` takes), so real
submissions made later that day continue after the demo ones and a second run continues
after the first.

Steps and history events are written only for the dossiers an officer can still act on
(statuses 1, 2, 4, 5, 6) and for the demo citizen's own dossiers; finished demo dossiers
have no steps (the API shows an empty list).
"""

from __future__ import annotations

import json
import random
import sys
import time as _time
from bisect import bisect
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from chinhquyenso.catalog.models import Procedure, ProcessStep
from chinhquyenso.core import audit
from chinhquyenso.core.calendar import calendar_for
from chinhquyenso.core.errors import ValidationFailed
from chinhquyenso.core.text import fold
from chinhquyenso.core.workcalendar import VN_TZ
from chinhquyenso.directory.models import (
    APPLICANT_ROLES,
    AdministrativeUnit,
    Agency,
    AgencyKind,
    Role,
    User,
)
from chinhquyenso.directory.services import add_user

from .models import Dossier, Status

DEMO_PASSWORD = "demo12345"
DEMO_MARK = "(dữ liệu mẫu)"
WINDOW_DAYS = 730
CHUNK = 20_000

# --- demo users ------------------------------------------------------------------------

# (username, role, where, full name, id number); where: None, "commune", "stp"
DEMO_USERS = [
    ("congdan", Role.CITIZEN, None, "Nguyễn Văn An", "001099012345"),
    ("congdan2", Role.CITIZEN, None, "Trần Thị Bình", "001199054321"),
    ("doanhnghiep", Role.BUSINESS, None, "Công ty TNHH Dữ liệu Mẫu", "0201234567"),
    ("tiepnhan", Role.RECEIVER, "commune", "Phạm Thu Hà", ""),
    ("chuyenvien", Role.SPECIALIST, "commune", "Lê Minh Tuấn", ""),
    ("lanhdao", Role.LEADER, "commune", "Vũ Đức Thắng", ""),
    ("quantri", Role.AGENCY_ADMIN, "commune", "Đỗ Thị Lan", ""),
    ("ketoan", Role.ACCOUNTANT, "commune", "Lý Thị Thu", ""),
    ("tiepnhan_stp", Role.RECEIVER, "stp", "Hoàng Thị Mai", ""),
    ("chuyenvien_stp", Role.SPECIALIST, "stp", "Bùi Quang Huy", ""),
    ("lanhdao_stp", Role.LEADER, "stp", "Ngô Văn Sơn", ""),
    ("quantri_tinh", Role.PROVINCE_ADMIN, None, "Đặng Thị Hồng", ""),
    ("giamsat", Role.MONITOR, None, "Trịnh Văn Long", ""),
]
DEMO_WARD = "Phường Hồng Bàng"


def demo_commune_agency(province: int | None = None) -> Agency | None:
    """The People's Committee of Phường Hồng Bàng (province 31) or else the first commune."""
    province = province or settings.CQS_PROVINCE
    communes = Agency.objects.filter(kind=AgencyKind.COMMUNE, active=True).order_by("key")
    return (
        communes.filter(unit__name=DEMO_WARD, unit__parent__code=str(province)).first()
        or communes.first()
    )


def ensure_demo_users(*, actor=None, province: int | None = None) -> list[dict]:
    """Create or update the demo logins; return one row per login for the table."""
    commune = demo_commune_agency(province)
    stp = Agency.objects.filter(key="SO_TP").first()
    where = {"commune": commune, "stp": stp}
    rows = []
    for username, role, place, name, id_number in DEMO_USERS:
        agency = where[place] if place else None
        if place and agency is None:
            continue  # no such agency in this province
        add_user(
            actor=actor,
            username=username,
            role=role,
            agency=agency.code if agency else None,
            full_name=f"{name} {DEMO_MARK}",
            id_number=id_number,
        )
        rows.append(
            {
                "username": username,
                "role": Role(role).label,
                "agency": agency.name if agency else "",
                "full_name": name,
            }
        )
    # One password hash for all officers (hashing is deliberately slow): the password is
    # public. Citizens and businesses have no password here: they sign in through the
    # identity provider, whose demo identities (portal/idp.py) carry the same password.
    hashed = make_password(DEMO_PASSWORD)
    names = [r["username"] for r in rows]
    User.objects.filter(username__in=names).exclude(role__in=APPLICANT_ROLES).update(
        password=hashed)
    User.objects.filter(username__in=names, role__in=APPLICANT_ROLES).update(
        password=make_password(None))
    _demo_identities(hashed)
    return rows


# Made-up identity data of the demo citizens and business, known to the local identity
# provider only (the portal receives it in the ID token and marks it as verified).
DEMO_IDENTITIES = {
    "001099012345": ("1999-05-12", "Số 12 phố Minh Khai, phường Hồng Bàng, thành phố Hải Phòng",
                     "0912000001", "congdan@example.vn"),
    "001199054321": ("1999-11-02", "Số 5 đường Lạch Tray, phường Gia Viên, thành phố Hải Phòng",
                     "0912000002", "congdan2@example.vn"),
    "0201234567": (None, "Số 1 đường Điện Biên Phủ, phường Hồng Bàng, thành phố Hải Phòng",
                   "0912000003", "doanhnghiep@example.vn"),
}


def _demo_identities(hashed_password: str) -> None:
    from chinhquyenso.portal.models import IdpAccount

    for _u, role, _p, name, id_number in DEMO_USERS:
        if role not in APPLICANT_ROLES or id_number not in DEMO_IDENTITIES:
            continue
        born, address, phone, email = DEMO_IDENTITIES[id_number]
        IdpAccount.objects.update_or_create(id_number=id_number, defaults=dict(
            full_name=f"{name} {DEMO_MARK}", birth_date=date.fromisoformat(born) if born else None,
            address=address, phone=phone, email=email, password=hashed_password, is_demo=True,
            kind="business" if role == Role.BUSINESS else "citizen"))


# --- made-up people ----------------------------------------------------------------------

# Common name parts with rough frequencies; any full name built from them is made up.
SURNAMES = [
    (name, int(weight))
    for name, weight in (
        part.split(":")
        for part in (
            "Nguyễn:380 Trần:110 Lê:95 Phạm:70 Hoàng:35 Huỳnh:15 Vũ:35 Võ:10 Phan:45 Đặng:20 "
            "Bùi:20 Đỗ:14 Hồ:13 Ngô:13 Dương:10 Lý:5 Đinh:6 Đào:6 Mai:4 Trịnh:5 Lương:4 Tạ:3 "
            "Cao:4 Đoàn:5 Lâm:3 Hà:4"
        ).split()
    )
]
MIDDLE_M = "Văn Văn Đức Minh Quang Hữu Thanh Xuân Công Ngọc Hoàng Tuấn Duy Trọng Gia Bảo".split()
MIDDLE_F = "Thị Thị Thị Thu Ngọc Thanh Minh Phương Hồng Bảo Khánh Thùy Mai Diệu Kim".split()
GIVEN_M = (
    "An Bình Cường Dũng Đạt Hải Hiếu Hùng Huy Khánh Khoa Khôi Kiên Long Lộc Mạnh Minh Nam "
    "Nghĩa Phong Phúc Quân Quang Sơn Tài Thắng Thành Toàn Trung Tú Tuấn Việt Vinh Vũ"
).split()
GIVEN_F = (
    "Anh Châu Chi Dung Giang Hà Hạnh Hằng Hiền Hoa Huyền Hương Lan Liên Linh Loan Mai My "
    "Nga Ngân Ngọc Nhung Oanh Phương Quỳnh Tâm Thảo Thủy Trang Uyên Vân Yến"
).split()


def _name_pool(rng: random.Random, size: int) -> list[str]:
    surnames = [s for s, _w in SURNAMES]
    weights = [w for _s, w in SURNAMES]
    out = []
    for _ in range(size):
        surname = rng.choices(surnames, weights)[0]
        if rng.random() < 0.5:
            out.append(f"{surname} {rng.choice(MIDDLE_M)} {rng.choice(GIVEN_M)}")
        else:
            out.append(f"{surname} {rng.choice(MIDDLE_F)} {rng.choice(GIVEN_F)}")
    return out


def _sample_form(definition: list[dict]) -> dict:
    """Form data that says nothing real, valid against the procedure's form."""
    out = {}
    for f in definition or []:
        kind = f.get("type", "string")
        if kind == "boolean":
            value = False
        elif kind == "integer":
            value = 1
        elif kind == "date":
            value = "2000-01-01"
        elif kind == "email":
            value = "du-lieu-mau@example.invalid"
        elif kind == "phone":
            value = "0000000000"
        elif kind == "select":
            value = (f.get("options") or ["Dữ liệu mẫu"])[0]
        elif kind == "text":
            value = "Nội dung mẫu, không có thật."
        else:
            value = "Dữ liệu mẫu"
        if isinstance(value, str) and f.get("max_length"):
            value = value[: int(f["max_length"])]
        out[f["name"]] = value
    return out


# --- how much each procedure is used ------------------------------------------------------

# (keyword in the folded field + procedure name, share of all dossiers); civil status and
# residence are what people come for most.
CATEGORIES = [("ho tich", 34.0), ("cu tru", 24.0), ("chung thuc", 12.0), ("dat dai", 8.0)]
OTHER_SHARE = 22.0
BOOSTS = [
    ("khai sinh", 3.0),
    ("thuong tru", 3.0),
    ("tam tru", 3.0),
    ("ket hon", 2.0),
    ("ban sao", 2.5),
    ("trich luc", 2.0),
    ("khai tu", 1.5),
    ("ly lich tu phap", 2.0),
]

# Half-hour-of-day weights for submissions (index = hour*2 + half).
_HOUR_W = (
    [0.02] * 12  # 00:00–05:59
    + [0.05, 0.1, 0.3, 0.6]  # 06:00–07:59
    + [1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.7, 0.25]  # 08:00–11:59
    + [0.2, 0.2, 0.35, 0.8]  # 12:00–13:59
    + [1.0, 1.0, 1.0, 1.0, 0.9, 0.7]  # 14:00–16:59
    + [0.3, 0.25, 0.2, 0.2, 0.2, 0.2, 0.2, 0.18, 0.15, 0.12, 0.08, 0.06, 0.04, 0.03]
)
assert len(_HOUR_W) == 48

# Fates other than the ordinary course (per dossier).
P_REFUSED = 0.012
P_WITHDRAWN = 0.007
P_STOPPED = 0.008
P_STUCK_SUPPLEMENT = 0.012  # asked to supplement and never came back (status 5)
P_STUCK_PAYMENT = 0.01  # of fee-paying dossiers: never paid (status 6)
P_SUPPLEMENT = 0.07  # supplement asked and given during processing
P_LATE = 0.03
P_NOT_COLLECTED = 0.035  # finished, result never collected (stays status 9)
# Of returned dossiers, how many applicants rate the service (Decision 766, indicator 5.4)
# and how (made-up shares; a late result is rated "unsatisfied" more often).
P_RATED = 0.45
P_UNSATISFIED, P_UNSATISFIED_LATE, P_NORMAL = 0.02, 0.35, 0.12
ONLINE_SHARE = 0.70
POST_SHARE_IN_HOURS = 0.03


@dataclass
class _Proc:
    id: int
    code: str
    fee: int
    minutes: int
    form: str
    steps: list  # [(name, role, share Decimal, agency id or None)]
    cum: list  # cumulative shares (floats)
    n_steps: int
    pay_first: bool
    weight: float = 1.0
    category: float = 0.0
    agencies: list = field(default_factory=list)


@dataclass
class DemoResult:
    count: int
    seed: int
    seconds: float
    statuses: Counter
    late: int
    with_steps: int
    citizen: int
    phases: dict = field(default_factory=dict)  # phase → seconds


# --- the generator ----------------------------------------------------------------------

DOSSIER_COLUMNS = (
    "id",
    "code",
    "procedure_id",
    "agency_id",
    "current_agency_id",
    "applicant_user_id",
    "applicant_name",
    "applicant_id_number",
    "applicant_phone",
    "applicant_email",
    "applicant_address",
    "form",
    "channel",
    "status",
    "resume_status",
    "current_step",
    "submitted_at",
    "received_at",
    "clock_started_at",
    "due_at",
    "original_due_at",
    "paused_at",
    "finished_at",
    "returned_at",
    "ended_at",
    "supplement_count",
    "paused_minutes",
    "fee",
    "paid_online",
    "digitised",
    "electronic_result",
    "reused_data",
    "rating",
    "rated_at",
    "is_demo",
    "created_at",
    "updated_at",
)
STEP_COLUMNS = (
    "dossier_id",
    "position",
    "name",
    "role",
    "agency_id",
    "share",
    "started_at",
    "due_at",
    "finished_at",
    "actor_id",
    "note",
)
EVENT_COLUMNS = (
    "dossier_id",
    "at",
    "action",
    "from_status",
    "to_status",
    "actor_id",
    "actor_label",
    "note",
    "data",
)


def _check_columns() -> None:
    """Fail clearly if the model gained a required column this generator does not fill."""
    missing = [
        f.column
        for f in Dossier._meta.concrete_fields
        if f.column not in DOSSIER_COLUMNS and not f.null and not f.has_db_default()
    ]
    if missing:
        raise RuntimeError(f"demo.py: cột chưa được điền: {', '.join(missing)}")


class _Writer:
    """Bulk rows into a table: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self):
        self.pg = connection.vendor == "postgresql"
        connection.ensure_connection()
        self.raw = connection.connection
        self.ts = _timestamp_formatter(self.pg)

    def rows(self, table: str, columns: tuple, rows) -> None:
        cols = ", ".join(columns)
        if self.pg:
            with self.raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
                for r in rows:
                    cp.write_row(r)
        else:
            marks = ", ".join("?" * len(columns))
            self.raw.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)

    def stream(self, table: str, columns: tuple):
        """A context manager yielding a `write(list_of_rows)` function."""
        writer = self

        class _Stream:
            def __enter__(self):
                cols = ", ".join(columns)
                if writer.pg:
                    self.cur = writer.raw.cursor()
                    self.cm = self.cur.copy(f"COPY {table} ({cols}) FROM STDIN")
                    cp = self.cm.__enter__()
                    wr = cp.write_row

                    def write(rows):
                        for r in rows:
                            wr(r)

                    return write
                marks = ", ".join("?" * len(columns))
                sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"
                return lambda rows: writer.raw.executemany(sql, rows)

            def __exit__(self, *exc):
                if writer.pg:
                    try:
                        self.cm.__exit__(*exc)
                    finally:
                        self.cur.close()
                return False

        return _Stream()


_UTC_OFFSET = timedelta(hours=7)  # Asia/Ho_Chi_Minh has had no DST since 1975


def _timestamp_formatter(pg: bool):
    """Text for a VN-local aware datetime, built from cached pieces (several times faster
    than isoformat() or psycopg's datetime dumper, which matters at a million rows × eight
    timestamps). PostgreSQL gets local time with "+07"; SQLite gets naive UTC text, the way
    Django stores datetimes there."""
    days: dict[int, str] = {}
    hm = [f" {m // 60:02d}:{m % 60:02d}:" for m in range(1440)]
    ss = [f"{s:02d}+07" if pg else f"{s:02d}" for s in range(60)]
    shift = timedelta(0) if pg else _UTC_OFFSET

    def ts(dt):
        if dt is None:
            return None
        if shift:
            dt = dt - shift
        o = dt.toordinal()
        d = days.get(o)
        if d is None:
            d = days[o] = date.fromordinal(o).isoformat()
        return d + hm[dt.hour * 60 + dt.minute] + ss[dt.second]

    return ts


def _load_procedures(rng: random.Random) -> tuple[list[_Proc], dict]:
    agencies = {a.pk: a for a in Agency.objects.filter(active=True)}
    by_key = {a.key: a.pk for a in agencies.values()}
    procs = list(
        Procedure.objects.filter(active=True)
        .select_related("field")
        .prefetch_related("agencies")
        .order_by("code")
    )
    steps: dict[int, list] = {}
    for s in ProcessStep.objects.order_by("procedure_id", "position"):
        steps.setdefault(s.procedure_id, []).append(s)
    cal = calendar_for(None)
    out = []
    for p in procs:
        ags = [a.pk for a in p.agencies.all() if a.pk in agencies]
        if not ags:
            continue
        psteps = steps.get(p.pk) or []
        cum, acc = [], Decimal(0)
        for s in psteps:
            acc += s.share
            cum.append(float(acc))
        text = fold(f"{p.field.name} {p.name}")
        share = OTHER_SHARE
        for kw, w in CATEGORIES:
            if kw in text:
                share = w
                break
        boost = 1.0
        for kw, w in BOOSTS:
            if kw in fold(p.name):
                boost = max(boost, w)
        out.append(
            _Proc(
                id=p.pk,
                code=p.code,
                fee=int(p.fee),
                minutes=cal.minutes_for_days(p.working_days),
                form=json.dumps(_sample_form(p.form), ensure_ascii=False),
                steps=[(s.name, s.role, s.share, by_key.get(s.agency_key)) for s in psteps],
                cum=cum,
                n_steps=len(psteps),
                pay_first=p.payment_before_processing,
                weight=boost * rng.uniform(0.5, 1.5),
                category=share,
                agencies=ags,
            )
        )
    # Each category gets its share, divided among its procedures by their weights.
    totals = Counter()
    for p in out:
        totals[p.category] += p.weight
    for p in out:
        p.weight = p.category * p.weight / totals[p.category]
    return out, agencies


def _time_slots(cal, now: datetime, rng: random.Random):
    """Half-hours of the last WINDOW_DAYS days with their weights: more on working days
    and within working hours, a slow growth of use over time, none after `now`."""
    start = now - timedelta(days=WINDOW_DAYS)
    first = start.replace(minute=30 if start.minute >= 30 else 0, second=0, microsecond=0)
    periods = [(s.hour * 60 + s.minute, e.hour * 60 + e.minute) for s, e in cal.periods]
    secs, lens, inside, cum = [], [], [], []
    total = 0.0
    t = first
    day_cache: dict[date, tuple[bool, float]] = {}
    span = (now - first).total_seconds()
    step = timedelta(minutes=30)
    while t < now:
        d = t.date()
        info = day_cache.get(d)
        if info is None:
            working = cal.is_working_day(d)
            wd = d.weekday()
            weight = 1.0 if working else (0.12 if wd == 5 else 0.06 if wd == 6 else 0.04)
            info = day_cache[d] = (working, weight)
        working, dw = info
        m = t.hour * 60 + t.minute
        in_hours = working and any(s <= m and m + 30 <= e for s, e in periods)
        lo = max(t, start)
        hi = min(t + step, now)
        length = int((hi - lo).total_seconds())
        if length > 0:
            growth = 0.8 + 0.4 * (t - first).total_seconds() / span
            w = dw * _HOUR_W[m // 30] * growth * length / 1800
            total += w
            secs.append(lo)
            lens.append(length)
            inside.append(in_hours)
            cum.append(total)
        t += step
    return secs, lens, inside, cum


def generate_dossiers(
    n: int,
    *,
    seed: int | None = None,
    progress: bool = True,
    now: datetime | None = None,
    citizen: User | None = None,
    record_audit: bool = True,
) -> DemoResult:
    """Add `n` demo dossiers. One transaction; see the module docstring."""
    if n < 0:
        raise ValidationFailed("Số hồ sơ phải không âm.")
    _check_columns()
    t0 = _time.perf_counter()
    phases: dict[str, float] = {}
    mark = [t0]

    def phase(name: str) -> None:
        t = _time.perf_counter()
        phases[name] = t - mark[0]
        mark[0] = t

    if seed is None:
        seed = random.SystemRandom().randrange(1, 2**31)
    rng = random.Random(seed)
    now = (now or timezone.now()).astimezone(VN_TZ).replace(second=0, microsecond=0)
    procs, agencies = _load_procedures(rng)
    if n and not procs:
        raise ValidationFailed(
            "Chưa có thủ tục nào gắn với cơ quan tiếp nhận; hãy chạy «cqs init» trước."
        )
    if citizen is None:
        citizen = User.objects.filter(username="congdan").first()
    statuses: Counter = Counter()
    if n == 0:
        return DemoResult(0, seed, 0.0, statuses, 0, 0, 0)

    # Calendars: one per distinct set of working hours (in practice one).
    cals: dict = {}
    agency_cal = {}
    for pk, a in agencies.items():
        hours = tuple(map(tuple, a.working_hours or []))
        if hours not in cals:
            cals[hours] = calendar_for(a)
        agency_cal[pk] = cals[hours]
    base_cal = calendar_for(None)

    # Communes (applicants' addresses) with made-up "busyness" weights.
    province = AdministrativeUnit.objects.filter(code=str(settings.CQS_PROVINCE)).first()
    prov_name = province.name if province else ""
    commune_agencies = [a for a in agencies.values() if a.kind == AgencyKind.COMMUNE]
    units = {u.code: u.name for u in AdministrativeUnit.objects.exclude(kind="province")}
    commune_w = {a.pk: rng.lognormvariate(0, 0.5) for a in commune_agencies}
    unit_names = sorted(set(units.values())) or ["(không rõ)"]
    addresses = {
        u: [
            f"Tổ dân phố số {k}, {u}" + (f", {prov_name}" if prov_name else "")
            for k in range(1, 13)
        ]
        for u in unit_names
    }

    # (procedure, agency) pairs and their weights.
    pair_proc, pair_agency, pair_cum = [], [], []
    total = 0.0
    for pi, p in enumerate(procs):
        ws = [commune_w.get(a, 1.0) for a in p.agencies]
        s = sum(ws)
        for a, w in zip(p.agencies, ws, strict=True):
            total += p.weight * w / s
            pair_proc.append(pi)
            pair_agency.append(a)
            pair_cum.append(total)
    npairs = len(pair_proc)
    ag_ids = sorted(agencies)
    ag_index = {pk: i for i, pk in enumerate(ag_ids)}
    pair_ag_i = [ag_index[a] for a in pair_agency]

    # Draw the submission moments and the pairs, count per (agency, day), sort by time.
    phase("prepare")
    slots, slot_len, slot_in, slot_cum = _time_slots(base_cal, now, rng)
    local0 = datetime(2000, 1, 1, tzinfo=VN_TZ)
    slot_sec = [int((s - local0).total_seconds()) for s in slots]
    slot_idx = rng.choices(range(len(slots)), cum_weights=slot_cum, k=n)
    pairs = rng.choices(range(npairs), cum_weights=pair_cum, k=n)
    rnd = rng.random
    keys = [0] * n
    per_day: dict[int, int] = {}
    DAYS = 1 << 20
    for i in range(n):
        si = slot_idx[i]
        sec = slot_sec[si] + int(rnd() * slot_len[si])
        pr = pairs[i]
        keys[i] = ((sec << 1) | slot_in[si]) * npairs + pr
        k = pair_ag_i[pr] * DAYS + sec // 86400
        per_day[k] = per_day.get(k, 0) + 1
    del slot_idx, pairs
    keys.sort()
    phase("draw")

    # Applicants of the demo citizen: a few hundred dossiers of commune procedures.
    n_citizen = min(300, max(1, n // 20)) if citizen is not None else 0
    citizen_rows = set(rng.sample(range(n), n_citizen)) if n_citizen else set()

    names = _name_pool(rng, 20_000)
    day0 = local0.date()
    day_str: dict[int, str] = {}
    ag_code = [agencies[pk].code for pk in ag_ids]
    ag_unit_name = [units.get(agencies[pk].unit_id) for pk in ag_ids]
    unit_cum, acc = [], 0.0
    commune_names = [units.get(a.unit_id, unit_names[0]) for a in commune_agencies]
    for a in commune_agencies:
        acc += commune_w[a.pk]
        unit_cum.append(acc)
    if not commune_names:
        commune_names, unit_cum = unit_names, list(range(1, len(unit_names) + 1))
    p_online_in = max(0.0, min(1.0, _online_share_in_hours(slot_in, slot_cum)))

    writer = _Writer()
    ts = writer.ts
    late = 0
    detailed: list[tuple] = []  # rows needing steps/events
    from tqdm import tqdm

    bar = tqdm(
        total=n,
        unit=" hồ sơ",
        file=sys.stderr,
        disable=not progress,
        desc="Hồ sơ mẫu",
        mininterval=0.5,
    )
    with transaction.atomic():
        bases = _reserve(per_day, ag_ids, day0, DAYS, writer.pg)
        phase("sequences")
        rebuild = _BulkLoad(n) if writer.pg else None
        if rebuild is not None:
            rebuild.begin()
        ids = _allocate_ids(n, writer.pg, locked=rebuild is not None)
        phase("ids")
        nxt = dict(bases)
        with writer.stream("dossiers_dossier", DOSSIER_COLUMNS) as write:
            gen = _RowMaker(
                rng=rng,
                now=now,
                procs=procs,
                agency_cal=agency_cal,
                ts=ts,
                names=names,
                addresses=addresses,
                commune_names=commune_names,
                unit_cum=unit_cum,
                p_online_in=p_online_in,
                citizen=citizen,
                pg=writer.pg,
            )
            batch = []
            for i, key in enumerate(keys):
                sec2, pr = divmod(key, npairs)
                sec = sec2 >> 1
                agi = pair_ag_i[pr]
                day = sec // 86400
                k = agi * DAYS + day
                o = nxt[k] + 1
                nxt[k] = o
                ds = day_str.get(day)
                if ds is None:
                    ds = day_str[day] = (day0 + timedelta(days=day)).strftime("%y%m%d")
                row = gen.row(
                    ids[i],
                    f"{ag_code[agi]}-{ds}-{o:04d}",
                    procs[pair_proc[pr]],
                    pair_agency[pr],
                    ag_unit_name[agi],
                    local0 + timedelta(seconds=sec),
                    sec2 & 1,
                    i in citizen_rows,
                )
                batch.append(row)
                if len(batch) >= CHUNK:
                    write(batch)
                    bar.update(len(batch))
                    batch = []
            if batch:
                write(batch)
                bar.update(len(batch))
        bar.close()
        phase("dossiers")
        if rebuild is not None and rebuild.dropped:
            rebuild.end()
            phase("indexes")
        statuses, late, detailed = gen.statuses, gen.late, gen.detailed
        _write_details(writer, detailed, gen)
        phase("steps")
        if record_audit:
            audit.record(verb="demo.generate", data={"dossiers": n, "seed": seed})
    phase("commit")
    if writer.pg and n >= 50_000:
        with connection.cursor() as cur:
            cur.execute("ANALYZE dossiers_dossier")
        phase("analyze")
    return DemoResult(
        n, seed, _time.perf_counter() - t0, statuses, late, len(detailed), len(citizen_rows), phases
    )


def _online_share_in_hours(slot_in, slot_cum) -> float:
    """The online share among in-hours submissions so that ONLINE_SHARE holds overall
    (outside working hours everything is online)."""
    inside_w, prev = 0.0, 0.0
    for flag, c in zip(slot_in, slot_cum, strict=True):
        if flag:
            inside_w += c - prev
        prev = c
    total = slot_cum[-1] if slot_cum else 1.0
    share_in = inside_w / total if total else 1.0
    if share_in <= 0:
        return 1.0
    return (ONLINE_SHARE - (1 - share_in)) / share_in


def _reserve(per_day: dict, ag_ids: list, day0: date, days_mul: int, pg: bool) -> dict:
    """Reserve the ordinals: `last = last + k` for every (agency, day), as one statement on
    PostgreSQL; returns {key: last ordinal before this run}."""
    keys = list(per_day)
    agency = [ag_ids[k // days_mul] for k in keys]
    day = [day0 + timedelta(days=k % days_mul) for k in keys]
    count = [per_day[k] for k in keys]
    table = "dossiers_dossiersequence"
    got: dict = {}
    with connection.cursor() as cur:
        if pg:
            cur.execute(
                f"INSERT INTO {table} (agency_id, day, last) "
                "SELECT * FROM unnest(%s::bigint[], %s::date[], %s::integer[]) "
                f"ON CONFLICT (agency_id, day) DO UPDATE SET last = {table}.last + EXCLUDED.last "
                "RETURNING agency_id, day, last",
                [agency, day, count],
            )
            for a, d, last in cur.fetchall():
                got[(a, d)] = last
        else:
            cur.executemany(
                f"INSERT INTO {table} (agency_id, day, last) VALUES (%s, %s, %s) "
                f"ON CONFLICT (agency_id, day) DO UPDATE SET last = {table}.last + excluded.last",
                list(zip(agency, [d.isoformat() for d in day], count, strict=True)),
            )
            cur.execute(
                f"SELECT agency_id, day, last FROM {table} WHERE day >= %s", [min(day).isoformat()]
            )
            for a, d, last in cur.fetchall():
                got[(a, d if isinstance(d, date) else date.fromisoformat(d))] = last
    return {k: got[(a, d)] - c for k, a, d, c in zip(keys, agency, day, count, strict=True)}


def _allocate_ids(n: int, pg: bool, locked: bool = False) -> list[int] | range:
    """Primary keys for the new rows (so steps can point at them without a look-up)."""
    with connection.cursor() as cur:
        if pg and locked:
            # The table is locked against other writers: one contiguous block.
            cur.execute("SELECT pg_get_serial_sequence('dossiers_dossier', 'id')")
            seq = cur.fetchone()[0]
            cur.execute("SELECT nextval(%s)", [seq])
            first = cur.fetchone()[0]
            if n > 1:
                cur.execute("SELECT setval(%s, %s)", [seq, first + n - 1])
            return range(first, first + n)
        if pg:
            cur.execute(
                "SELECT nextval(pg_get_serial_sequence('dossiers_dossier', 'id')) "
                "FROM generate_series(1, %s)",
                [n],
            )
            return [r[0] for r in cur.fetchall()]
        # SQLite: the write lock is held (BEGIN IMMEDIATE), so max + 1 … is ours.
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM dossiers_dossier")
        top = cur.fetchone()[0]
        cur.execute("SELECT seq FROM sqlite_sequence WHERE name = 'dossiers_dossier'")
        row = cur.fetchone()
        top = max(top, row[0] if row else 0)
        return list(range(top + 1, top + 1 + n))


class _BulkLoad:
    """PostgreSQL, large runs: load the dossier table without maintaining its secondary
    indexes, unique and foreign-key constraints row by row, then rebuild them (one sort per
    index and one join per foreign key are several times faster than a million index
    insertions and a million deferred trigger checks at commit). All of it happens in the
    caller's transaction: a crash rolls the DDL back together with the rows. The table is
    locked (ACCESS EXCLUSIVE) until commit, so large demo runs belong on an idle database.

    Used when the run adds at least BULK_MIN rows and at least as many as the table holds
    (otherwise rebuilding the existing rows' indexes would cost more than it saves)."""

    BULK_MIN = 100_000
    TABLE = "dossiers_dossier"

    def __init__(self, n: int):
        self.n = n
        self.dropped = False
        self.indexes: list[str] = []
        self.constraints: list[tuple[str, str]] = []

    def begin(self) -> None:
        if self.n < self.BULK_MIN:
            return
        q = connection.ops.quote_name
        t = self.TABLE
        with connection.cursor() as cur:
            # Run the foreign-key checks still pending in this transaction now: PostgreSQL
            # refuses ALTER TABLE on a table with pending trigger events.
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute(f"LOCK TABLE {t} IN ACCESS EXCLUSIVE MODE")
            cur.execute(f"SELECT count(*) FROM {t}")
            if cur.fetchone()[0] > self.n:
                return
            cur.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype IN ('f', 'u') "
                "ORDER BY contype DESC, conname",  # unique first, then foreign keys
                [t],
            )
            self.constraints = cur.fetchall()
            cur.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
                "FROM pg_index i WHERE i.indrelid = %s::regclass AND NOT i.indisprimary "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = "
                "i.indexrelid AND c.conrelid = i.indrelid) ORDER BY 1",
                [t],
            )
            rows = cur.fetchall()
            self.indexes = [d for _n, d in rows]
            for name, _d in self.constraints:
                cur.execute(f"ALTER TABLE {t} DROP CONSTRAINT {q(name)}")
            for name, _d in rows:
                cur.execute(f"DROP INDEX {name}")
        self.dropped = True

    def end(self) -> None:
        q = connection.ops.quote_name
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for name, definition in self.constraints:
                cur.execute(f"ALTER TABLE {self.TABLE} ADD CONSTRAINT {q(name)} {definition}")
            for definition in self.indexes:
                cur.execute(definition)


class S:
    """Status codes as plain ints (the COPY writer dumps ints, not enums)."""

    NEW, RECEIVED, REFUSED, IN_PROGRESS = (
        int(Status.NEW),
        int(Status.RECEIVED),
        int(Status.REFUSED),
        int(Status.IN_PROGRESS),
    )
    WAITING_SUPPLEMENT, WAITING_PAYMENT = (
        int(Status.WAITING_SUPPLEMENT),
        int(Status.WAITING_PAYMENT),
    )
    WITHDRAWN, STOPPED = int(Status.WITHDRAWN), int(Status.STOPPED)
    FINISHED, RETURNED = int(Status.FINISHED), int(Status.RETURNED)


ACTIVE = {S.NEW, S.RECEIVED, S.IN_PROGRESS, S.WAITING_SUPPLEMENT, S.WAITING_PAYMENT}


class _RowMaker:
    """One dossier's life, as a row tuple. Times are aware datetimes in Asia/Ho_Chi_Minh."""

    def __init__(
        self,
        *,
        rng,
        now,
        procs,
        agency_cal,
        ts,
        names,
        addresses,
        commune_names,
        unit_cum,
        p_online_in,
        citizen,
        pg,
    ):
        self.rng, self.now, self.ts = rng, now, ts
        self.agency_cal = agency_cal
        self.names, self.addresses = names, addresses
        self.commune_names, self.unit_cum = commune_names, unit_cum
        self.p_online_in = p_online_in
        self.citizen = citizen
        self.t, self.f = (True, False) if pg else (1, 0)
        self.statuses = Counter()
        self.late = 0
        self.detailed = []
        self.citizen_name = citizen.full_name.replace(DEMO_MARK, "").strip() if citizen else ""

    def _address(self, unit_name):
        rng = self.rng
        if unit_name is None:
            i = bisect(self.unit_cum, rng.random() * self.unit_cum[-1])
            unit_name = self.commune_names[min(i, len(self.commune_names) - 1)]
        pool = self.addresses.get(unit_name)
        if pool is None:
            return f"{unit_name}"
        return pool[int(rng.random() * len(pool))]

    def row(self, pk, code, p: _Proc, agency_id, unit_name, sub, inside, mine):
        rng = self.rng
        rnd = rng.random
        now = self.now
        cal = self.agency_cal[agency_id]
        add = cal.add_working_minutes
        T, F = self.t, self.f

        # channel: outside working hours only online
        if inside:
            u = rnd()
            channel = (
                "online"
                if u < self.p_online_in
                else "post"
                if u > 1 - POST_SHARE_IN_HOURS
                else "counter"
            )
        else:
            channel = "online"
        online = channel == "online"

        status = S.RETURNED
        resume = None
        received = clock = due = original_due = paused_at = None
        finished = returned = ended = None
        supplements = paused_minutes = 0
        paid_online = F
        electronic = F
        rating, rated_at = "", None
        step = p.n_steps or 1
        last = sub
        total = p.minutes

        # reception: at the counter at once; online/post within the next working hours
        rec = sub if channel == "counter" else add(sub, 15 + int(rnd() * 420))
        fate = rnd()
        if rec > now:
            status, step = S.NEW, 1
        elif fate < P_REFUSED:
            status, ended, last, step = S.REFUSED, rec, rec, 1
        else:
            received = rec
            clock = cal.next_working_moment(rec)
            due = original_due = add(clock, total)
            fate -= P_REFUSED
            kind = "normal"
            if fate < P_WITHDRAWN:
                kind = "withdrawn"
            elif fate < P_WITHDRAWN + P_STOPPED:
                kind = "stopped"
            elif fate < P_WITHDRAWN + P_STOPPED + P_STUCK_SUPPLEMENT:
                kind = "stuck_supplement"
            elif p.fee and rnd() < P_STUCK_PAYMENT:
                kind = "stuck_payment"
            is_late = kind == "normal" and rnd() < P_LATE
            if is_late:
                used = max(int(total * (1.02 + 0.6 * rnd())), total + 30 + int(rnd() * 900))
            else:
                used = int(total * (0.15 + 0.82 * rnd() ** 0.8))
            # supplement asked (and given) during processing; the pause does not count
            pause_at = resume_at = None
            wait = 0
            if kind == "stuck_supplement" or (kind == "normal" and rnd() < P_SUPPLEMENT):
                supplements = 1
                pause_at = add(clock, int(used * (0.1 + 0.5 * rnd())))
                if kind == "normal":
                    wait = cal.day_minutes * (1 + int(rnd() * 8)) + int(rnd() * 200)
                    resume_at = add(pause_at, wait)
            # payment (fee): requested early, paid within a working day or so
            pay_at = pay_done = None
            if p.fee:
                pay_at = add(clock, int(used * (0.02 if p.pay_first else 0.1 + 0.3 * rnd())))
                if kind != "stuck_payment":
                    pay_done = add(pay_at, 10 + int(rnd() * (120 if online else 900)))
                if pay_done is not None and pay_done <= now and online and rnd() < 0.85:
                    paid_online = T
            end = add(clock, used + wait)
            if kind == "withdrawn":
                end = add(clock, int(used * (0.05 + 0.5 * rnd())))
            shifted_due = add(due, wait) if wait else due

            if kind == "stuck_supplement" and pause_at <= now:
                status, paused_at, last = S.WAITING_SUPPLEMENT, pause_at, pause_at
                resume, step = self._progress_status(cal, clock, pause_at, p)
            elif kind == "stuck_payment" and pay_at <= now:
                status, last = S.WAITING_PAYMENT, pay_at
                resume, step = self._progress_status(cal, clock, pay_at, p)
            elif end > now or kind in ("stuck_supplement", "stuck_payment"):
                # still being processed
                if (
                    pause_at is not None
                    and pause_at <= now
                    and (resume_at is None or resume_at > now)
                ):
                    status, paused_at, last = S.WAITING_SUPPLEMENT, pause_at, pause_at
                    resume, step = self._progress_status(cal, clock, pause_at, p)
                elif pay_at is not None and pay_at <= now and (pay_done is None or pay_done > now):
                    status, last = S.WAITING_PAYMENT, pay_at
                    resume, step = self._progress_status(cal, clock, pay_at, p)
                else:
                    status, step = self._progress_status(
                        cal,
                        clock,
                        now,
                        p,
                        wait_done=(wait if resume_at is not None and resume_at <= now else 0),
                    )
                    last = max(x for x in (rec, resume_at, pay_done) if x is not None and x <= now)
                if resume_at is not None and resume_at <= now:
                    due, paused_minutes = shifted_due, wait
            else:
                due, paused_minutes = shifted_due, (wait if resume_at else 0)
                ended = last = end
                if kind == "withdrawn":
                    status = S.WITHDRAWN
                    step = max(1, min(2, p.n_steps))
                elif kind == "stopped":
                    status = S.STOPPED
                    step = max(1, p.n_steps - 1)
                else:
                    finished = end
                    if end > due:
                        self.late += 1
                    electronic = T if rnd() < (0.7 if online else 0.25) else F
                    ret = add(
                        end,
                        (5 + int(rnd() * 120))
                        if electronic == T and online
                        else (60 + int(rnd() * 1300)),
                    )
                    if ret <= now and rnd() >= P_NOT_COLLECTED:
                        status, returned, last = S.RETURNED, ret, ret
                        if rnd() < P_RATED:
                            u = rnd()
                            bad = P_UNSATISFIED_LATE if end > due else P_UNSATISFIED
                            rating = ("unsatisfied" if u < bad else "normal"
                                      if u < bad + P_NORMAL else "satisfied")
                            rated_at = ret
                    else:
                        status = S.FINISHED
        self.statuses[status] += 1

        if mine and self.citizen is not None:
            applicant = self.citizen.pk
            name, id_number = self.citizen_name, self.citizen.id_number
            phone = "0000012345"
        else:
            applicant = None
            name = self.names[int(rnd() * len(self.names))]
            id_number = f"000{int(rnd() * 1e9):09d}"
            phone = f"0000{int(rnd() * 1e6):06d}" if rnd() < 0.8 else ""
        ts = self.ts
        row = (
            pk,
            code,
            p.id,
            agency_id,
            agency_id,
            applicant,
            name,
            id_number,
            phone,
            "",
            self._address(unit_name),
            p.form,
            channel,
            status,
            resume,
            step,
            ts(sub),
            ts(received),
            ts(clock),
            ts(due),
            ts(original_due),
            ts(paused_at),
            ts(finished),
            ts(returned),
            ts(ended),
            supplements,
            paused_minutes,
            p.fee,
            paid_online,
            T if online or rnd() < 0.55 else F,
            electronic,
            T if rnd() < (0.35 if online else 0.12) else F,
            rating,
            ts(rated_at),
            T,
            ts(sub),
            ts(last),
        )
        if status in ACTIVE or mine:
            self.detailed.append(
                (
                    pk,
                    p,
                    agency_id,
                    status,
                    resume,
                    step,
                    sub,
                    received,
                    clock,
                    due,
                    paused_at,
                    ended,
                    finished,
                    returned,
                    applicant,
                    name,
                )
            )
        return row

    def _progress_status(self, cal, clock, at, p: _Proc, wait_done: int = 0):
        """(status, current step) of a dossier in processing at `at`: step 2 (just
        received) or a later step before the last (the result desk)."""
        n = p.n_steps
        if n < 3:
            return S.RECEIVED, min(2, max(1, n))
        done = max(0, cal.working_minutes_between(clock, at) - wait_done)
        frac = done / p.minutes if p.minutes else 1.0
        pos = 1
        while pos < n and frac >= p.cum[pos - 1]:
            pos += 1
        pos = max(2, min(pos, n - 1))
        return (S.RECEIVED if pos == 2 else S.IN_PROGRESS), pos


def _write_details(writer: _Writer, detailed: list, gen: _RowMaker) -> None:
    """Steps and history for the dossiers that are still open or belong to the citizen."""
    ts = writer.ts
    steps, events = [], []
    for (
        pk,
        p,
        agency_id,
        status,
        resume,
        cur,
        sub,
        received,
        clock,
        due,
        paused_at,
        ended,
        finished,
        returned,
        applicant,
        name,
    ) in detailed:
        cal = gen.agency_cal[agency_id]
        label = f"{name} {DEMO_MARK}"
        events.append(
            (pk, ts(sub), "submit", None, S.NEW, applicant, label, "", '{"channel": "demo"}')
        )
        open_ = status in ACTIVE
        # Steps before the current one are done, each by its planned due time at the latest
        # (and not after the work stopped); the current one is open unless the dossier ended.
        stop = (paused_at or gen.now) if open_ else (finished or ended)
        prev = received
        for pos, (sname, role, share, sag) in enumerate(p.steps, 1):
            start = fin = step_due = None
            if clock is not None:
                step_due = (
                    due
                    if pos == p.n_steps
                    else cal.add_working_minutes(clock, int(p.minutes * p.cum[pos - 1]))
                )
            if pos == 1:
                start = sub
                fin = received if received is not None else (None if open_ else ended)
            elif received is not None and pos <= cur:
                start = prev
                if pos < cur:
                    fin = max(start, min(step_due, stop))
                elif status == S.RETURNED:
                    fin = returned
                elif status in (S.WITHDRAWN, S.STOPPED):
                    fin = ended
                prev = fin
            steps.append(
                (
                    pk,
                    pos,
                    sname,
                    role,
                    sag or agency_id,
                    str(share),
                    ts(start),
                    ts(step_due),
                    ts(fin),
                    None,
                    "",
                )
            )
        if received is not None:
            events.append(
                (pk, ts(received), "receive", S.NEW, S.RECEIVED, None, "Bộ phận một cửa", "", "{}")
            )
        if status == S.WAITING_SUPPLEMENT and paused_at is not None:
            events.append(
                (
                    pk,
                    ts(paused_at),
                    "request-supplement",
                    resume or S.RECEIVED,
                    S.WAITING_SUPPLEMENT,
                    None,
                    "Chuyên viên",
                    "Bổ sung giấy tờ (dữ liệu mẫu)",
                    "{}",
                )
            )
        if status == S.REFUSED:
            events.append(
                (
                    pk,
                    ts(ended),
                    "refuse",
                    S.NEW,
                    S.REFUSED,
                    None,
                    "Bộ phận một cửa",
                    "Hồ sơ không đủ điều kiện (dữ liệu mẫu)",
                    "{}",
                )
            )
        elif status in (S.FINISHED, S.RETURNED):
            events.append(
                (pk, ts(finished), "approve", S.IN_PROGRESS, S.FINISHED, None, "Lãnh đạo", "", "{}")
            )
            if returned is not None:
                events.append(
                    (
                        pk,
                        ts(returned),
                        "return-result",
                        S.FINISHED,
                        S.RETURNED,
                        None,
                        "Bộ phận một cửa",
                        "",
                        "{}",
                    )
                )
        elif status == S.WITHDRAWN:
            events.append(
                (pk, ts(ended), "withdraw", S.RECEIVED, S.WITHDRAWN, applicant, label, "", "{}")
            )
        elif status == S.STOPPED:
            events.append(
                (
                    pk,
                    ts(ended),
                    "reject",
                    S.IN_PROGRESS,
                    S.STOPPED,
                    None,
                    "Lãnh đạo",
                    "Không đủ điều kiện giải quyết (dữ liệu mẫu)",
                    "{}",
                )
            )
    if steps:
        writer.rows("dossiers_dossierstep", STEP_COLUMNS, steps)
    if events:
        writer.rows("dossiers_dossierevent", EVENT_COLUMNS, events)
