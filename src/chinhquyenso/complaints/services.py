"""Phản ánh, kiến nghị: receive, classify, answer or reject, rate, follow up. Every write is
one function here: it checks who acts, runs in one transaction, writes the audit record and
the outbox event.

Deadlines (the DVCQG operating rules that Decision 766 indicator 5.2 applies;
../shared/research/766-index.md, group 5, "5.2 formula" [DOC]):
- rejecting a PAKN (không tiếp nhận): within 2 working days of receipt;
- the handling is finished (the answer is given) within 15 working days of receipt;
counted in working days of the responsible agency's calendar (core/calendar.py). A transfer
between agencies of the province keeps the deadline (the 766 rule restarts it only for a
transfer from VPCP or another ministry or province, which this platform does not receive).
"""

import hashlib
import re
import secrets
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from chinhquyenso.core import audit, outbox, throttle
from chinhquyenso.core.calendar import calendar_for
from chinhquyenso.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from chinhquyenso.directory.models import (
    APPLICANT_ROLES,
    OFFICER_ROLES,
    PROVINCE_ROLES,
    Agency,
    Role,
)
from chinhquyenso.dossiers.models import Dossier

from .models import (
    OPEN_COMPLAINT_STATUSES,
    Category,
    Channel,
    Complaint,
    ComplaintRating,
    ComplaintStatus,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
ANSWER_WORKING_DAYS = 15  # 766-index.md 5.2: handling finished within 15 working days
REJECT_WORKING_DAYS = 2  # 766-index.md 5.2: reject within 2 working days
ANSWER_ROLES = {Role.RECEIVER, Role.SPECIALIST, Role.LEADER, Role.AGENCY_ADMIN}
CLASSIFY_ROLES = {Role.LEADER, Role.AGENCY_ADMIN, Role.PROVINCE_ADMIN}

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^(\+84|0)[0-9]{9,10}$")



def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def next_code(at: datetime) -> str:
    """`PAKN-yymmdd-NNNN`: the daily ordinal from one atomic upsert (the row stays locked
    until the caller's transaction ends: no gaps, no duplicates)."""
    day = at.astimezone(VN).date()
    table = "complaints_complaintsequence"
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} (day, last) VALUES (%s, 1) "
            f"ON CONFLICT (day) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [day],
        )
        seq = cur.fetchone()[0]
    return f"PAKN-{day:%y%m%d}-{seq:04d}"


def deadlines(agency: Agency, received_at: datetime) -> tuple[datetime, datetime]:
    """(answer due, reject due) for a PAKN received at `received_at` (766-index.md 5.2)."""
    cal = calendar_for(agency)
    return (cal.add_working_days(received_at, ANSWER_WORKING_DAYS),
            cal.add_working_days(received_at, REJECT_WORKING_DAYS))


def is_on_time(c: Complaint, at: datetime | None = None) -> bool:
    """The one rule of indicator 5.2 (766-index.md): answered on or before the due time
    (a rejection on or before the 2-working-day limit), or still in progress and not past
    the due time at `at` (the end of the period)."""
    if c.status == ComplaintStatus.REJECTED:
        return c.answered_at is not None and c.answered_at <= c.reject_due_at
    if c.answered_at is not None:
        return c.answered_at <= c.due_at
    return (at or timezone.now()) <= c.due_at


def is_overdue(c: Complaint, at: datetime | None = None) -> bool:
    return c.status in OPEN_COMPLAINT_STATUSES and (at or timezone.now()) > c.due_at


def _text(value, label: str, lo: int, hi: int) -> str:
    value = (value or "").strip()
    if len(value) < lo:
        raise ValidationFailed(f"«{label}» cần ít nhất {lo} ký tự.")
    if len(value) > hi:
        raise ValidationFailed(f"«{label}» dài quá {hi} ký tự.")
    return value


def _contact(actor, contact: dict) -> dict:
    contact = contact or {}
    name = (contact.get("name") or "").strip() or (
        (actor.full_name or actor.get_username()) if actor is not None else "")
    phone = (contact.get("phone") or "").strip() or (getattr(actor, "phone", "") or "")
    email = (contact.get("email") or "").strip() or (getattr(actor, "email", "") or "")
    if not name:
        raise ValidationFailed("Cần cho biết họ và tên người phản ánh.")
    if len(name) > 150:
        raise ValidationFailed("«Họ và tên» dài quá 150 ký tự.")
    if phone and not PHONE.match(phone):
        raise ValidationFailed("Số điện thoại không hợp lệ (ví dụ 0912345678).")
    if email and (len(email) > 150 or not EMAIL.match(email)):
        raise ValidationFailed("Địa chỉ thư điện tử không hợp lệ.")
    if not phone and not email and actor is None:
        raise ValidationFailed("Cần số điện thoại hoặc thư điện tử để cơ quan trả lời.")
    return {"contact_name": name, "contact_phone": phone, "contact_email": email}


