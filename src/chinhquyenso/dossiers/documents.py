"""The one-stop forms of a dossier (Circular 03/2025/TT-VPCP, Phụ lục I, Mẫu 01–07), built
from the dossier's own records: its receipt, supplement request, refusal, apology letter,
stop notice, process-control sheet, and the agency's tracking register."""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Min

from chinhquyenso.core.errors import Conflict, NotFound, ValidationFailed

from . import pdfforms as pf
from .models import STOPPED_STATUSES, Dossier, DossierEvent, Status

FORM_NUMBERS = tuple(pf.FORMS)  # "01" … "07"
# Who gets which form. Mẫu 01–05 are issued to the applicant (the receipt, the supplement
# request, the refusal, the apology, the stop notice: Circular 03/2025/TT-VPCP, Phụ lục I);
# Mẫu 06, the process-control sheet, travels with the dossier between the units that handle
# it (it names the officers who handed it over); Mẫu 07 is the agency's register.
APPLICANT_FORMS = ("01", "02", "03", "04", "05")
DOSSIER_FORMS = ("01", "02", "03", "04", "05", "06")
# Why a form does not exist yet for a dossier (409).
NOT_YET = {
    "01": "Hồ sơ chưa được tiếp nhận nên chưa có giấy tiếp nhận, hẹn trả.",
    "02": "Hồ sơ chưa có yêu cầu bổ sung.",
    "03": "Hồ sơ không bị từ chối tiếp nhận.",
    "04": "Hồ sơ chưa có văn bản xin lỗi, hẹn lại ngày trả.",
    "05": "Hồ sơ không bị dừng giải quyết.",
    "06": "Hồ sơ chưa được tiếp nhận.",
}


def form_exists(d: Dossier, number: str) -> bool:
    """The dossier has reached the point where form `number` exists."""
    if number in ("01", "06"):
        return d.received_at is not None
    if number == "02":
        return d.supplements.exists()
    if number == "03":
        return d.status == Status.REFUSED
    if number == "04":
        return hasattr(d, "extension")
    if number == "05":
        return d.status in STOPPED_STATUSES
    return False


def may_have_form(user, number: str) -> bool:
    """The applicant (and the person filing for them) gets the forms issued to them; officers
    who may see the dossier get every form of it."""
    return number in (APPLICANT_FORMS if getattr(user, "is_applicant", True) else DOSSIER_FORMS)


def forms_for(user, d: Dossier) -> list[tuple[str, str]]:
    """The forms of this dossier `user` may download now: [(number, title)] (the portal, the
    back office and the API list the same)."""
    return [(n, pf.FORMS[n]) for n in DOSSIER_FORMS
            if may_have_form(user, n) and form_exists(d, n)]


def _days(value: Decimal):
    return int(value) if value == int(value) else value


def lookup_url(code: str) -> str:
    return f"{settings.CQS_PUBLIC_URL}/tra-cuu?ma={code}"


def _info(d: Dossier) -> pf.DossierInfo:
    receiver = (DossierEvent.objects.filter(dossier=d, action="receive")
                .values_list("actor_label", flat=True).first())
    parent = d.agency.parent.name if d.agency.parent_id else ""
    coordinating = tuple(sorted({s.agency.name for s in d.steps.select_related("agency")
                                 if s.agency_id != d.agency_id}))
    return pf.DossierInfo(
        code=d.code, agency_name=d.agency.name, procedure_name=d.procedure.name,
        applicant=pf.Applicant(d.applicant_name, d.applicant_id_number, d.applicant_address,
                               d.applicant_phone, d.applicant_email),
        received_at=d.received_at or d.submitted_at,
        due_at=d.due_at or d.original_due_at or d.submitted_at,
        working_days=_days(d.procedure.working_days), parent_agency=parent,
        coordinating_agencies=coordinating, received_by=receiver or "",
    )


def _last_event(d: Dossier, *actions: str) -> DossierEvent:
    e = DossierEvent.objects.filter(dossier=d, action__in=actions).order_by("-at", "-id").first()
    if e is None:
        raise Conflict("Hồ sơ chưa có sự kiện tương ứng với mẫu này.")
    return e


