"""The index API: thin handlers (parse, check access, call one query)."""

from ninja import Query, Router, Schema
from pydantic import Field as PField

from chinhquyenso.api import AUTH
from chinhquyenso.core.schemas import ERRORS

from . import queries, services

router = Router(tags=["Giám sát"])


class IndicatorOut(Schema):
    code: str
    name: str
    max: float
    score: float | None
    numerator: int | None
    denominator: int | None
    ratio: float | None
    rule: str
    dossiers_url: str | None


class PartOut(Schema):
    code: str
    name: str
    max: float
    score: float


class GroupOut(Schema):
    code: str
    name: str
    max: float
    score: float
    portal_code: str
    parts: list[PartOut]
    indicators: list[IndicatorOut]


class IndexOut(Schema):
    unit: str
    unit_name: str
    period: str
    period_label: str
    as_of: str
    total: float
    max: float
    groups: list[GroupOut]


class IndexQuery(Schema):
    unit: str = PField(..., max_length=40, description="31, mã cơ quan hoặc mã xã, phường")
    period: str = PField(..., max_length=7, description="YYYY-MM, YYYY-Qn hoặc YYYY")
    procedure: str = PField("", max_length=30, description="Chỉ một thủ tục (mã TTHC)")
    field: str = PField("", max_length=20, description="Chỉ một lĩnh vực (mã lĩnh vực)")


class ItemsQuery(IndexQuery):
    indicator: str = PField(..., max_length=5)
    part: str = PField("all", max_length=10, description="all, numerator hoặc outside")
    page: int = PField(1, ge=1, le=100_000)


class ItemOut(Schema):
    kind: str
    code: str
    name: str
    agency: str
    received_at: str | None
    due_at: str | None
    in_numerator: bool
    reason: str


class ItemsOut(Schema):
    indicator: str
    unit: str
    period: str
    count: int
    page: int
    pages: int
    items: list[ItemOut]


class RankQuery(Schema):
    period: str = PField(..., max_length=7)
    kind: str = PField("agency", max_length=10, description="agency hoặc commune")


class RankOut(Schema):
    rank: int
    unit: str
    agency: str
    name: str
    total: float
    received: int
    groups: dict[str, float]


class AdviceOut(Schema):
    code: str
    name: str
    missing: int | None
    points_to_gain: float
    text: str


class AtRiskOut(Schema):
    code: str
    procedure: str
    agency: str
    due_at: str
    points_at_stake: float
    reason: str


class PlanOut(Schema):
    unit: str
    period: str
    total: float
    to_full_points: list[AdviceOut]
    due_this_week: list[AtRiskOut]


def _scope(request, q: IndexQuery):
    services.catch_up()
    unit = queries.get_unit(q.unit)
    queries.check_can_view(request.auth, unit)
    unit = queries.narrow(unit, procedure=q.procedure, field=q.field)
    return unit, queries.get_period(q.period)


@router.get("/monitoring/index", response={200: IndexOut, **ERRORS}, auth=AUTH)
def index(request, q: Query[IndexQuery]):
    """Bộ chỉ số 766 của một đơn vị trong một kỳ, đọc từ số liệu tổng hợp được cập nhật
    liên tục (không tính lại từ hồ sơ ở mỗi yêu cầu)."""
    unit, period = _scope(request, q)
    return queries.index_for(unit, period)


@router.get("/monitoring/index/items", response={200: ItemsOut, **ERRORS}, auth=AUTH)
def items(request, q: Query[ItemsQuery]):
    """Các hồ sơ (thủ tục, phản ánh) đứng sau tử số và mẫu số của một chỉ số, kèm lý do."""
    unit, period = _scope(request, q)
    return queries.items_behind(unit, period, q.indicator, part=q.part, page=q.page)


@router.get("/monitoring/rankings", response={200: list[RankOut], **ERRORS}, auth=AUTH)
def rankings(request, q: Query[RankQuery]):
    """Xếp hạng các sở, ban, ngành (kind=agency) hoặc các xã, phường (kind=commune)."""
    queries.check_can_rank(request.auth)
    return queries.rankings(queries.get_period(q.period), q.kind)


@router.get("/monitoring/plan", response={200: PlanOut, **ERRORS}, auth=AUTH)
def plan(request, q: Query[IndexQuery]):
    """Cần làm gì để đạt điểm tối đa từng chỉ số, và các hồ sơ đến hạn trong tuần này mà
    nếu giải quyết đúng hạn sẽ giữ được nhiều điểm nhất."""
    unit, period = _scope(request, q)
    idx = queries.index_for(unit, period)
    return {"unit": unit.code, "period": period.code, "total": idx["total"],
            "to_full_points": queries.to_full_points(idx),
            "due_this_week": queries.at_risk_this_week(unit, period)}