def _owner_ok(c: Complaint, actor, key: str | None) -> bool:
    if actor is not None and getattr(actor, "is_authenticated", False) and c.citizen_id:
        if c.citizen_id == actor.pk:
            return True
    return bool(key) and bool(c.tracking_digest) and secrets.compare_digest(
        c.tracking_digest, digest(key))


def submit_complaint(*, actor=None, category: str, title: str, content: str,
                     agency: str | None = None, dossier: str | None = None,
                     parent: str | None = None, parent_key: str | None = None,
                     contact: dict | None = None, channel: str = Channel.WEB,
                     at: datetime | None = None) -> tuple[Complaint, str | None]:
    """Gửi phản ánh, kiến nghị. A signed-in citizen or business, or anyone on the public
    form (then a tracking key is returned once: only its SHA-256 is kept). About a dossier
    (its code), the dossier's agency answers; a follow-up (`parent`) goes to the agency that
    answered and marks the first PAKN as followed up (766 indicator 5.3)."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if actor is not None and actor.role not in APPLICANT_ROLES:
        if actor.role not in OFFICER_ROLES:
            raise PermissionDenied("Chỉ người dân, doanh nghiệp hoặc cán bộ tiếp nhận được "
                                   "ghi nhận phản ánh.")
        if channel == Channel.WEB or channel == Channel.API:
            channel = Channel.COUNTER
    if category not in Category.values:
        raise ValidationFailed("Loại phản ánh không hợp lệ.")
    if channel not in Channel.values:
        raise ValidationFailed("Kênh tiếp nhận không hợp lệ.")
    title = _text(title, "Tiêu đề", 5, 200)
    content = _text(content, "Nội dung", 20, 5000)
    citizen = actor if actor is not None and actor.role in APPLICANT_ROLES else None
    people = _contact(citizen, contact or {})
    at = at or timezone.now()

    parent_row = None
    target_agency = None
    dossier_row = None
    if parent:
        parent_row = Complaint.objects.select_related("agency").filter(code=parent).first()
        if parent_row is None or not _owner_ok(parent_row, citizen, parent_key):
            raise NotFound("Không tìm thấy phản ánh trước.")
        if parent_row.status not in (ComplaintStatus.ANSWERED, ComplaintStatus.REJECTED):
            raise Conflict("Phản ánh trước chưa được trả lời.")
        target_agency, dossier_row = parent_row.agency, parent_row.dossier
    if dossier and dossier_row is None:
        dossier_row = Dossier.objects.select_related("agency").filter(code=dossier).first()
        if dossier_row is None:
            raise ValidationFailed(f"Không có hồ sơ mã «{dossier}».")
        target_agency = dossier_row.agency
    if target_agency is None:
        if not agency:
            raise ValidationFailed("Cần chọn cơ quan tiếp nhận phản ánh.")
        target_agency = Agency.objects.filter(code=agency, active=True).first()
        if target_agency is None:
            raise ValidationFailed(f"Không có cơ quan mã «{agency}».")
    if actor is not None and actor.role in OFFICER_ROLES and actor.agency_id != target_agency.pk:
        raise PermissionDenied("Cán bộ chỉ ghi nhận phản ánh cho cơ quan của mình.")

    key = None if citizen is not None else secrets.token_urlsafe(24)
    due, reject_due = deadlines(target_agency, at)
    with transaction.atomic():
        c = Complaint.objects.create(
            code=next_code(at), agency=target_agency, dossier=dossier_row, parent=parent_row,
            category=category, channel=channel, title=title, content=content,
            citizen=citizen, tracking_digest=digest(key) if key else "",
            received_at=at, due_at=due, reject_due_at=reject_due, **people,
        )
        if parent_row is not None:
            Complaint.objects.filter(pk=parent_row.pk).update(followed_up=True)
        outbox.publish("complaint.submit", c, {"agency": target_agency.code,
                                               "category": category})
        audit.record(actor=actor, verb="complaint.submit", target=c,
                     data={"agency": target_agency.code, "category": category,
                           "parent": parent or "", "dossier": dossier_row.code
                           if dossier_row else ""})
    return c, key


def _lock(c: Complaint) -> Complaint:
    return Complaint.objects.select_for_update().get(pk=c.pk)


def _check_officer(actor, c: Complaint, roles: set) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise PermissionDenied("Cần đăng nhập.")
    if actor.role in PROVINCE_ROLES:
        if actor.role not in roles:
            raise PermissionDenied("Vai trò này chỉ được xem phản ánh.")
        return
    if actor.role not in OFFICER_ROLES or actor.agency_id != c.agency_id:
        raise NotFound("Không tìm thấy phản ánh.")
    if actor.role not in roles:
        raise PermissionDenied(
            f"Vai trò «{Role(actor.role).label}» không được thực hiện thao tác này.")


def classify_complaint(*, actor, complaint: Complaint, category: str,
                       agency: str | None = None) -> Complaint:
    """Phân loại: set the category and, if needed, transfer to the responsible agency of the
    province (the deadline stays). The PAKN is then being handled."""
    _check_officer(actor, complaint, CLASSIFY_ROLES)
    if category not in Category.values:
        raise ValidationFailed("Loại phản ánh không hợp lệ.")
    new_agency = None
    if agency:
        new_agency = Agency.objects.filter(code=agency, active=True).first()
        if new_agency is None:
            raise ValidationFailed(f"Không có cơ quan mã «{agency}».")
    with transaction.atomic():
        c = _lock(complaint)
        if c.status not in OPEN_COMPLAINT_STATUSES:
            raise Conflict("Phản ánh đã được trả lời hoặc đã từ chối.")
        old = {"category": c.category, "agency": c.agency_id}
        c.category = category
        if new_agency is not None:
            c.agency = new_agency
        c.status = ComplaintStatus.PROCESSING
        c.save(update_fields=["category", "agency", "status", "updated_at"])
        outbox.publish("complaint.classify", c, {"category": category,
                                                 "agency": c.agency.code})
        audit.record(actor=actor, verb="complaint.classify", target=c,
                     data={"from": old, "category": category, "agency": c.agency.code})
    return c


def answer_complaint(*, actor, complaint: Complaint, answer: str) -> Complaint:
    """Trả lời: the agency's answer, published to the citizen."""
    _check_officer(actor, complaint, ANSWER_ROLES)
    answer = _text(answer, "Nội dung trả lời", 10, 10000)
    return _close(actor, complaint, answer, ComplaintStatus.ANSWERED, "answer")


