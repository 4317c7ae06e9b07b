"""Read side of complaints: one scope (`complaints_visible_to`), lists for officers and for
the monitoring indicators."""

from django.db.models import Q, QuerySet

from chinhquyenso.directory.models import APPLICANT_ROLES, OFFICER_ROLES, PROVINCE_ROLES

from .models import OPEN_COMPLAINT_STATUSES, Complaint

PAGE_SIZE = 20


def complaints_visible_to(user) -> QuerySet[Complaint]:
    """Province roles: all; officers: their agency's; applicants: their own; others none."""
    qs = Complaint.objects.all()
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    if user.role in PROVINCE_ROLES:
        return qs
    if user.role in OFFICER_ROLES and user.agency_id:
        return qs.filter(agency_id=user.agency_id)
    if user.role in APPLICANT_ROLES:
        return qs.filter(citizen=user)
    return qs.none()


def officer_list(user, *, status: str | None = None, overdue: bool | None = None,
                 agency: str | None = None, at=None) -> QuerySet[Complaint]:
    """The officer's list: open first, oldest due first (index complaint_agency_due_idx)."""
    qs = complaints_visible_to(user).select_related("agency", "dossier")
    if agency:
        qs = qs.filter(agency__code=agency)
    if status:
        qs = qs.filter(status=status)
    if overdue is not None and at is not None:
        late = Q(status__in=OPEN_COMPLAINT_STATUSES, due_at__lt=at)
        qs = qs.filter(late) if overdue else qs.exclude(late)
    return qs.order_by("due_at", "id")


def get_visible(user, code: str) -> Complaint | None:
    return (complaints_visible_to(user).select_related("agency", "dossier", "parent")
            .filter(code=code).first())


def get_by_code(code: str) -> Complaint | None:
    """For the tracking-key page: the caller checks the key (services._owner_ok)."""
    if len(code) > 30:
        return None
    return Complaint.objects.select_related("agency", "dossier", "parent").filter(
        code=code).first()


def received_between(start, end, agency_ids=None) -> QuerySet[Complaint]:
    """PAKN first received in [start, end) (766 indicators 5.2/5.3 cohort), follow-ups
    excluded: each PAKN counted once."""
    qs = Complaint.objects.filter(received_at__gte=start, received_at__lt=end,
                                  parent__isnull=True)
    if agency_ids is not None:
        qs = qs.filter(agency_id__in=agency_ids)
    return qs
