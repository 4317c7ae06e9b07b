"""Dossier lifecycle: every state change is one function here that checks permission,
locks the dossier, writes the change, an event in its history, an audit record and an outbox
event, all in one transaction.

Rules and their sources (../shared/research/one-stop-rules.md):
- statuses and codes: TrangThaiHoSo of the National Public Service Portal (§1.1);
- the clock starts when a complete dossier is received (§3.1; Decree 118/2025/NĐ-CP Art. 17,
  procedures' "kể từ ngày nhận đủ hồ sơ hợp lệ"); an online dossier outside working hours
  counts from the next working period (Decree 45/2020/NĐ-CP Art. 11.1; §3.2);
- supplementation is requested once, in writing, with the list of what is missing
  (Decree 118/2025 Art. 16.3 and 17; Mẫu 02 TT 03/2025/TT-VPCP), and the waiting time does
  not count (§3.3);
- the apology letter with a new date (Mẫu 04) comes before the due date, at most once (§3.5);
- a stop at the applicant's request (Decree 118/2025 Art. 21, Mẫu 05).
"""

import uuid
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from chinhquyenso.catalog.queries import procedure_reference
from chinhquyenso.core import audit, fixedsql, outbox
from chinhquyenso.core.calendar import calendar_for
from chinhquyenso.core.dates import check_date
from chinhquyenso.core.errors import (
    Conflict,
    DomainError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from chinhquyenso.core.notify import notify
from chinhquyenso.directory.models import Agency, Role, User

from .models import (
    ENDED_STATUSES,
    OPEN_STATUSES,
    Action,
    Attachment,
    Channel,
    Dossier,
    DossierEvent,
    DossierStep,
    Extension,
    Rating,
    Status,
    Supplement,
)
from .queries import can_see
from .validation import validate_applicant, validate_form

VN = ZoneInfo("Asia/Ho_Chi_Minh")
S = Status

# action → (statuses it may start from, status it leads to; None = back to resume_status)
TRANSITIONS: dict[str, tuple[frozenset[int], int | None]] = {
    "receive": (frozenset({S.NEW}), S.RECEIVED),
    "refuse": (frozenset({S.NEW}), S.REFUSED),
    "request-supplement": (frozenset({S.NEW, S.RECEIVED, S.IN_PROGRESS}), S.WAITING_SUPPLEMENT),
    "supplement": (frozenset({S.WAITING_SUPPLEMENT}), None),
    "request-payment": (frozenset({S.RECEIVED, S.IN_PROGRESS}), S.WAITING_PAYMENT),
    "confirm-payment": (frozenset({S.WAITING_PAYMENT}), None),
    "forward": (frozenset({S.RECEIVED, S.IN_PROGRESS}), S.IN_PROGRESS),
    "approve": (frozenset({S.IN_PROGRESS}), S.FINISHED),
    "reject": (frozenset({S.IN_PROGRESS}), S.STOPPED),
    "return-result": (frozenset({S.FINISHED}), S.RETURNED),
    "withdraw": (
        frozenset({S.NEW, S.RECEIVED, S.IN_PROGRESS, S.WAITING_SUPPLEMENT, S.WAITING_PAYMENT}),
        S.WITHDRAWN,
    ),
    "extend": (frozenset({S.RECEIVED, S.IN_PROGRESS}), None),
}
# Which officer roles may take an action (applicant actions are checked separately).
ACTION_ROLES = {
    "receive": {Role.RECEIVER},
    "refuse": {Role.RECEIVER},
    "request-supplement": {Role.RECEIVER, Role.SPECIALIST},
    "request-payment": {Role.RECEIVER, Role.SPECIALIST},
    "forward": {Role.RECEIVER, Role.SPECIALIST, Role.LEADER},
    "approve": {Role.LEADER},
    "reject": {Role.LEADER},
    "return-result": {Role.RECEIVER},
    "extend": {Role.LEADER},
    "supplement": {Role.RECEIVER},  # on behalf of an applicant at the desk
    "withdraw": {Role.RECEIVER},
}
APPLICANT_ACTIONS = {"supplement", "withdraw"}



# --- codes -----------------------------------------------------------------------------


def next_code(agency: Agency, at: datetime) -> str:
    """`{agency identity code}-{yymmdd}-{daily ordinal, at least 4 digits}` (Circular
    01/2018/TT-VPCP Art. 19; Circular 04/2025/TT-VPCP Art. 23.2 keeps the shape and lets the
    ordinal grow past 4 digits). One atomic upsert: the row stays locked until the caller's
    transaction ends, so codes are issued without gaps or duplicates."""
    day = at.astimezone(VN).date()
    table = "dossiers_dossiersequence"
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} (agency_id, day, last) VALUES (%s, %s, 1) "
            f"ON CONFLICT (agency_id, day) DO UPDATE SET last = {table}.last + 1 "
            "RETURNING last",
            [agency.pk, day],
        )
        seq = cur.fetchone()[0]
    return f"{agency.code}-{day:%y%m%d}-{seq:04d}"


# --- helpers ---------------------------------------------------------------------------


def _lock(dossier: Dossier) -> Dossier:
    return Dossier.objects.select_for_update().select_related("procedure", "agency",
                                                               "current_agency").get(
        pk=dossier.pk
    )