def reject_complaint(*, actor, complaint: Complaint, reason: str) -> Complaint:
    """Không tiếp nhận, with the reason (within 2 working days to be on time)."""
    _check_officer(actor, complaint, ANSWER_ROLES)
    reason = _text(reason, "Lý do không tiếp nhận", 10, 2000)
    return _close(actor, complaint, reason, ComplaintStatus.REJECTED, "reject")


def _close(actor, complaint, text, status, verb) -> Complaint:
    with transaction.atomic():
        c = _lock(complaint)
        if c.status not in OPEN_COMPLAINT_STATUSES:
            raise Conflict("Phản ánh đã được trả lời hoặc đã từ chối.")
        c.status, c.answer, c.answered_at, c.answered_by = status, text, timezone.now(), actor
        c.save(update_fields=["status", "answer", "answered_at", "answered_by", "updated_at"])
        outbox.publish(f"complaint.{verb}", c, {"on_time": is_on_time(c)})
        audit.record(actor=actor, verb=f"complaint.{verb}", target=c,
                     data={"on_time": is_on_time(c)})
    return c


def rate_complaint(*, actor=None, complaint: Complaint, rating: str, comment: str = "",
                   key: str | None = None) -> Complaint:
    """The citizen rates the answer (766 indicator 5.3), once."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if not _owner_ok(complaint, actor, key):
        raise NotFound("Không tìm thấy phản ánh.")
    if rating not in ComplaintRating.values:
        raise ValidationFailed("Mức đánh giá phải là «satisfied» (hài lòng), «normal» "
                               "(bình thường) hoặc «unsatisfied» (không hài lòng).")
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise ValidationFailed("Ý kiến đánh giá không được dài quá 2.000 ký tự.")
    with transaction.atomic():
        c = _lock(complaint)
        if c.status not in (ComplaintStatus.ANSWERED, ComplaintStatus.REJECTED):
            raise Conflict("Chỉ đánh giá được sau khi cơ quan đã trả lời.")
        if c.rating:
            raise Conflict("Phản ánh này đã được đánh giá.")
        c.rating, c.rating_comment, c.rated_at = rating, comment, timezone.now()
        c.save(update_fields=["rating", "rating_comment", "rated_at", "updated_at"])
        outbox.publish("complaint.rate", c, {"rating": rating})
        audit.record(actor=actor, verb="complaint.rate", target=c, data={"rating": rating},
                     actor_label="" if actor else "người phản ánh")
    return c


COMPLAINTS_SCOPE = "complaints"


@contextmanager
def submission_allowance(*, actor, address: str):
    """Rate limit of PAKN per client address (CQS_THROTTLE_COMPLAINTS, default 10 an hour):
    each PAKN counts in the service-quality index (Decision 766), so a flood from one
    address would skew it. Citizens, businesses and anonymous senders are counted; officers
    who record a PAKN received at the counter, by phone or by mail are not (they are signed
    in and accountable, and a desk records many). A sending that the rules refuse gives its
    place back, so a mistyped form does not use the allowance.

        with services.submission_allowance(actor=user, address=ip):
            services.submit_complaint(...)
    """
    officer = (actor is not None and getattr(actor, "is_authenticated", False)
               and actor.role not in APPLICANT_ROLES)
    rate = throttle.rate("CQS_THROTTLE_COMPLAINTS")
    if officer or rate.off:
        yield
        return
    throttle.check(COMPLAINTS_SCOPE, address, rate,
                   "Bạn đã gửi quá nhiều phản ánh, kiến nghị từ địa chỉ mạng này trong thời "
                   "gian ngắn.")
    try:
        yield
    except DomainError:
        throttle.refund(COMPLAINTS_SCOPE, address, rate)
        raise
