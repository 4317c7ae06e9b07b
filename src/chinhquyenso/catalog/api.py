from decimal import Decimal

from ninja import Query, Router, Schema
from pydantic import Field as PField

from chinhquyenso.core.errors import NotFound
from chinhquyenso.core.schemas import ERRORS
from chinhquyenso.directory.models import Agency

from .models import Procedure
from .queries import search_procedures
from .services import form_schema

router = Router(tags=["Thủ tục hành chính"])
PAGE_SIZE = 20


class ProcedureItem(Schema):
    code: str
    name: str
    field: str
    field_name: str
    level: str
    working_days: Decimal
    fee: int
    online_mode: str


class ProcedureList(Schema):
    items: list[ProcedureItem]
    count: int
    page: int
    page_size: int


class Step(Schema):
    position: int
    name: str
    role: str
    share: Decimal
    agency_key: str


class Document(Schema):
    code: str
    name: str
    required: bool
    template: str


class ProcedureDetail(ProcedureItem):
    legal_basis: list[str]
    fee_note: str
    result: str
    result_type: str
    payment_before_processing: bool
    source: str
    agencies: list[str]
    steps: list[Step]
    documents: list[Document]
    form_schema: dict


class ProcedureFilter(Schema):
    q: str = PField("", max_length=200)
    level: str | None = PField(None, pattern="^(province|commune)$")
    agency: str | None = PField(None, max_length=40)
    field: str | None = PField(None, max_length=20)
    page: int = PField(1, ge=1, le=100000)


def _item(p: Procedure) -> dict:
    return {"code": p.code, "name": p.name, "field": p.field.code, "field_name": p.field.name,
            "level": p.level, "working_days": p.working_days, "fee": p.fee,
            "online_mode": p.online_mode}


@router.get("/procedures", response={200: ProcedureList, **ERRORS}, auth=None)
def list_procedures(request, filters: Query[ProcedureFilter]):
    """Tìm thủ tục: không phân biệt dấu và hoa thường, kết quả khớp nhất trước."""
    agency = None
    if filters.agency:
        agency = Agency.objects.filter(code=filters.agency).first()
        if agency is None:
            return {"items": [], "count": 0, "page": filters.page, "page_size": PAGE_SIZE}
    found = search_procedures(filters.q, level=filters.level, agency=agency, field=filters.field)
    start = (filters.page - 1) * PAGE_SIZE
    page = found[start:start + PAGE_SIZE]
    return {"items": [_item(p) for p in page], "count": len(found), "page": filters.page,
                 "page_size": PAGE_SIZE}


@router.get("/procedures/{code}", response={200: ProcedureDetail, **ERRORS}, auth=None)
def get_procedure(request, code: str):
    p = (Procedure.objects.select_related("field").prefetch_related("steps", "documents")
         .filter(code=code, active=True).first())
    if p is None:
        raise NotFound(f"Không có thủ tục mã «{code}».")
    return {
        **_item(p),
        "legal_basis": p.legal_basis, "fee_note": p.fee_note, "result": p.result,
        "result_type": p.result_type, "payment_before_processing": p.payment_before_processing,
        "source": p.source,
        "agencies": list(p.agencies.order_by("code").values_list("code", flat=True)),
        "steps": [{"position": s.position, "name": s.name, "role": s.role, "share": s.share,
                   "agency_key": s.agency_key} for s in p.steps.all()],
        "documents": [{"code": d.code, "name": d.name, "required": d.required,
                       "template": d.template} for d in p.documents.all()],
        "form_schema": form_schema(p),
    }
