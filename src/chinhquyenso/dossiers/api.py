from datetime import datetime

from django.http import HttpResponse
from django.utils import timezone
from ninja import File, Form, Header, Query, Router, Schema
from ninja import Status as Reply
from ninja.files import UploadedFile
from pydantic import Field as PField

from chinhquyenso.api import AUTH
from chinhquyenso.core import audit, throttle
from chinhquyenso.core.dates import BoundedDate, BoundedDateTime
from chinhquyenso.core.downloads import serve_file
from chinhquyenso.core.errors import NotFound, PermissionDenied, ValidationFailed
from chinhquyenso.core.idempotency import run_once
from chinhquyenso.core.schemas import ERRORS, Problem, Text, vn
from chinhquyenso.directory.models import OFFICER_ROLES, PROVINCE_ROLES

from . import documents, services
from .documents import step_result
from .models import Action, Dossier, Status
from .queries import (
    LOOKUP_SCOPE,
    LOOKUP_THROTTLED,
    agency_queue_page,
    agency_register,
    counted_public_lookup,
    get_visible,
)

router = Router(tags=["Hồ sơ"])
QUEUE_PAGE = 20


class ApplicantIn(Schema):
    full_name: Text = PField(..., max_length=150)
    id_number: Text = PField(..., max_length=20)
    phone: Text = PField("", max_length=20)
    email: Text = PField("", max_length=150)
    address: Text = PField("", max_length=500)


class DossierIn(Schema):
    procedure: str = PField(..., max_length=30)
    agency: str = PField(..., max_length=40)
    applicant: ApplicantIn | None = PField(None, description=(
        "Người đứng tên hồ sơ. Công dân, doanh nghiệp nộp cho chính mình: họ tên và số định "
        "danh lấy từ tài khoản (số định danh khác bị từ chối, 422), ở đây chỉ cần thông tin "
        "liên hệ. Nộp thay (on_behalf): người được nộp thay. Cán bộ một cửa: người nộp."))
    on_behalf: bool = PField(False, description=(
        "Nộp thay: hồ sơ đứng tên người khác (applicant), kèm giấy ủy quyền là một tệp đính "
        "kèm có document_code «giay_uy_quyen»; người nộp thay là tài khoản đang gọi."))
    form: dict = {}
    attachments: list[str] = PField([], max_length=50)


class PersonOut(Schema):
    full_name: str
    id_number: str


class Ref(Schema):
    code: str
    name: str


class Created(Schema):
    code: str
    status: int
    status_name: str
    submitted_at: datetime
    lookup_url: str


class StepOut(Schema):
    position: int
    name: str
    role: str
    agency: str
    started_at: datetime | None
    due_at: datetime | None
    finished_at: datetime | None
    result: str | None


class EventOut(Schema):
    at: datetime
    action: str
    action_name: str = PField(description="Tên thao tác bằng tiếng Việt (Action)")
    from_status: int | None
    to_status: int
    actor: str
    note: str


class SupplementOut(Schema):
    requested_at: datetime
    items: list[str]
    note: str
    completed_at: datetime | None


class AttachmentOut(Schema):
    id: str
    name: str
    content_type: str
    size: int
    sha256: str
    document_code: str
    purpose: str


class DossierOut(Schema):
    code: str
    status: int
    status_name: str
    procedure: Ref
    agency: Ref
    current_agency: Ref
    channel: str
    applicant: ApplicantIn
    submitter: PersonOut | None = None
    form: dict
    submitted_at: datetime
    received_at: datetime | None
    due_at: datetime | None
    finished_at: datetime | None
    returned_at: datetime | None
    current_step: int
    fee: int
    paid_online: bool
    rating: str | None = None
    steps: list[StepOut]
    events: list[EventOut]
    supplements: list[SupplementOut]
    attachments: list[AttachmentOut]
    actions: list[str] = PField(
        [], description="Thao tác người gọi được thực hiện lúc này (như các nút trên cổng và "
        "trang cán bộ): POST /dossiers/{code}/actions/{action}.")