def _label(actor: User | None) -> str:
    if actor is None:
        return "Hệ thống"
    return actor.full_name or actor.get_username()


def _record(*, actor, dossier: Dossier, action: str, from_status, note: str = "",
            data: dict | None = None, at: datetime | None = None) -> None:
    """History event + audit link + outbox event for one change, in the caller's transaction."""
    at = at or timezone.now()
    payload = {"status": dossier.status, "from_status": from_status, **(data or {})}
    fixedsql.insert_later(
        DossierEvent, dossier_id=dossier.pk, at=at, action=action, from_status=from_status,
        to_status=dossier.status, actor=actor if actor and actor.pk else None,
        actor_label=_label(actor), note=note, data=data or {},
    )
    outbox.publish(f"dossier.{action}", dossier, payload)
    audit.record(actor=actor, verb=f"dossier.{action}", target=dossier,
                 data={"note": note, **payload})
    if dossier.applicant_user_id and (dossier.status != from_status or action in ALWAYS_NOTIFY):
        _notify_applicant(dossier, action, note)


# What the applicant is told (inbox, e-mail, SMS/Zalo) on every status change and on these.
ALWAYS_NOTIFY = {"request-supplement", "extend", "pay"}
NOTICE_TITLES = {
    "submit": "Đã gửi hồ sơ {code}, đang chờ tiếp nhận",
    "receive": "Hồ sơ {code} đã được tiếp nhận",
    "request-supplement": "Hồ sơ {code} cần bổ sung giấy tờ",
    "supplement": "Đã nhận giấy tờ bổ sung của hồ sơ {code}",
    "extend": "Hồ sơ {code}: cơ quan xin lỗi và hẹn lại ngày trả kết quả",
    "pay": "Đã nhận thanh toán phí, lệ phí của hồ sơ {code}",
    "return-result": "Hồ sơ {code} đã được trả kết quả",
}


def _notify_applicant(dossier: Dossier, action: str, note: str) -> None:
    title = NOTICE_TITLES.get(action, "Hồ sơ {code}: {status}").format(
        code=dossier.code, status=Status(dossier.status).label.lower())
    lines = [f"Trạng thái: {Status(dossier.status).label}."]
    if dossier.due_at and dossier.status in OPEN_STATUSES:
        due = timezone.localtime(dossier.due_at).strftime("%H:%M ngày %d/%m/%Y")
        lines.append(f"Hẹn trả kết quả: {due}.")
    if note:
        lines.append(f"Ghi chú của cơ quan: {note}" if action != "submit" else note)
    notify(user=User(pk=dossier.applicant_user_id), title=title, body="\n".join(lines),
           link=f"/ca-nhan/ho-so/{dossier.code}", email=dossier.applicant_email,
           phone=dossier.applicant_phone)


def check_can_act(actor: User, dossier: Dossier, action: str) -> None:
    """Raise NotFound when the actor may not even see the dossier, PermissionDenied when they
    see it but their role or agency may not take this action."""
    if not can_see(actor, dossier):
        raise NotFound("Không tìm thấy hồ sơ.")
    if actor.is_applicant:
        if action not in APPLICANT_ACTIONS or dossier.applicant_user_id != actor.pk:
            raise PermissionDenied("Người nộp hồ sơ không được thực hiện thao tác này.")
        return
    if actor.role not in ACTION_ROLES.get(action, set()):
        raise PermissionDenied(
            f"Vai trò «{Role(actor.role).label}» không được thực hiện thao tác này."
        )
    home = dossier.agency_id if action in {"receive", "refuse", "return-result"} else (
        dossier.current_agency_id
    )
    if actor.agency_id != home:
        raise PermissionDenied("Hồ sơ đang do cơ quan khác xử lý.")


def _transition(dossier: Dossier, action: str) -> int:
    allowed, target = TRANSITIONS[action]
    if dossier.status not in allowed:
        raise InvalidTransition(
            f"Không thể «{Action(action).label.lower()}» khi hồ sơ đang ở trạng thái "
            f"«{Status(dossier.status).label}».",
            current_status=dossier.status,
        )
    return target if target is not None else dossier.resume_status


def _current_step(dossier: Dossier) -> DossierStep | None:
    return DossierStep.objects.filter(dossier=dossier, position=dossier.current_step).first()


def check_step(actor: User, dossier: Dossier, action: str, *, at: datetime | None = None,
               steps: list[DossierStep] | None = None) -> None:
    """What an action needs of the dossier's process besides its status, raised as the action
    raises it: forwarding is done by the role of the current step and not from the last one;
    approving (and deciding not to resolve) at the leader's step; one apology letter, before
    the due time. `steps`: the dossier's steps when the caller has them."""
    if action not in {"forward", "approve", "reject", "extend"}:
        return
    if action == "extend":
        if hasattr(dossier, "extension"):
            raise Conflict("Việc hẹn lại ngày trả kết quả chỉ được thực hiện một lần.")
        if dossier.due_at is None or (at or timezone.now()) >= dossier.due_at:
            raise Conflict("Văn bản xin lỗi phải được gửi trước khi hồ sơ đến hạn.")
        return
    if steps is None:
        steps = list(DossierStep.objects.filter(dossier=dossier).order_by("position"))
    step = next((s for s in steps if s.position == dossier.current_step), None)
    if action in {"approve", "reject"}:
        if step is None or step.role != Role.LEADER:
            raise InvalidTransition("Hồ sơ chưa được chuyển tới bước lãnh đạo phê duyệt.")
        return
    if step is not None and step.role != actor.role:
        raise PermissionDenied(f"Bước hiện tại («{step.name}») do vai trò khác thực hiện.")
    nxt = next((s for s in steps if s.position == dossier.current_step + 1), None)
    if nxt is None or (nxt.role == Role.RECEIVER and nxt.position == len(steps)):
        raise InvalidTransition("Hồ sơ đã ở bước cuối; cần lãnh đạo phê duyệt.")


