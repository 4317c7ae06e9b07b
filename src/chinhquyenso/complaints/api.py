"""API of phản ánh, kiến nghị (PAKN) under /api/v1/complaints."""

from datetime import datetime
from typing import Literal

from django.utils import timezone
from ninja import Header, Query, Router, Schema
from ninja import Status as Reply
from pydantic import Field as PField

from chinhquyenso.api import AUTH
from chinhquyenso.core.errors import NotFound
from chinhquyenso.core.idempotency import run_once
from chinhquyenso.core.schemas import ERRORS, Problem, Text, vn
from chinhquyenso.core.throttle import client_address

from . import services
from .models import Category, Channel, Complaint, ComplaintStatus
from .queries import PAGE_SIZE, get_visible, officer_list

router = Router(tags=["Phản ánh, kiến nghị"])


class ContactIn(Schema):
    name: Text = PField("", max_length=150)
    phone: Text = PField("", max_length=20)
    email: Text = PField("", max_length=150)


class ComplaintIn(Schema):
    category: Literal["procedure", "staff", "handling", "other"]
    title: Text = PField(..., max_length=200)
    content: Text = PField(..., max_length=5000)
    agency: str | None = PField(None, max_length=40,
                                description="Mã cơ quan; bỏ qua khi phản ánh về một hồ sơ")
    dossier: str | None = PField(None, max_length=60, description="Mã hồ sơ được phản ánh")
    parent: str | None = PField(None, max_length=30,
                                description="Mã phản ánh trước (không đồng ý với trả lời)")
    channel: Literal["api", "counter", "phone", "mail"] = "api"
    contact: ContactIn = ContactIn()


class Ref(Schema):
    code: str
    name: str


class ComplaintOut(Schema):
    code: str
    category: str
    category_name: str
    channel: str
    title: str
    content: str
    agency: Ref
    dossier: str | None
    parent: str | None
    status: str
    status_name: str
    received_at: datetime
    due_at: datetime
    reject_due_at: datetime
    answered_at: datetime | None
    answer: str
    on_time: bool
    overdue: bool
    rating: str | None
    followed_up: bool


class ComplaintPage(Schema):
    items: list[ComplaintOut]
    page: int
    page_size: int
    has_next: bool


class ListFilter(Schema):
    status: Literal["received", "processing", "answered", "rejected"] | None = None
    overdue: bool | None = None
    agency: str | None = PField(None, max_length=40)
    page: int = PField(1, ge=1, le=100000)


class AnswerIn(Schema):
    answer: Text = PField(..., max_length=10000)


class RejectIn(Schema):
    reason: Text = PField(..., max_length=2000)


class ClassifyIn(Schema):
    category: Literal["procedure", "staff", "handling", "other"]
    agency: str | None = PField(None, max_length=40)


class RateIn(Schema):
    rating: Literal["satisfied", "normal", "unsatisfied"]
    comment: Text = PField("", max_length=2000)


def complaint_out(c: Complaint, at: datetime | None = None) -> dict:
    at = at or timezone.now()
    return {
        "code": c.code, "category": c.category, "category_name": Category(c.category).label,
        "channel": c.channel, "title": c.title, "content": c.content,
        "agency": {"code": c.agency.code, "name": c.agency.name},
        "dossier": c.dossier.code if c.dossier_id else None,
        "parent": c.parent.code if c.parent_id else None,
        "status": c.status, "status_name": ComplaintStatus(c.status).label,
        "received_at": vn(c.received_at), "due_at": vn(c.due_at),
        "reject_due_at": vn(c.reject_due_at), "answered_at": vn(c.answered_at),
        "answer": c.answer, "on_time": services.is_on_time(c, at),
        "overdue": services.is_overdue(c, at), "rating": c.rating or None,
        "followed_up": c.followed_up,
    }


def _visible(request, code: str) -> Complaint:
    c = get_visible(request.auth, code)
    if c is None:
        raise NotFound("Không tìm thấy phản ánh.")
    return c