def render_form(d: Dossier, number: str) -> bytes:
    """The PDF of form `number` for dossier `d`; 409 when the dossier has not reached the
    point where that form exists (a refusal notice for a dossier that was not refused…)."""
    if number not in FORM_NUMBERS:
        raise NotFound(f"Không có mẫu số «{number}»; các mẫu: {', '.join(FORM_NUMBERS)}.")
    if number == "07":
        raise ValidationFailed("Mẫu 07 (sổ theo dõi) là sổ của cơ quan: dùng /api/v1/register.")
    if not form_exists(d, number):
        raise Conflict(NOT_YET[number])
    info = _info(d)
    if number == "01":
        components = [pf.Component(a.original_name) for a in d.attachments.order_by("created_at")
                      if a.purpose == "submission"]
        return pf.render_receipt(info, components, lookup_url(d.code))
    if number == "02":
        sup = d.supplements.order_by("-id").first()
        officer = sup.requested_by.full_name if sup.requested_by else ""
        return pf.render_supplement_request(info, sup.items, officer, sup.requested_at)
    if number == "03":
        e = _last_event(d, "refuse")
        return pf.render_refusal(info, e.note, e.actor_label, e.at)
    if number == "04":
        ext = d.extension
        info = pf.DossierInfo(**{**info.__dict__, "due_at": ext.old_due_at})
        return pf.render_apology(info, ext.reason, ext.new_due_at,
                                 ext.by.full_name or ext.by.username, ext.at)
    if number == "05":
        e = _last_event(d, "withdraw", "reject")
        return pf.render_stop_notice(info, e.note or "Theo đề nghị của người nộp hồ sơ.",
                                     e.at, e.actor_label, e.at)
    # 06: the process-control sheet, one row per hand-over.
    steps = list(d.steps.select_related("agency").order_by("position"))
    handovers = []
    for prev, nxt in zip(steps, steps[1:], strict=False):
        if prev.finished_at is None:
            break
        handovers.append(pf.Handover(
            from_unit=f"{prev.name} ({prev.agency.short_name or prev.agency.name})",
            to_unit=f"{nxt.name} ({nxt.agency.short_name or nxt.agency.name})",
            at=prev.finished_at, result=step_result(prev) or "", note=prev.note[:200]))
    return pf.render_process_sheet(info, handovers)


def render_submission_ack(d: Dossier) -> bytes:
    """Phiếu xác nhận nộp hồ sơ trực tuyến (see pdfforms.render_submission_ack)."""
    components = [pf.Component(a.original_name) for a in d.attachments.order_by("created_at")
                  if a.purpose == "submission"]
    return pf.render_submission_ack(_info(d), components, lookup_url(d.code), d.submitted_at)


def step_result(step) -> str | None:
    """Trước hạn / Đúng hạn / Quá hạn for one step (Mẫu 06): early means finished before the
    day its due time falls on; late means after the due time."""
    if step.due_at is None or step.finished_at is None:
        return None
    if step.finished_at > step.due_at:
        return "Quá hạn"
    return "Trước hạn" if step.finished_at.date() < step.due_at.date() else "Đúng hạn"


def render_register(agency, dossiers, date_from: datetime, date_to: datetime) -> bytes:
    """Mẫu 07, the agency's tracking register for a period."""
    dossiers = list(dossiers)
    # The first hand-over of each dossier, in one query for the whole register.
    transfers = dict(DossierEvent.objects.filter(
        dossier__in=dossiers, action="forward").values("dossier_id").annotate(
        first=Min("at")).values_list("dossier_id", "first"))
    rows = []
    for d in dossiers:
        transferred = transfers.get(d.pk)
        rows.append(pf.RegisterRow(
            code=d.code, procedure_name=d.procedure.name,
            applicant=pf.Applicant(d.applicant_name, d.applicant_id_number,
                                   d.applicant_address, d.applicant_phone),
            lead_agency=d.current_agency.name, received_at=d.received_at,
            due_at=d.due_at or d.received_at, transferred_at=transferred,
            result_received_at=d.finished_at, returned_at=d.returned_at))
    period = f"Từ ngày {date_from:%d/%m/%Y} đến ngày {date_to:%d/%m/%Y}"
    return pf.render_register(agency.name, rows, period)