# The order of the officers' buttons.
OFFICER_ACTIONS = ("receive", "refuse", "request-supplement", "forward", "approve", "reject",
                   "extend", "return-result")


def allowed_actions(actor: User, dossier: Dossier, *, at: datetime | None = None,
                    steps: list[DossierStep] | None = None) -> list[str]:
    """The actions the services would accept from `actor` now (an officer's buttons, the
    applicant's "supplement" and "withdraw"): the same checks (who, from which status, the
    process), without the request's own fields (a note, an agency, a date) that are checked
    when the action is taken. The portal, the back office and the API list these."""
    found = []
    candidates = sorted(APPLICANT_ACTIONS) if actor.is_applicant else OFFICER_ACTIONS
    if steps is None and not actor.is_applicant:  # read once, not once per action
        steps = list(DossierStep.objects.filter(dossier=dossier).order_by("position"))
    for action in candidates:
        try:  # the status first: it needs no query
            _transition(dossier, action)
            check_can_act(actor, dossier, action)
            check_step(actor, dossier, action, at=at, steps=steps)
        except DomainError:
            continue
        found.append(action)
    return found


def _attach(actor: User, ids: list, dossier: Dossier, purpose: str) -> int:
    ids = [str(i) for i in ids or []]
    if not ids:
        return 0
    try:
        found = Attachment.objects.select_for_update().filter(pk__in=ids)
        found = list(found)
    except (ValueError, TypeError) as exc:  # malformed UUID
        raise ValidationFailed("Mã tệp đính kèm không hợp lệ.") from exc
    if len(found) != len(set(ids)):
        raise ValidationFailed("Có tệp đính kèm không tồn tại.")
    for a in found:
        if a.owner_id != actor.pk:
            raise ValidationFailed("Có tệp đính kèm không thuộc về người nộp.")
        if a.dossier_id is not None:
            raise ValidationFailed(f"Tệp «{a.original_name}» đã được dùng cho hồ sơ khác.")
    Attachment.objects.filter(pk__in=ids).update(dossier=dossier, purpose=purpose)
    return len(found)


# --- submission ------------------------------------------------------------------------


# The document code of the authorisation (giấy ủy quyền) a "nộp thay" dossier carries.
AUTHORISATION_DOCUMENT = "giay_uy_quyen"


