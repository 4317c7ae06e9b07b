"""Read side of dossiers. Every dossier query goes through `dossiers_visible_to`, which
narrows to what the caller may see."""

from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from django.db.models import F, Q, QuerySet

from chinhquyenso.core import throttle
from chinhquyenso.directory.models import APPLICANT_ROLES, OFFICER_ROLES, PROVINCE_ROLES

from .models import OPEN_STATUSES, Dossier


def _reach(user) -> str:
    """The one rule of who sees which dossiers: "all" (province roles), "own" (applicants:
    their own dossiers), "agency" (officers: dossiers their agency received or holds now),
    "none" (anyone else, anonymous included). Both the query and the object check use it."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return "none"
    if user.role in PROVINCE_ROLES:
        return "all"
    if user.role in APPLICANT_ROLES:
        return "own"
    if user.role in OFFICER_ROLES and user.agency_id:
        return "agency"
    return "none"


def dossiers_visible_to(user) -> QuerySet[Dossier]:
    qs = Dossier.objects.all()
    reach = _reach(user)
    if reach == "all":
        return qs
    if reach == "own":
        return qs.filter(applicant_user=user)
    if reach == "agency":
        return qs.filter(Q(agency_id=user.agency_id) | Q(current_agency_id=user.agency_id))
    return qs.none()


def can_see(user, dossier: Dossier) -> bool:
    """dossiers_visible_to(user) for one dossier already in hand, without a query."""
    reach = _reach(user)
    if reach == "all":
        return True
    if reach == "own":
        return dossier.applicant_user_id == user.pk
    if reach == "agency":
        return user.agency_id in (dossier.agency_id, dossier.current_agency_id)
    return False


def get_visible(user, code: str) -> Dossier | None:
    return (
        dossiers_visible_to(user)
        .select_related("procedure", "agency", "current_agency")
        .filter(code=code)
        .first()
    )


def work_queue(user, *, status: int | None = None, overdue: bool | None = None, at=None):
    """The officer's queue: open dossiers of their agency, oldest due first."""
    if user.role in OFFICER_ROLES and user.agency_id:
        # The dossiers the officer's agency holds now: a subset of dossiers_visible_to(user),
        # written so that PostgreSQL answers from the partial index dossier_open_queue_idx.
        qs = Dossier.objects.filter(current_agency_id=user.agency_id, status__in=OPEN_STATUSES)
    else:
        qs = dossiers_visible_to(user).filter(status__in=OPEN_STATUSES)
    if status is not None:
        qs = qs.filter(status=status)
    if overdue is not None and at is not None:
        qs = qs.filter(due_at__lt=at) if overdue else qs.filter(Q(due_at__gte=at) |
                                                                 Q(due_at__isnull=True))
    return qs.order_by(F("due_at").asc(nulls_last=True), "id")


QUEUE_FIELDS = ("code", "status", "procedure__name", "applicant_name", "submitted_at", "due_at")


def queue_page(qs, start: int, size: int) -> list[dict]:
    """One page of a queue as plain rows (no model instances: the officer's most read page)."""
    return list(qs.values(*QUEUE_FIELDS)[start:start + size])


_LOOKUP_SQL = (
    "SELECT d.code, d.status, d.submitted_at, d.received_at, d.due_at, d.returned_at,"
    " p.code, p.name, a.code, a.name"
    " FROM dossiers_dossier d"
    " JOIN catalog_procedure p ON p.id = d.procedure_id"
    " JOIN directory_agency a ON a.id = d.agency_id"
    " WHERE d.code = %s"
)
_LOOKUP_FIELDS = ("code", "status", "submitted_at", "received_at", "due_at", "returned_at",
                  "procedure_code", "procedure_name", "agency_code", "agency_name")


COUNT_LIMIT = 1000


def bounded_count(qs, limit: int = COUNT_LIMIT) -> dict:
    """`count` exact up to `limit`; beyond it, `limit` with `count_exact` false ("hơn 1.000"),
    so that a page of a huge queue costs the same as a page of a small one."""
    n = qs.order_by()[: limit + 1].count()
    return {"count": min(n, limit), "count_exact": n <= limit}


_OPEN_SQL = ", ".join(str(int(s)) for s in OPEN_STATUSES)  # literal: matches the partial index
# One page of an agency's open dossiers and their bounded count, in one statement: the count
# (an index-only walk of at most COUNT_LIMIT + 1 entries of dossier_open_queue_idx) joined to
# the page (a 20-entry walk of the same index in queue order); an empty page still gives the
# count's row. {where} is work_queue's filter for an officer, with its parameters twice.
_QUEUE_SQL = (
    "SELECT c.n, p.code, p.status, p.procedure_name, p.applicant_name, p.submitted_at,"
    " p.due_at"
    " FROM (SELECT count(*) AS n FROM (SELECT 1 FROM dossiers_dossier d WHERE {where}"
    " LIMIT %s) b) c"
    " LEFT JOIN (SELECT d.id, d.code, d.status, pr.name AS procedure_name, d.applicant_name,"
    " d.submitted_at, d.due_at FROM dossiers_dossier d"
    " JOIN catalog_procedure pr ON pr.id = d.procedure_id WHERE {where}"
    " ORDER BY d.due_at ASC NULLS LAST, d.id ASC LIMIT %s OFFSET %s) p ON 1 = 1"
    " ORDER BY p.due_at ASC NULLS LAST, p.id ASC"
)


