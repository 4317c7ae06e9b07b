"""Early warning: open dossiers at risk of lateness, before their due date.

Two rules (issue 5, "Early warning"), each counted in working time of the agency's calendar
(core/calendar.py), with every step's allotment taken from its planned due time (the
dossier's steps are planned from their share of the legal time, dossiers/services.py
`_plan_steps`; one dossier, one clock):

1. **Not enough time left for the steps after the current one**: the working time until
   the dossier's due date is less than the allotments of the steps not yet started, so
   even if the current step ended now, the rest could not keep to their share
   ("còn 1 ngày làm việc nhưng còn 2 bước").
2. **The current step has used more than its share**: the working time since it started
   is more than its allotment ("bước Thẩm định đã dùng 130 % thời gian được giao").

Dossiers already past their due date are not "at risk": they are late, and the queue shows
them as overdue. Dossiers whose clock is paused (waiting for a supplement or for payment)
or not started (not received yet) have no risk. The warning is what the leader acts on
with the apology letter (Mẫu 04, `dossiers.services.extend_due_date`), which must come
before the due date (../shared/research/one-stop-rules.md §3.5).
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from chinhquyenso.core.calendar import calendar_for
from chinhquyenso.directory.models import Agency
from chinhquyenso.dossiers.models import DossierStep, Status

# Clock running: received, being processed, or finished and waiting to be returned.
RUNNING = {Status.RECEIVED, Status.IN_PROGRESS, Status.FINISHED}


def _get(d, name):
    return d[name] if isinstance(d, dict) else getattr(d, name)


def days_text(minutes: int, day_minutes: int) -> str:
    """Working minutes as Vietnamese working days, one decimal with a comma: "1,5"."""
    days = (Decimal(minutes) / Decimal(day_minutes)).quantize(Decimal("0.1"),
                                                                rounding=ROUND_HALF_UP)
    text = f"{days:f}".replace(".", ",")
    return text[:-2] if text.endswith(",0") else text


def _calendars(agency_ids: set[int]) -> dict[int, object]:
    base = calendar_for(None)
    overrides = (base.extra_days_off, base.extra_working_days)
    return {a.pk: calendar_for(a, overrides=overrides)
            for a in Agency.objects.filter(pk__in=agency_ids).only("id", "working_hours")}


def risks_for(dossiers: Iterable, at: datetime | None = None) -> dict[int, str]:
    """id → Vietnamese reason, for the given dossiers (objects or dicts with id, status,
    due_at, clock_started_at, current_step, current_agency_id) that are at risk of
    lateness at `at` (default now). Two queries whatever the number of dossiers: their
    agencies' working hours and their steps."""
    at = at or timezone.now()
    candidates = {}
    for d in dossiers:
        due = _get(d, "due_at")
        if (_get(d, "status") in RUNNING and due is not None and due > at
                and _get(d, "clock_started_at") is not None):
            candidates[_get(d, "id")] = d
    if not candidates:
        return {}
    cals = _calendars({_get(d, "current_agency_id") for d in candidates.values()})
    steps = defaultdict(list)
    for s in (DossierStep.objects.filter(dossier_id__in=candidates)
              .order_by("dossier_id", "position")
              .values("dossier_id", "position", "name", "started_at", "due_at",
                      "finished_at")):
        steps[s["dossier_id"]].append(s)
    out = {}
    for pk, d in candidates.items():
        cal = cals.get(_get(d, "current_agency_id")) or calendar_for(None)
        reasons = _reasons(d, steps.get(pk, []), cal, at)
        if reasons:
            out[pk] = "; ".join(reasons)
    return out


def _reasons(d, steps: list[dict], cal, at: datetime) -> list[str]:
    if not steps:
        return []
    # Allotment of each step: from the previous step's planned due time (the clock start
    # for the first) to its own.
    allot = {}
    prev = _get(d, "clock_started_at")
    for s in steps:
        if s["due_at"] is None:
            return []
        allot[s["position"]] = cal.working_minutes_between(prev, s["due_at"])
        prev = s["due_at"]
    current_pos = _get(d, "current_step")
    open_steps = [s for s in steps if s["finished_at"] is None]
    current = next((s for s in open_steps if s["position"] == current_pos), None)
    later = [s for s in open_steps if s["position"] > current_pos]
    dm = cal.day_minutes
    reasons = []
    left = cal.working_minutes_between(at, _get(d, "due_at"))
    needed = sum(allot[s["position"]] for s in later)
    if left < needed:
        reasons.append(
            f"còn {days_text(left, dm)} ngày làm việc nhưng còn {len(open_steps)} bước"
            f" (các bước sau cần {days_text(needed, dm)} ngày)"
        )
    if current is not None and current["started_at"] is not None:
        share = allot[current["position"]]
        used = cal.working_minutes_between(current["started_at"], at)
        if share > 0 and used > share:
            pct = (Decimal(used) * 100 / Decimal(share)).quantize(Decimal("1"),
                                                                  rounding=ROUND_HALF_UP)
            reasons.append(f"bước {current['name']} đã dùng {pct} % thời gian được giao")
    return reasons