def applicant_and_submitter(*, actor: User, applicant: dict | None, on_behalf: bool,
                            attachments: list | None) -> tuple[dict, dict | None]:
    """Who a dossier is in the name of, and who filed it for them (nộp thay), or None.

    An online dossier is in the name of the signed-in person: the identity number is the
    account's (another one is refused unless "nộp thay" is declared), and so is the name once
    the identity provider has verified it; only the contact details come from the form.
    Filing for another person is declared (`on_behalf`): the represented person's name and
    identity number, and their authorisation attached (Civil Code 2015 art. 138, 562: acting
    for another needs their authorisation). The one-stop desk types the applicant it has in
    front of it, as before."""
    applicant = applicant or {}
    if not actor.is_applicant:
        return validate_applicant(applicant, business=False), None
    business = actor.role == Role.BUSINESS
    if not actor.id_number:
        raise ValidationFailed(
            "Tài khoản của bạn chưa có số định danh đã xác thực, nên chưa nộp được hồ sơ trực "
            "tuyến. Vui lòng đăng nhập bằng định danh điện tử (VNeID).")
    contact = {k: applicant.get(k) or getattr(actor, k, "") for k in ("phone", "email")}
    if not on_behalf:
        verified = "full_name" in (actor.verified_fields or [])
        own = {"full_name": actor.full_name if verified
               else (applicant.get("full_name") or actor.full_name),
               "id_number": actor.id_number}
        other = (applicant.get("id_number") or "").strip()
        if other and other != actor.id_number:
            message = (f"Hồ sơ trực tuyến đứng tên người đăng nhập (số định danh "
                       f"{actor.id_number}). Để nộp hồ sơ cho người khác, hãy khai báo «nộp "
                       "thay» và đính kèm giấy ủy quyền.")
            raise ValidationFailed(message, errors={"id_number": message})
        person = validate_applicant(
            {**own, **contact, "address": applicant.get("address") or actor.address},
            business=business)
        return person, None
    submitter = validate_applicant(
        {"full_name": actor.full_name, "id_number": actor.id_number}, business=business)
    person = validate_applicant({**applicant, **contact}, business=False)
    if person["id_number"] == actor.id_number:
        message = "Người được nộp thay phải là người khác với người đăng nhập."
        raise ValidationFailed(message, errors={"id_number": message})
    ids = [str(i) for i in attachments or [] if _is_uuid(i)]
    if not Attachment.objects.filter(pk__in=ids, owner=actor, dossier__isnull=True,
                                     document_code=AUTHORISATION_DOCUMENT).exists():
        message = "Nộp thay cần đính kèm giấy ủy quyền của người được nộp thay."
        raise ValidationFailed(message, errors={AUTHORISATION_DOCUMENT: message})
    return person, {"full_name": submitter["full_name"], "id_number": submitter["id_number"]}


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def submit_dossier(*, actor: User, procedure: str, agency: str, applicant: dict, form: dict,
                   attachments: list | None = None, channel: str = Channel.ONLINE,
                   at: datetime | None = None, digitised: bool | None = None,
                   on_behalf: bool = False) -> Dossier:
    """Nộp hồ sơ: a citizen or business submits (for themselves, or for another person
    with their authorisation: nộp thay); the dossier gets its code at once."""
    if actor.role not in {Role.CITIZEN, Role.BUSINESS, Role.RECEIVER}:
        raise PermissionDenied("Chỉ công dân, doanh nghiệp hoặc cán bộ tiếp nhận được nộp hồ sơ.")
    if channel not in Channel.values:
        raise ValidationFailed("Kênh nộp phải là online, counter hoặc post.")
    ref = procedure_reference(procedure)
    if ref is None:
        raise ValidationFailed(f"Không có thủ tục mã «{procedure}».")
    proc, ag = ref.procedure, ref.agencies.get(agency)
    if ag is None:
        raise ValidationFailed(f"Cơ quan «{agency}» không tiếp nhận thủ tục này.")
    if actor.role == Role.RECEIVER and actor.agency_id != ag.pk:
        raise PermissionDenied("Cán bộ chỉ tiếp nhận hồ sơ cho cơ quan của mình.")
    person, submitter = applicant_and_submitter(actor=actor, applicant=applicant,
                                                on_behalf=on_behalf, attachments=attachments)
    data = validate_form(proc.form, form if form is not None else {})
    at = at or timezone.now()
    if not ref.steps:
        raise ValidationFailed("Thủ tục chưa có quy trình xử lý.")
    with transaction.atomic():
        dossier = Dossier.objects.create(
            code=next_code(ag, at),
            procedure=proc, agency=ag, current_agency=ag,
            applicant_user=actor if actor.is_applicant else None,
            applicant_name=person["full_name"], applicant_id_number=person["id_number"],
            applicant_phone=person["phone"], applicant_email=person["email"],
            applicant_address=person["address"], form=data, channel=channel,
            submitter_name=submitter["full_name"] if submitter else "",
            submitter_id_number=submitter["id_number"] if submitter else "",
            status=S.NEW, current_step=1, submitted_at=at, fee=proc.fee,
            # Số hóa: online dossiers are digital from the start; a paper dossier is
            # digitised when the desk scans it in (indicator group 4 of Decision 766).
            digitised=(channel == Channel.ONLINE) if digitised is None else digitised,
        )
        count = _attach(actor, attachments, dossier, "submission")
        _record(actor=actor, dossier=dossier, action="submit", from_status=None,
                data={"attachments": count, "channel": channel,
                      **({"on_behalf_of": person["id_number"]} if submitter else {})}, at=at)
    return dossier


# --- deadlines -------------------------------------------------------------------------


def _create_steps(dossier: Dossier) -> None:
    """The procedure's internal process becomes the dossier's steps when it is received
    (the reception step started at submission). Kept if they exist already."""
    if DossierStep.objects.filter(dossier=dossier).exists():
        return
    ref = procedure_reference(dossier.procedure.code)
    steps = ref.steps if ref is not None else tuple(dossier.procedure.steps.all())
    by_key = ref.step_agencies if ref is not None else {}
    DossierStep.objects.bulk_create(
        DossierStep(dossier=dossier, position=i, name=s.name, role=s.role,
                    agency=by_key.get(s.agency_key, dossier.agency), share=s.share,
                    started_at=dossier.submitted_at if i == 1 else None)
        for i, s in enumerate(steps, 1)
    )


def _plan_steps(dossier: Dossier, start: datetime, cal) -> None:
    """Due time of every step from its share of the legal time, counted from the clock
    start in working time (one dossier, one clock, also across agencies)."""
    total = Decimal(dossier.procedure.working_days)
    steps = list(DossierStep.objects.filter(dossier=dossier).order_by("position"))
    cumulative = Decimal(0)
    for s in steps:
        cumulative += s.share
        s.due_at = cal.add_working_days(start, total * cumulative)
    steps[-1].due_at = cal.add_working_days(start, total)
    DossierStep.objects.bulk_update(steps, ["due_at"])
    dossier.due_at = steps[-1].due_at
    dossier.original_due_at = dossier.due_at


def _shift_dues(dossier: Dossier, minutes: int, cal) -> None:
    """After a pause: the due dates move by the working time spent waiting."""
    if minutes <= 0 or dossier.due_at is None:
        return
    dossier.due_at = cal.add_working_minutes(dossier.due_at, minutes)
    pending = list(DossierStep.objects.filter(dossier=dossier, finished_at__isnull=True,
                                              due_at__isnull=False))
    for s in pending:
        s.due_at = cal.add_working_minutes(s.due_at, minutes)
    DossierStep.objects.bulk_update(pending, ["due_at"])


