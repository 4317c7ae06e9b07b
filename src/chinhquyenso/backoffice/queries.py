"""Read side of the back office: the officer's queue with its filters, the counts by status,
the leader's approval list, a dossier's page. Every dossier read starts from
dossiers.queries (work_queue / get_visible), which narrows to what the officer may see."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q

from chinhquyenso.catalog.models import Procedure
from chinhquyenso.core.calendar import calendar_for
from chinhquyenso.dossiers.models import OPEN_STATUSES, Dossier, DossierStep, Status
from chinhquyenso.dossiers.queries import bounded_count, work_queue

PAGE_SIZE = 20
DUE_SOON_WORKING_DAYS = 2
QUEUE_COLUMNS = ("id", "code", "status", "procedure__name", "applicant_name", "submitted_at",
                 "due_at", "channel", "clock_started_at", "current_step", "current_agency_id")


@dataclass
class QueueFilters:
    status: int | None = None
    procedure: str = ""
    overdue: bool = False
    due_soon: bool = False
    mine: bool = False
    q: str = ""
    page: int = 1


def due_soon_limit(agency, at: datetime) -> datetime:
    """Due within 2 working days (the agency's calendar): the rows to warn about."""
    return calendar_for(agency).add_working_days(at, DUE_SOON_WORKING_DAYS)


def _current_step_role(role: str):
    return Exists(DossierStep.objects.filter(dossier=OuterRef("pk"),
                                             position=OuterRef("current_step"), role=role))


def queue(user, f: QueueFilters, at: datetime, soon: datetime):
    """The filtered queue (a queryset, oldest due first)."""
    qs = work_queue(user, status=f.status, overdue=True if f.overdue else None, at=at)
    if f.due_soon:
        qs = qs.filter(due_at__gte=at, due_at__lt=soon)
    if f.procedure:
        qs = qs.filter(procedure__code=f.procedure)
    if f.q:
        term = f.q.strip()
        # Names are written in title case; SQLite folds the case of ASCII letters only, so
        # «văn đức» is also looked for as «Văn Đức».
        qs = qs.filter(Q(code=term) | Q(applicant_name__icontains=term)
                       | Q(applicant_name__icontains=term.title()))
    if f.mine:
        # What waits for the officer's role: the current step is theirs (a new dossier
        # waits for the desk before it has steps).
        mine = _current_step_role(user.role)
        if user.role == "receiver":
            mine = mine | Q(status=Status.NEW)
        qs = qs.filter(mine)
    return qs


def queue_rows(qs, page: int) -> list[dict]:
    start = (page - 1) * PAGE_SIZE
    return list(qs.values(*QUEUE_COLUMNS)[start:start + PAGE_SIZE])


def queue_count(qs) -> dict:
    return bounded_count(qs)


def status_counts(user) -> list[tuple[int, str, int]]:
    """Open dossiers the officer's agency holds, by status (one GROUP BY on the partial
    queue index)."""
    rows = dict(work_queue(user).order_by().values_list("status").annotate(n=Count("id")))
    return [(s, Status(s).label, rows.get(s, 0)) for s in OPEN_STATUSES]


def agency_procedures(agency) -> list[tuple[str, str]]:
    return list(Procedure.objects.filter(agencies=agency, active=True)
                .order_by("name").values_list("code", "name"))


def awaiting_approval(user, limit: int = 200) -> list[Dossier]:
    """In progress at the leader's agency with the leader's step current."""
    qs = work_queue(user, status=Status.IN_PROGRESS).filter(_current_step_role("leader"))
    return list(qs.select_related("procedure")[:limit])


def dossier_page(d: Dossier) -> dict:
    """Everything the dossier page shows, in a fixed number of queries."""
    steps = list(d.steps.select_related("agency", "actor").order_by("position"))
    return {
        "steps": steps,
        "events": list(d.events.order_by("at", "id")),
        "supplements": list(d.supplements.order_by("id")),
        "attachments": list(d.attachments.order_by("created_at")),
        "extension": getattr(d, "extension", None),
        "current": next((s for s in steps if s.position == d.current_step), None),
    }


def agency_procedure(agency, code: str) -> Procedure | None:
    return Procedure.objects.filter(agencies=agency, active=True, code=code).first()


def required_documents(procedure: Procedure) -> list:
    return list(procedure.documents.all())


# --- administration ----------------------------------------------------------------------------


def agency_officers(agency) -> list:
    from chinhquyenso.directory.models import OFFICER_ROLES, User

    return list(User.objects.filter(agency=agency, role__in=OFFICER_ROLES)
                .select_related("totp_device").order_by("-is_active", "username"))


def agency_officer(agency, user_id: int):
    from chinhquyenso.directory.models import OFFICER_ROLES, User

    return User.objects.filter(agency=agency, role__in=OFFICER_ROLES, pk=user_id).first()


def has_totp_device(user) -> bool:
    from .models import TotpDevice

    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def agencies(q: str = "") -> list:
    from chinhquyenso.directory.queries import search_agencies

    return search_agencies(q)


def agency(agency_id: int):
    from chinhquyenso.directory.models import Agency

    return Agency.objects.filter(pk=agency_id).first()


def procedures(q: str = "") -> list:
    from chinhquyenso.catalog.queries import search_procedures

    return search_procedures(q)


def procedure(code: str) -> Procedure | None:
    return Procedure.objects.filter(code=code).first()


def agency_keys() -> list[tuple[str, str]]:
    from chinhquyenso.directory.models import Agency, AgencyKind

    return list(Agency.objects.filter(active=True).exclude(kind=AgencyKind.COMMUNE)
                .order_by("name").values_list("key", "name"))


def calendar_overrides() -> list:
    from chinhquyenso.core.models import CalendarOverride

    return list(CalendarOverride.objects.order_by("-date")[:500])