class QueueItem(Schema):
    code: str
    status: int
    status_name: str
    procedure: str
    applicant_name: str
    submitted_at: datetime
    due_at: datetime | None
    overdue: bool


class QueuePage(Schema):
    items: list[QueueItem]
    count: int
    count_exact: bool
    page: int
    page_size: int


class LookupOut(Schema):
    code: str
    procedure: Ref
    agency: Ref
    status: int
    status_name: str
    submitted_at: datetime
    received_at: datetime | None
    due_at: datetime | None
    returned_at: datetime | None


class FileOut(Schema):
    id: str
    name: str
    content_type: str
    size: int
    sha256: str


class ActionIn(Schema):
    note: Text = PField("", max_length=2000)
    items: list[Text] = PField([], max_length=50)
    attachments: list[str] = PField([], max_length=50)
    form: dict | None = None
    agency: str | None = PField(None, max_length=40)
    new_due_at: BoundedDateTime | None = None
    rating: str | None = PField(None, max_length=12)


class QueueFilter(Schema):
    status: int | None = PField(None, ge=1, le=10)
    overdue: bool | None = None
    page: int = PField(1, ge=1, le=100000)


def dossier_out(d: Dossier, user=None) -> dict:
    steps = list(d.steps.select_related("agency").order_by("position"))
    return {
        "actions": services.allowed_actions(user, d, steps=steps) if user is not None else [],
        "code": d.code, "status": d.status, "status_name": Status(d.status).label,
        "procedure": {"code": d.procedure.code, "name": d.procedure.name},
        "agency": {"code": d.agency.code, "name": d.agency.name},
        "current_agency": {"code": d.current_agency.code, "name": d.current_agency.name},
        "channel": d.channel,
        "applicant": {"full_name": d.applicant_name, "id_number": d.applicant_id_number,
                      "phone": d.applicant_phone, "email": d.applicant_email,
                      "address": d.applicant_address},
        "submitter": {"full_name": d.submitter_name, "id_number": d.submitter_id_number}
        if d.on_behalf else None,
        "form": d.form,
        "submitted_at": vn(d.submitted_at), "received_at": vn(d.received_at),
        "due_at": vn(d.due_at), "finished_at": vn(d.finished_at),
        "returned_at": vn(d.returned_at), "current_step": d.current_step, "fee": d.fee,
        "paid_online": d.paid_online, "rating": d.rating or None,
        "steps": [{"position": s.position, "name": s.name, "role": s.role,
                   "agency": s.agency.code, "started_at": vn(s.started_at),
                   "due_at": vn(s.due_at), "finished_at": vn(s.finished_at),
                   "result": step_result(s)}
                  for s in steps],
        "events": [{"at": vn(e.at), "action": e.action, "action_name": Action.label_of(e.action),
                    "from_status": e.from_status,
                    "to_status": e.to_status, "actor": e.actor_label, "note": e.note}
                   for e in d.events.order_by("at", "id")],
        "supplements": [{"requested_at": vn(s.requested_at), "items": s.items, "note": s.note,
                         "completed_at": vn(s.completed_at)}
                        for s in d.supplements.order_by("id")],
        "attachments": [{"id": str(a.id), "name": a.original_name,
                         "content_type": a.content_type, "size": a.size, "sha256": a.sha256,
                         "document_code": a.document_code, "purpose": a.purpose}
                        for a in d.attachments.order_by("created_at")],
    }


lookup_url = documents.lookup_url