def _advance(dossier: Dossier, actor: User | None, at: datetime, note: str = "",
             to_agency: Agency | None = None) -> DossierStep | None:
    """Close the current step and open the next one."""
    step = _current_step(dossier)
    if step is not None:
        step.finished_at, step.actor, step.note = at, actor, note
        step.save(update_fields=["finished_at", "actor", "note"])
    nxt = DossierStep.objects.filter(dossier=dossier, position=dossier.current_step + 1).first()
    if nxt is None:
        return None
    nxt.started_at = at
    if to_agency is not None:
        nxt.agency = to_agency
    nxt.save(update_fields=["started_at", "agency"])
    dossier.current_step = nxt.position
    dossier.current_agency_id = nxt.agency_id
    return nxt


# --- actions ---------------------------------------------------------------------------


def receive_dossier(*, actor: User, dossier: Dossier, note: str = "") -> Dossier:
    """Tiếp nhận: the desk accepts a complete dossier and the clock starts."""
    check_can_act(actor, dossier, "receive")
    with transaction.atomic():
        dossier = _lock(dossier)
        old = dossier.status
        dossier.status = _transition(dossier, "receive")
        at = timezone.now()
        cal = calendar_for(dossier.agency)
        dossier.received_at = at
        dossier.clock_started_at = cal.next_working_moment(at)
        _create_steps(dossier)
        _plan_steps(dossier, dossier.clock_started_at, cal)
        _advance(dossier, actor, at, note)
        if needs_payment_first(dossier):
            # Yêu cầu thực hiện nghĩa vụ tài chính: processing waits for the fee, and the
            # clock with it (research note §3.4).
            dossier.status, dossier.resume_status = S.WAITING_PAYMENT, S.RECEIVED
            dossier.paused_at = dossier.clock_started_at
        dossier.save()
        _record(actor=actor, dossier=dossier, action="receive", from_status=old, note=note,
                data={"due_at": dossier.due_at.isoformat()})
    return dossier


def refuse_dossier(*, actor: User, dossier: Dossier, note: str) -> Dossier:
    """Từ chối tiếp nhận (Mẫu 03), with the reason."""
    check_can_act(actor, dossier, "refuse")
    if not (note or "").strip():
        raise ValidationFailed("Cần ghi rõ lý do từ chối tiếp nhận.")
    return _end(actor, dossier, "refuse", note)


def _end(actor, dossier, action, note, data=None) -> Dossier:
    with transaction.atomic():
        dossier = _lock(dossier)
        old = dossier.status
        dossier.status = _transition(dossier, action)
        check_step(actor, dossier, action)
        at = timezone.now()
        dossier.ended_at = dossier.ended_at or at
        dossier.paused_at = None
        step = _current_step(dossier)
        if step is not None and step.finished_at is None:
            step.finished_at, step.actor, step.note = at, actor, note
            step.save(update_fields=["finished_at", "actor", "note"])
        dossier.save()
        _record(actor=actor, dossier=dossier, action=action, from_status=old, note=note,
                data=data)
    return dossier


def request_supplement(*, actor: User, dossier: Dossier, items: list[str],
                       note: str = "") -> Dossier:
    """Yêu cầu bổ sung (Mẫu 02): once, with the list of what is missing; the clock pauses."""
    check_can_act(actor, dossier, "request-supplement")
    items = [str(i).strip() for i in (items or []) if str(i).strip()]
    if not items:
        raise ValidationFailed("Cần liệt kê các giấy tờ, nội dung phải bổ sung.")
    if len(items) > 50 or any(len(i) > 500 for i in items):
        raise ValidationFailed("Danh sách bổ sung quá dài (tối đa 50 mục, 500 ký tự mỗi mục).")
    with transaction.atomic():
        dossier = _lock(dossier)
        old = dossier.status
        dossier.status = _transition(dossier, "request-supplement")
        if dossier.supplement_count >= 1:
            raise Conflict(
                "Hồ sơ đã được yêu cầu bổ sung một lần; theo quy định chỉ yêu cầu bổ sung"
                " một lần (Nghị định 118/2025/NĐ-CP)."
            )
        at = timezone.now()
        dossier.resume_status = old
        dossier.supplement_count += 1
        dossier.paused_at = at
        Supplement.objects.create(dossier=dossier, requested_at=at, requested_by=actor,
                                  items=items, note=note)
        dossier.save()
        _record(actor=actor, dossier=dossier, action="request-supplement", from_status=old,
                note=note, data={"items": items})
    return dossier


def supplement_dossier(*, actor: User, dossier: Dossier, attachments: list | None = None,
                       form: dict | None = None, note: str = "") -> Dossier:
    """Bổ sung: the applicant adds what was asked; the clock resumes where it stopped."""
    check_can_act(actor, dossier, "supplement")
    with transaction.atomic():
        dossier = _lock(dossier)
        old = dossier.status
        dossier.status = _transition(dossier, "supplement")
        at = timezone.now()
        count = _attach(actor, attachments, dossier, "supplement")
        if form:
            merged = {**dossier.form, **form}
            dossier.form = validate_form(dossier.procedure.form, merged)
        if count == 0 and not form:
            raise ValidationFailed("Cần đính kèm giấy tờ hoặc sửa tờ khai để bổ sung.")
        sup = dossier.supplements.filter(completed_at__isnull=True).order_by("-id").first()
        if sup:
            sup.completed_at = at
            sup.save(update_fields=["completed_at"])
        _resume_clock(dossier, at)
        dossier.save()
        _record(actor=actor, dossier=dossier, action="supplement", from_status=old, note=note,
                data={"attachments": count})
    return dossier