def agency_queue_page(user, *, status: int | None = None, overdue: bool | None = None,
                      at=None, start: int = 0, size: int = 20,
                      limit: int | None = None) -> tuple[list[dict], dict]:
    """(page rows as queue_page gives them, bounded_count) of work_queue(user, …): for an
    officer of an agency, the most read page of the back office and of the API, one fixed
    statement and no ORM query compiled per request; anyone else through the ORM."""
    limit = COUNT_LIMIT if limit is None else limit
    if not (user.role in OFFICER_ROLES and user.agency_id):
        qs = work_queue(user, status=status, overdue=overdue, at=at)
        return queue_page(qs, start, size), bounded_count(qs, limit)
    where = ["d.current_agency_id = %s", f"d.status IN ({_OPEN_SQL})"]
    params: list = [user.agency_id]
    if status is not None:
        where.append("d.status = %s")
        params.append(int(status))
    if overdue is not None and at is not None:
        where.append("d.due_at < %s" if overdue else "(d.due_at >= %s OR d.due_at IS NULL)")
        params.append(connection.ops.adapt_datetimefield_value(at))
    sql = _QUEUE_SQL.format(where=" AND ".join(where))
    with connection.cursor() as cur:
        cur.execute(sql, [*params, limit + 1, *params, size, start])
        rows = cur.fetchall()
    n = rows[0][0]
    page = [dict(zip(QUEUE_FIELDS, row[1:], strict=True)) for row in rows if row[1] is not None]
    if connection.vendor == "sqlite" and settings.USE_TZ:
        for row in page:
            row["submitted_at"], row["due_at"] = _aware(row["submitted_at"]), _aware(row["due_at"])
    return page, {"count": min(n, limit), "count_exact": n <= limit}


# Dossier codes are sequential, so the public look-up (API and /tra-cuu) is limited per client
# address against enumeration (CQS_THROTTLE_LOOKUP; one upsert per request, core/throttle.py).
LOOKUP_SCOPE = "lookup"
LOOKUP_THROTTLED = "Bạn đã tra cứu quá nhiều lần từ địa chỉ mạng này."


def public_lookup(code: str) -> dict | None:
    """The public status of one dossier, without personal data. The hottest read of the
    platform (every receipt's QR code leads here): one fixed statement on the unique index
    of `code`, no ORM compilation per request."""
    if len(code) > 60:
        return None
    with connection.cursor() as cur:
        cur.execute(_LOOKUP_SQL, [code])
        row = cur.fetchone()
    if row is None:
        return None
    found = dict(zip(_LOOKUP_FIELDS, row, strict=True))
    if not settings.USE_TZ or connection.vendor != "sqlite":
        return found
    for key in ("submitted_at", "received_at", "due_at", "returned_at"):
        found[key] = _aware(found[key])
    return found


# The look-up and its per-address count in one statement on PostgreSQL (the throttle's upsert
# as a data-modifying WITH, the look-up beside it): one round trip, as before the throttle.
_COUNTED_LOOKUP_SQL = (
    "WITH hit AS ({upsert}) SELECT hit.count, hit.previous, l.* FROM hit LEFT JOIN ("
    "SELECT d.code, d.status, d.submitted_at, d.received_at, d.due_at, d.returned_at,"
    " p.code AS procedure_code, p.name AS procedure_name, a.code AS agency_code,"
    " a.name AS agency_name FROM dossiers_dossier d"
    " JOIN catalog_procedure p ON p.id = d.procedure_id"
    " JOIN directory_agency a ON a.id = d.agency_id WHERE d.code = %s) l ON TRUE"
)


def counted_public_lookup(code: str, *, scope: str, ident: str, r) -> tuple:
    """(the throttle's decision for `ident`, public_lookup(code)): the request is counted
    whatever the answer; the caller refuses it (throttle.refuse) before showing anything."""
    if r.off or connection.vendor != "postgresql" or len(code) > 60:
        return throttle.hit(scope, ident, r), public_lookup(code)
    upsert, params, decide = throttle.counting(scope, ident, r)
    with connection.cursor() as cur:
        cur.execute(_COUNTED_LOOKUP_SQL.format(upsert=upsert.strip()), [*params, code])
        row = cur.fetchone()
    found = dict(zip(_LOOKUP_FIELDS, row[2:], strict=True)) if row[2] is not None else None
    return decide(row[0], row[1]), found


def _aware(value):
    """SQLite hands back timestamps as text or naive datetimes in UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def agency_register(user, date_from, date_to):
    """Dossiers the officer's agency received in a period (for Mẫu 07), oldest first."""
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    vn = ZoneInfo("Asia/Ho_Chi_Minh")
    start = datetime.combine(date_from, time.min, tzinfo=vn)
    end = datetime.combine(date_to, time.max, tzinfo=vn)
    return (dossiers_visible_to(user).filter(agency_id=user.agency_id,
                                              received_at__range=(start, end))
            .select_related("procedure", "current_agency").order_by("received_at", "id"))
