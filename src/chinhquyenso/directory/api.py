from ninja import Query, Router, Schema
from pydantic import Field as PField

from chinhquyenso.core.schemas import ERRORS

from .queries import search_agencies

router = Router(tags=["Cơ quan"])
PAGE_SIZE = 50


class AgencyItem(Schema):
    code: str
    name: str
    kind: str
    unit: str
    service_point: str
    address: str
    phone: str
    working_hours: list[list[str]]
    code_is_placeholder: bool


class AgencyList(Schema):
    items: list[AgencyItem]
    count: int
    page: int
    page_size: int


class AgencyFilter(Schema):
    q: str = PField("", max_length=200)
    kind: str | None = PField(None, max_length=20)
    page: int = PField(1, ge=1, le=10000)


@router.get("/agencies", response={200: AgencyList, **ERRORS}, auth=None)
def list_agencies(request, filters: Query[AgencyFilter]):
    """Cơ quan tiếp nhận hồ sơ: tên, mã định danh, nơi tiếp nhận, giờ làm việc (tìm không dấu)."""
    found = search_agencies(filters.q, kind=filters.kind)
    start = (filters.page - 1) * PAGE_SIZE
    return {
        "items": [{"code": a.code, "name": a.name, "kind": a.kind, "unit": a.unit.name,
                   "service_point": a.service_point, "address": a.address, "phone": a.phone,
                   "working_hours": a.working_hours, "code_is_placeholder": a.code_is_placeholder}
                  for a in found[start:start + PAGE_SIZE]],
        "count": len(found), "page": filters.page, "page_size": PAGE_SIZE,
    }