def _resume_clock(dossier: Dossier, at: datetime) -> None:
    """End a wait for the applicant (supplement, payment): the working time spent waiting
    does not count, so every remaining due date moves by it."""
    if dossier.clock_started_at is not None and dossier.paused_at is not None:
        cal = calendar_for(dossier.agency)
        waited = cal.working_minutes_between(max(dossier.paused_at, dossier.clock_started_at),
                                             at)
        dossier.paused_minutes += waited
        _shift_dues(dossier, waited, cal)
    dossier.paused_at = None
    dossier.resume_status = None


def record_payment(*, dossier: Dossier, amount: int, at: datetime, online: bool = True,
                   reference: str = "", locked: bool = False) -> bool:
    """The fee is paid (a confirmed gateway callback or a querydr answer; Decree 118/2025
    Art. 24). A dossier waiting for payment (status 6) continues where it stopped; the time
    it waited does not count. Called by the payments app inside its own transaction
    (locked=True: the caller has read `dossier` under its row lock in this transaction).
    Returns False when the dossier had been paid already (a double payment to refund)."""
    with transaction.atomic(savepoint=False):
        # The hot path of every confirmed payment: lock the row alone (no joins); the
        # agency is read only when the clock has to resume.
        if not locked:
            dossier = Dossier.objects.select_for_update().get(pk=dossier.pk)
        first = not dossier.paid_online
        dossier.paid_online = dossier.paid_online or online
        old = dossier.status
        fields = ["paid_online", "updated_at"]
        if old == S.WAITING_PAYMENT:
            dossier.status = _transition(dossier, "confirm-payment")
            _resume_clock(dossier, at)
            fields += ["status", "resume_status", "paused_at", "paused_minutes", "due_at"]
        fixedsql.save_fields(dossier, fields)
        _record(actor=None, dossier=dossier, action="pay", from_status=old,
                data={"amount": amount, "online": online, "reference": reference}, at=at)
    return first


def fee_unpayable(dossier: Dossier) -> str | None:
    """Why the dossier's fee cannot be paid now (a Vietnamese sentence), or None when it can:
    it has a fee, not paid yet, and its handling has not ended. One rule for the payment
    order (payments.create_payment) and the portal's "Thanh toán" button."""
    if dossier.fee <= 0:
        return "Thủ tục này không thu phí, lệ phí."
    if dossier.paid_online:
        return "Hồ sơ đã được thanh toán."
    if dossier.status in ENDED_STATUSES:
        return f"Hồ sơ ở trạng thái «{Status(dossier.status).label}», không thanh toán."
    return None


def needs_payment_first(dossier: Dossier) -> bool:
    """The procedure asks for the fee before processing and it is not paid yet."""
    return (dossier.procedure.payment_before_processing and dossier.fee > 0
            and not dossier.paid_online)


def forward_agencies(dossier: Dossier):
    """The agencies a dossier may be forwarded to (chuyển liên thông): only those in its
    procedure's process (the agencies that receive the procedure, the agencies named by its
    steps, and its declared inter-agency partners), active, other than the one holding it.
    An agency outside the process would read the applicant's data and could approve a
    result it has no competence for. One rule for the API and the back office's list."""
    proc = dossier.procedure
    keys = [k for k in proc.steps.values_list("agency_key", flat=True) if k]
    return (Agency.objects.filter(Q(pk__in=proc.agencies.values("pk"))
                                  | Q(pk__in=proc.partners.values("pk")) | Q(key__in=keys),
                                  active=True)
            .exclude(pk=dossier.current_agency_id).order_by("name"))


def forward_dossier(*, actor: User, dossier: Dossier, note: str = "",
                    agency: str | None = None) -> Dossier:
    """Chuyển xử lý: to the next step of the process, or to another agency (liên thông)."""
    check_can_act(actor, dossier, "forward")
    to_agency = None
    if agency:
        to_agency = forward_agencies(dossier).filter(code=agency).first()
        if to_agency is None:
            raise ValidationFailed(
                f"Không chuyển được hồ sơ tới cơ quan mã «{agency}»: cơ quan này không tham "
                "gia quy trình giải quyết thủ tục (không tiếp nhận thủ tục, không thực hiện "
                "bước nào và không phải cơ quan phối hợp liên thông đã khai báo).")
    with transaction.atomic():
        dossier = _lock(dossier)
        old = dossier.status
        dossier.status = _transition(dossier, "forward")
        check_step(actor, dossier, "forward")
        at = timezone.now()
        nxt = _advance(dossier, actor, at, note, to_agency)
        dossier.save()
        _record(actor=actor, dossier=dossier, action="forward", from_status=old, note=note,
                data={"step": nxt.position, "step_name": nxt.name,
                      "agency": dossier.current_agency.code if to_agency is None
                      else to_agency.code})
    return dossier