@router.post("/complaints", response={201: ComplaintOut, **ERRORS, 429: Problem}, auth=AUTH)
def submit(request, payload: ComplaintIn,
           idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    """Gửi phản ánh, kiến nghị (người dân, doanh nghiệp; cán bộ tiếp nhận ghi nhận phản ánh
    trực tiếp, qua điện thoại hoặc thư). Hạn trả lời: 15 ngày làm việc; từ chối tiếp nhận:
    2 ngày làm việc. Gửi lại cùng Idempotency-Key và cùng nội dung trả về đúng phản ánh đã
    tạo; cùng khóa mà khác nội dung: 409."""
    body = payload.dict()
    user = request.auth

    def create():  # a replay of the same Idempotency-Key is not counted again
        with services.submission_allowance(actor=user, address=client_address(request)):
            c, _key = services.submit_complaint(
                actor=user, category=body["category"], title=body["title"],
                content=body["content"], agency=body["agency"], dossier=body["dossier"],
                parent=body["parent"], contact=body["contact"],
                channel=Channel.API if body["channel"] == "api" else body["channel"],
            )
        c = Complaint.objects.select_related("agency", "dossier", "parent").get(pk=c.pk)
        return 201, ComplaintOut(**complaint_out(c)).model_dump(mode="json")

    status, out = run_once(user=user, scope="complaints.submit", key=idempotency_key,
                           payload=body, create=create)
    return Reply(status, out)


@router.get("/complaints", response={200: ComplaintPage, **ERRORS}, auth=AUTH)
def list_complaints(request, filters: Query[ListFilter]):
    """Phản ánh mà người gọi được xem: cán bộ — của cơ quan mình; giám sát, quản trị tỉnh —
    tất cả; người dân — của mình. Hạn sớm nhất trước; `overdue=true`: đang quá hạn."""
    at = timezone.now()
    qs = officer_list(request.auth, status=filters.status, overdue=filters.overdue,
                      agency=filters.agency, at=at)
    start = (filters.page - 1) * PAGE_SIZE
    rows = list(qs[start:start + PAGE_SIZE + 1])
    return {"items": [complaint_out(c, at) for c in rows[:PAGE_SIZE]], "page": filters.page,
            "page_size": PAGE_SIZE, "has_next": len(rows) > PAGE_SIZE}


@router.get("/complaints/{code}", response={200: ComplaintOut, **ERRORS}, auth=AUTH)
def get_complaint(request, code: str):
    """Một phản ánh (người khác nhận 404)."""
    return complaint_out(_visible(request, code))


@router.post("/complaints/{code}/classify", response={200: ComplaintOut, **ERRORS},
             auth=AUTH)
def classify(request, code: str, payload: ClassifyIn):
    """Phân loại, chuyển cơ quan có trách nhiệm (lãnh đạo, quản trị cơ quan, quản trị tỉnh).
    Hạn trả lời giữ nguyên."""
    c = services.classify_complaint(actor=request.auth, complaint=_visible(request, code),
                                    category=payload.category, agency=payload.agency)
    return complaint_out(get_visible(request.auth, code) or c)


@router.post("/complaints/{code}/answer", response={200: ComplaintOut, **ERRORS}, auth=AUTH)
def answer(request, code: str, payload: AnswerIn):
    """Trả lời phản ánh (cán bộ của cơ quan có trách nhiệm)."""
    c = services.answer_complaint(actor=request.auth, complaint=_visible(request, code),
                                  answer=payload.answer)
    return complaint_out(c)


@router.post("/complaints/{code}/reject", response={200: ComplaintOut, **ERRORS}, auth=AUTH)
def reject(request, code: str, payload: RejectIn):
    """Không tiếp nhận phản ánh, nêu lý do (đúng hạn nếu trong 2 ngày làm việc)."""
    c = services.reject_complaint(actor=request.auth, complaint=_visible(request, code),
                                  reason=payload.reason)
    return complaint_out(c)


@router.post("/complaints/{code}/rate", response={200: ComplaintOut, **ERRORS}, auth=AUTH)
def rate(request, code: str, payload: RateIn):
    """Người phản ánh đánh giá câu trả lời (một lần)."""
    c = services.rate_complaint(actor=request.auth, complaint=_visible(request, code),
                                rating=payload.rating, comment=payload.comment)
    return complaint_out(c)
