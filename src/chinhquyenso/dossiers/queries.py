"""Read side of dossiers. Every dossier query goes through `dossiers_visible_to`, which
narrows to what the caller may see."""

from django.db.models import F, Q, QuerySet

from chinhquyenso.directory.models import APPLICANT_ROLES, OFFICER_ROLES, PROVINCE_ROLES

from .models import Dossier, Status

OPEN_STATUSES = [Status.NEW, Status.RECEIVED, Status.IN_PROGRESS, Status.WAITING_SUPPLEMENT,
                 Status.WAITING_PAYMENT, Status.FINISHED]


def _scope(user) -> Q | None:
    """None: everything; Q: the filter; raises nothing. Anonymous users see nothing."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Q(pk__in=[])
    if user.role in PROVINCE_ROLES:
        return None
    if user.role in APPLICANT_ROLES:
        return Q(applicant_user=user)
    if user.role in OFFICER_ROLES and user.agency_id:
        return Q(agency_id=user.agency_id) | Q(current_agency_id=user.agency_id)
    return Q(pk__in=[])


def dossiers_visible_to(user) -> QuerySet[Dossier]:
    scope = _scope(user)
    qs = Dossier.objects.all()
    return qs if scope is None else qs.filter(scope)


def can_see(user, dossier: Dossier) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.role in PROVINCE_ROLES:
        return True
    if user.role in APPLICANT_ROLES:
        return dossier.applicant_user_id == user.pk
    if user.role in OFFICER_ROLES and user.agency_id:
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
    qs = dossiers_visible_to(user).filter(status__in=OPEN_STATUSES)
    if user.role in OFFICER_ROLES:
        qs = qs.filter(current_agency_id=user.agency_id)
    if status is not None:
        qs = qs.filter(status=status)
    if overdue is not None and at is not None:
        qs = qs.filter(due_at__lt=at) if overdue else qs.filter(Q(due_at__gte=at) |
                                                                 Q(due_at__isnull=True))
    return qs.select_related("procedure").order_by(F("due_at").asc(nulls_last=True), "id")


def public_lookup(code: str) -> Dossier | None:
    return (
        Dossier.objects.select_related("procedure", "agency")
        .only("code", "status", "received_at", "due_at", "submitted_at", "returned_at",
              "finished_at", "procedure__code", "procedure__name", "agency__code",
              "agency__name")
        .filter(code=code)
        .first()
    )


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