def approve_dossier(*, actor: User, dossier: Dossier, note: str = "") -> Dossier:
    """Phê duyệt: the leader signs the result; processing ends (Đã xử lý xong)."""
    check_can_act(actor, dossier, "approve")
    with transaction.atomic():
        dossier = _lock(dossier)
        old = dossier.status
        dossier.status = _transition(dossier, "approve")
        check_step(actor, dossier, "approve")
        at = timezone.now()
        dossier.finished_at = at
        dossier.ended_at = dossier.ended_at or at
        _advance(dossier, actor, at, note)
        dossier.current_agency = dossier.agency
        dossier.save()
        _record(actor=actor, dossier=dossier, action="approve", from_status=old, note=note)
    return dossier


def reject_dossier(*, actor: User, dossier: Dossier, note: str) -> Dossier:
    """Không giải quyết: the leader decides against the request, with the reason; the
    dossier stops (Dừng xử lý) and the written reason goes to the applicant."""
    check_can_act(actor, dossier, "reject")
    if not (note or "").strip():
        raise ValidationFailed("Cần ghi rõ lý do không giải quyết.")
    return _end(actor, dossier, "reject", note)


def return_result(*, actor: User, dossier: Dossier, note: str = "") -> Dossier:
    """Trả kết quả: the desk hands over the result."""
    check_can_act(actor, dossier, "return-result")
    with transaction.atomic():
        dossier = _lock(dossier)
        old = dossier.status
        dossier.status = _transition(dossier, "return-result")
        at = timezone.now()
        dossier.returned_at = at
        step = _current_step(dossier)
        if step is not None and step.finished_at is None:
            step.finished_at, step.actor, step.note = at, actor, note
            step.save(update_fields=["finished_at", "actor", "note"])
        dossier.save()
        _record(actor=actor, dossier=dossier, action="return-result", from_status=old,
                note=note)
    return dossier


def withdraw_dossier(*, actor: User, dossier: Dossier, note: str = "") -> Dossier:
    """Rút hồ sơ at the applicant's request (Decree 118/2025 Art. 21; Mẫu 05)."""
    check_can_act(actor, dossier, "withdraw")
    return _end(actor, dossier, "withdraw", note)


def check_new_appointment(dossier: Dossier, new_due_at: datetime) -> None:
    """The new appointment of an apology letter (Mẫu 04): after the current one, and at
    most CQS_MAX_EXTENSION_WORKING_DAYS working days after it. Decree 61/2018/NĐ-CP
    (repeated by the 2025 provincial rules, research note one-stop-rules.md §3.5) allows the
    date to be reset once and asks for the proposed new date; it sets no ceiling, so the
    ceiling is the province's setting (default 30 working days), lest a date such as
    31/12/9999 put a dossier out of every deadline."""
    check_date(new_due_at, "Ngày hẹn trả mới")
    if new_due_at <= dossier.due_at:
        raise ValidationFailed("Ngày hẹn mới phải sau ngày hẹn trả hiện tại.")
    days = settings.CQS_MAX_EXTENSION_WORKING_DAYS
    latest = calendar_for(dossier.agency).add_working_days(dossier.due_at, days)
    if new_due_at > latest:
        raise ValidationFailed(
            f"Ngày hẹn trả mới chỉ được sau ngày hẹn hiện tại tối đa {days} ngày làm việc "
            f"(muộn nhất {timezone.localtime(latest, VN):%H:%M ngày %d/%m/%Y}).")


def extend_due_date(*, actor: User, dossier: Dossier, new_due_at: datetime,
                    reason: str) -> Dossier:
    """Văn bản xin lỗi và đề nghị gia hạn (Mẫu 04): before the due date passes, once."""
    check_can_act(actor, dossier, "extend")
    if not (reason or "").strip():
        raise ValidationFailed("Cần ghi rõ lý do chậm trễ.")
    with transaction.atomic():
        dossier = _lock(dossier)
        _transition(dossier, "extend")
        at = timezone.now()
        check_step(actor, dossier, "extend", at=at)
        if new_due_at.tzinfo is None:
            new_due_at = new_due_at.replace(tzinfo=VN)
        check_new_appointment(dossier, new_due_at)
        Extension.objects.create(dossier=dossier, at=at, by=actor, old_due_at=dossier.due_at,
                                 new_due_at=new_due_at, reason=reason)
        old_due = dossier.due_at
        dossier.due_at = new_due_at
        DossierStep.objects.filter(dossier=dossier, position=dossier.steps.count()).update(
            due_at=new_due_at
        )
        dossier.save()
        _record(actor=actor, dossier=dossier, action="extend", from_status=dossier.status,
                note=reason, data={"old_due_at": old_due.isoformat(),
                                   "new_due_at": new_due_at.isoformat()})
    return dossier