@router.post("/dossiers", response={201: Created, **ERRORS}, auth=AUTH)
def submit(request, payload: DossierIn,
           idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    """Nộp hồ sơ (công dân, doanh nghiệp). Gửi lại cùng Idempotency-Key và cùng nội dung
    trả về đúng hồ sơ đã tạo; cùng khóa mà khác nội dung: 409."""
    body = payload.dict()
    user = request.auth

    def create():
        d = services.submit_dossier(
            actor=user, procedure=body["procedure"], agency=body["agency"],
            applicant=body["applicant"], form=body["form"], attachments=body["attachments"],
            on_behalf=body["on_behalf"],
        )
        return 201, {"code": d.code, "status": d.status, "status_name": Status(d.status).label,
                     "submitted_at": vn(d.submitted_at).isoformat(),
                     "lookup_url": lookup_url(d.code)}

    status, out = run_once(user=user, scope="dossiers.submit", key=idempotency_key,
                           payload=body, create=create)
    return Reply(status, out)


@router.post("/files", response={201: FileOut, **ERRORS}, auth=AUTH)
def upload(request, file: File[UploadedFile],
           document_code: Form[str] = ""):
    """Tải lên một tệp (PDF, JPEG, PNG, DOCX; tối đa 20 MB); trả về mã tệp để đính kèm."""
    att = services.store_attachment(actor=request.auth, upload=file,
                                    document_code=document_code)
    return Reply(201, {"id": str(att.id), "name": att.original_name,
                       "content_type": att.content_type, "size": att.size, "sha256": att.sha256})


@router.get("/dossiers/{code}", response={200: DossierOut, **ERRORS}, auth=AUTH)
def get_dossier(request, code: str):
    """Một hồ sơ: cho người nộp, hoặc cán bộ có quyền xem (người khác nhận 404)."""
    d = get_visible(request.auth, code)
    if d is None:
        raise NotFound("Không tìm thấy hồ sơ.")
    _record_read(request, d, "api.dossier")
    return dossier_out(d, request.auth)


def _record_read(request, d: Dossier, what: str, detail: str = "") -> None:
    """Someone other than the applicant read their personal data (Decree 13/2023/NĐ-CP)."""
    audit.record_access(actor=request.auth, target=d, what=what, citizen=d.applicant_user_id,
                        citizen_id_number=d.applicant_id_number, detail=detail)


@router.post("/dossiers/{code}/actions/{action}", response={200: DossierOut, **ERRORS},
             auth=AUTH)
def act(request, code: str, action: str, payload: ActionIn | None = None):
    """Thao tác trên hồ sơ: receive, refuse, request-supplement, supplement, forward,
    approve, reject, return-result, withdraw (và extend: văn bản xin lỗi, hẹn lại; rate: người
    nộp đánh giá mức độ hài lòng sau khi nhận kết quả, `rating` + `note`)."""
    if action not in services.ACTIONS:
        raise NotFound(f"Không có thao tác «{action}».")
    d = get_visible(request.auth, code)
    if d is None:
        raise NotFound("Không tìm thấy hồ sơ.")
    body = (payload.dict() if payload is not None else {})
    d = services.act(actor=request.auth, dossier=d, action=action, body=body)
    d = get_visible(request.auth, code) or d
    return dossier_out(d, request.auth)


@router.get("/queue", response={200: QueuePage, **ERRORS}, auth=AUTH)
def queue(request, filters: Query[QueueFilter]):
    """Hàng đợi công việc của cán bộ: hồ sơ đang mở của cơ quan, hạn sớm nhất trước."""
    user = request.auth
    if user.role not in OFFICER_ROLES | PROVINCE_ROLES:
        raise PermissionDenied("Chỉ cán bộ mới có hàng đợi hồ sơ.")
    now = timezone.now()
    rows, counted = agency_queue_page(user, status=filters.status, overdue=filters.overdue,
                                      at=now, start=(filters.page - 1) * QUEUE_PAGE,
                                      size=QUEUE_PAGE)
    return {
        "items": [{"code": d["code"], "status": d["status"],
                   "status_name": Status(d["status"]).label,
                   "procedure": d["procedure__name"], "applicant_name": d["applicant_name"],
                   "submitted_at": vn(d["submitted_at"]), "due_at": vn(d["due_at"]),
                   "overdue": bool(d["due_at"] and d["due_at"] < now)} for d in rows],
        **counted, "page": filters.page, "page_size": QUEUE_PAGE,
    }


@router.get("/lookup/{code}", response={200: LookupOut, **ERRORS, 429: Problem}, auth=None)
def lookup(request, code: str):
    """Tra cứu công khai tình trạng hồ sơ, không có dữ liệu cá nhân. Giới hạn số lần tra
    cứu theo địa chỉ mạng (CQS_THROTTLE_LOOKUP; quá giới hạn: 429 kèm Retry-After)."""
    decision, d = counted_public_lookup(code, scope=LOOKUP_SCOPE,
                                        ident=throttle.client_address(request),
                                        r=throttle.rate("CQS_THROTTLE_LOOKUP"))
    throttle.refuse(decision, LOOKUP_THROTTLED)
    if d is None:
        raise NotFound("Không tìm thấy hồ sơ có mã này.")
    return {"code": d["code"],
            "procedure": {"code": d["procedure_code"], "name": d["procedure_name"]},
            "agency": {"code": d["agency_code"], "name": d["agency_name"]},
            "status": d["status"], "status_name": Status(d["status"]).label,
            "submitted_at": vn(d["submitted_at"]), "received_at": vn(d["received_at"]),
            "due_at": vn(d["due_at"]), "returned_at": vn(d["returned_at"])}


def _pdf(data: bytes, filename: str) -> HttpResponse:
    return serve_file(data, content_type="application/pdf", filename=filename)


@router.get("/dossiers/{code}/forms/{number}", response={200: None, **ERRORS}, auth=AUTH,
            openapi_extra={"responses": {200: {"description": "PDF",
                                               "content": {"application/pdf": {}}}}})
def dossier_form(request, code: str, number: str):
    """Mẫu 01–06 của Thông tư 03/2025/TT-VPCP cho hồ sơ này, dạng PDF. Người nộp nhận các mẫu
    gửi cho mình (01–05); mẫu 06 (phiếu kiểm soát quá trình) dành cho cán bộ."""
    d = get_visible(request.auth, code)
    if d is None:
        raise NotFound("Không tìm thấy hồ sơ.")
    if number in documents.DOSSIER_FORMS and not documents.may_have_form(request.auth, number):
        raise PermissionDenied(f"Mẫu {number} là giấy tờ nội bộ của cơ quan giải quyết hồ sơ.")
    data = documents.render_form(d, number)
    _record_read(request, d, "api.form.pdf", f"Mẫu {number}")
    return _pdf(data, f"mau-{number}-{d.code}.pdf")


class RegisterFilter(Schema):
    date_from: BoundedDate
    date_to: BoundedDate


@router.get("/register", response={200: None, **ERRORS}, auth=AUTH,
            openapi_extra={"responses": {200: {"description": "PDF",
                                               "content": {"application/pdf": {}}}}})
def register(request, filters: Query[RegisterFilter]):
    """Mẫu 07: sổ theo dõi hồ sơ của cơ quan trong một khoảng thời gian (tối đa 2.000 hồ sơ)."""
    user = request.auth
    if user.role not in OFFICER_ROLES:
        raise PermissionDenied("Chỉ cán bộ của cơ quan mới xem sổ theo dõi hồ sơ.")
    if filters.date_to < filters.date_from or (filters.date_to - filters.date_from).days > 366:
        raise ValidationFailed("Khoảng thời gian không hợp lệ (tối đa một năm).")
    rows = list(agency_register(user, filters.date_from, filters.date_to)[:2001])
    if len(rows) > 2000:
        raise ValidationFailed("Quá 2.000 hồ sơ: hãy chọn khoảng thời gian ngắn hơn.")
    return _pdf(documents.render_register(user.agency, rows, filters.date_from,
                                          filters.date_to), "mau-07-so-theo-doi.pdf")
