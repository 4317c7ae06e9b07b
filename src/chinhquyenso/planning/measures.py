"""Targets measured live from platform data. Each function returns (value in %, numerator,
denominator) or None when there is nothing to measure yet; `Target.measure` names it."""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, Q
from django.utils import timezone

from chinhquyenso.catalog.models import OnlineMode, Procedure
from chinhquyenso.core.calendar import VN_TZ
from chinhquyenso.dossiers.models import Dossier

Measured = tuple[Decimal, int, int] | None


def _pct(num: int, den: int) -> Decimal:
    return (Decimal(num) * 100 / Decimal(den)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def on_time_share(at: datetime | None = None) -> Measured:
    """Dossiers received since 1 January of `at`'s year (VN time) that are on time: ended
    (NgayKetThucXuLy) on or before the due date — the due date already moves by the time
    spent waiting for a supplement — with at most one supplement request, or still open and
    not past the due date at `at` (766-index.md §3: cohort = received in the period; more
    than one supplement request counts as late). Demo dossiers are left out."""
    at = at or timezone.now()
    start = datetime(at.astimezone(VN_TZ).year, 1, 1, tzinfo=VN_TZ)
    on_time = (Q(ended_at__isnull=False, ended_at__lte=F("due_at"), supplement_count__lte=1)
               | Q(ended_at__isnull=True, due_at__gte=at, supplement_count__lte=1))
    row = (Dossier.objects.filter(received_at__gte=start, received_at__lte=at, is_demo=False,
                                  due_at__isnull=False)
           .aggregate(total=Count("id"), ok=Count("id", filter=on_time)))
    if not row["total"]:
        return None
    return _pct(row["ok"], row["total"]), row["ok"], row["total"]


def full_online_share(at: datetime | None = None) -> Measured:
    """Active procedures of the catalogue offered fully online (Decree 42/2022/NĐ-CP
    Art. 11.1.a, `online_mode = full`) over all active procedures."""
    row = Procedure.objects.filter(active=True).aggregate(
        total=Count("id"), ok=Count("id", filter=Q(online_mode=OnlineMode.FULL)))
    if not row["total"]:
        return None
    return _pct(row["ok"], row["total"]), row["ok"], row["total"]


MEASURES = {"on_time_share": on_time_share, "full_online_share": full_online_share}