def rate_dossier(*, actor: User, dossier: Dossier, rating: str, comment: str = "") -> Dossier:
    """The applicant's assessment once the result is returned (Decision 766, indicator 5.4):
    satisfied / normal / unsatisfied, with a comment. Once per dossier."""
    if not can_see(actor, dossier) or dossier.applicant_user_id != actor.pk:
        raise NotFound("Không tìm thấy hồ sơ.")
    if rating not in Rating.values:
        raise ValidationFailed(
            "Mức đánh giá phải là «satisfied» (hài lòng), «normal» (bình thường) "
            "hoặc «unsatisfied» (không hài lòng)."
        )
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise ValidationFailed("Ý kiến đánh giá không được dài quá 2.000 ký tự.")
    if rating == Rating.UNSATISFIED and not comment:
        raise ValidationFailed("Xin cho biết lý do chưa hài lòng để cơ quan khắc phục.")
    with transaction.atomic():
        dossier = _lock(dossier)
        if dossier.status != Status.RETURNED:
            raise Conflict("Chỉ đánh giá được sau khi đã nhận kết quả.")
        if dossier.rating:
            raise Conflict("Hồ sơ này đã được đánh giá.")
        dossier.rating, dossier.rating_comment, dossier.rated_at = rating, comment, timezone.now()
        dossier.save(update_fields=["rating", "rating_comment", "rated_at", "updated_at"])
        _record(actor=actor, dossier=dossier, action="rate", from_status=dossier.status,
                note=comment, data={"rating": rating})
    return dossier


ACTIONS = {
    "receive": lambda actor, d, body: receive_dossier(actor=actor, dossier=d,
                                                      note=body.get("note", "")),
    "refuse": lambda actor, d, body: refuse_dossier(actor=actor, dossier=d,
                                                    note=body.get("note", "")),
    "request-supplement": lambda actor, d, body: request_supplement(
        actor=actor, dossier=d, items=body.get("items") or [], note=body.get("note", "")),
    "supplement": lambda actor, d, body: supplement_dossier(
        actor=actor, dossier=d, attachments=body.get("attachments"), form=body.get("form"),
        note=body.get("note", "")),
    "forward": lambda actor, d, body: forward_dossier(
        actor=actor, dossier=d, note=body.get("note", ""), agency=body.get("agency")),
    "approve": lambda actor, d, body: approve_dossier(actor=actor, dossier=d,
                                                      note=body.get("note", "")),
    "reject": lambda actor, d, body: reject_dossier(actor=actor, dossier=d,
                                                    note=body.get("note", "")),
    "return-result": lambda actor, d, body: return_result(actor=actor, dossier=d,
                                                          note=body.get("note", "")),
    "withdraw": lambda actor, d, body: withdraw_dossier(actor=actor, dossier=d,
                                                        note=body.get("note", "")),
    "extend": lambda actor, d, body: extend_due_date(
        actor=actor, dossier=d, new_due_at=body["new_due_at"], reason=body.get("note", "")),
    "rate": lambda actor, d, body: rate_dossier(
        actor=actor, dossier=d, rating=body.get("rating") or "", comment=body.get("note", "")),
}


def act(*, actor: User, dossier: Dossier, action: str, body: dict) -> Dossier:
    """Dispatch one action by its API name."""
    if action not in ACTIONS:
        raise NotFound(f"Không có thao tác «{action}».")
    if action == "extend" and not isinstance(body.get("new_due_at"), datetime):
        raise ValidationFailed("Cần ngày hẹn trả mới (new_due_at).")
    return ACTIONS[action](actor, dossier, body)


# --- attachments -----------------------------------------------------------------------

ALLOWED_TYPES = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}


def sniff_type(head: bytes, stream) -> str | None:
    """The file's type from its content, not its name: PDF, JPEG, PNG or DOCX."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"PK\x03\x04"):
        import zipfile

        try:
            stream.seek(0)
            with zipfile.ZipFile(stream) as z:
                if "word/document.xml" in z.namelist():
                    return (
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                    )
        except zipfile.BadZipFile:
            return None
    return None


def store_attachment(*, actor: User, upload, document_code: str = "") -> Attachment:
    """Keep an uploaded file through the storage interface after checking its size and its
    type by content; record its SHA-256."""
    import hashlib
    import uuid

    from django.conf import settings
    from django.core.files.storage import default_storage

    limit = settings.CQS_MAX_UPLOAD_BYTES
    if upload is None:
        raise ValidationFailed("Chưa chọn tệp.")
    if upload.size == 0:
        raise ValidationFailed("Tệp rỗng.")
    if upload.size > limit:
        raise ValidationFailed(f"Tệp lớn hơn {limit // (1024 * 1024)} MB.")
    if len(document_code) > 40:
        raise ValidationFailed("Mã thành phần hồ sơ dài quá 40 ký tự.")
    upload.seek(0)
    head = upload.read(16)
    kind = sniff_type(head, upload)
    if kind is None:
        raise ValidationFailed("Chỉ nhận tệp PDF, JPEG, PNG hoặc DOCX (kiểm tra theo nội dung).")
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    att_id = uuid.uuid4()
    name = default_storage.save(f"attachments/{att_id.hex[:2]}/{att_id.hex}{ALLOWED_TYPES[kind]}",
                                upload)
    original = (getattr(upload, "name", "") or "tep")[-255:]
    with transaction.atomic():
        att = Attachment.objects.create(
            id=att_id, owner=actor, storage_name=name, original_name=original,
            content_type=kind, size=upload.size, sha256=digest.hexdigest(),
            document_code=document_code,
        )
        audit.record(actor=actor, verb="file.upload", target=att,
                     data={"sha256": att.sha256, "size": att.size, "type": kind})
    return att
