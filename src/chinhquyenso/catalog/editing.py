"""Editing a procedure's internal process (quy trình nội bộ) and its legal deadline from the
back office, by a province administrator, audited. The same rules as a catalogue file
(catalog/services._check): roles receiver/specialist/leader, the first and the last step at
the one-stop desk (Decree 118/2025/NĐ-CP: the desk receives and returns), shares of the time
adding up to 1. Dossiers already received keep the steps they were given; the change counts
for dossiers received afterwards."""

from decimal import Decimal, InvalidOperation

from django.db import transaction

from chinhquyenso.core import audit
from chinhquyenso.core.errors import PermissionDenied, ValidationFailed
from chinhquyenso.directory.models import Agency, Role

from .models import Procedure, ProcessStep
from .queries import forget_procedure_references

STEP_ROLES = ("receiver", "specialist", "leader")
MAX_WORKING_DAYS = Decimal(365)


def _decimal(value, what: str) -> Decimal:
    try:
        d = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(f"{what} phải là một số.") from exc
    if not d.is_finite():
        raise ValidationFailed(f"{what} phải là một số.")
    return d


def check_process(working_days, steps: list[dict]) -> tuple[Decimal, list[dict]]:
    """Cleaned (working days, steps) or ValidationFailed listing every problem."""
    errors = []
    days = _decimal(working_days, "Thời hạn giải quyết")
    if not (Decimal(0) < days <= MAX_WORKING_DAYS) or days != days.quantize(Decimal("0.01")):
        errors.append("Thời hạn giải quyết phải lớn hơn 0, tối đa 365 ngày làm việc, "
                      "nhiều nhất 2 chữ số thập phân.")
    cleaned = []
    keys = {s.get("agency_key") for s in steps if s.get("agency_key")}
    known = set(Agency.objects.filter(key__in=keys).values_list("key", flat=True))
    for i, s in enumerate(steps, 1):
        name = (s.get("name") or "").strip()
        where = f"Bước {i}"
        if not name or len(name) > 255:
            errors.append(f"{where}: cần tên bước (tối đa 255 ký tự).")
        if s.get("role") not in STEP_ROLES:
            errors.append(f"{where}: vai trò phải là tiếp nhận, chuyên viên hoặc lãnh đạo.")
        try:
            share = _decimal(s.get("share"), f"{where}: tỷ lệ thời gian")
        except ValidationFailed as exc:
            errors.append(exc.detail)
            share = Decimal(0)
        if not (Decimal(0) <= share <= 1) or share != share.quantize(Decimal("0.0001")):
            errors.append(f"{where}: tỷ lệ thời gian từ 0 đến 1, tối đa 4 chữ số thập phân.")
        key = (s.get("agency_key") or "").strip()
        if key and key not in known:
            errors.append(f"{where}: không có cơ quan khóa «{key}».")
        cleaned.append({"name": name, "role": s.get("role"), "share": share, "agency_key": key})
    if len(cleaned) < 2:
        errors.append("Quy trình cần ít nhất hai bước (tiếp nhận và trả kết quả).")
    elif cleaned[0]["role"] != "receiver" or cleaned[-1]["role"] != "receiver":
        errors.append("Bước đầu và bước cuối phải do bộ phận một cửa (tiếp nhận) thực hiện.")
    if not any(s["role"] == "leader" for s in cleaned):
        errors.append("Quy trình cần một bước lãnh đạo phê duyệt.")
    total = sum((s["share"] for s in cleaned), Decimal(0))
    if cleaned and total != 1:
        errors.append(f"Tổng tỷ lệ thời gian các bước phải bằng 1 (hiện là {total}).")
    if errors:
        raise ValidationFailed("Quy trình chưa hợp lệ: " + " ".join(errors), errors=errors)
    return days, cleaned


def update_procedure_process(*, actor, procedure: Procedure, working_days,
                             steps: list[dict]) -> Procedure:
    """Replace the procedure's steps and legal deadline (working days)."""
    if actor is None or actor.role != Role.PROVINCE_ADMIN:
        raise PermissionDenied("Chỉ quản trị cấp tỉnh được sửa quy trình thủ tục.")
    days, cleaned = check_process(working_days, steps)
    with transaction.atomic():
        proc = Procedure.objects.select_for_update().get(pk=procedure.pk)
        before = {"working_days": str(proc.working_days),
                  "steps": [{"name": s.name, "role": s.role, "share": str(s.share),
                             "agency_key": s.agency_key} for s in proc.steps.all()]}
        proc.working_days = days
        proc.save(update_fields=["working_days", "updated_at"])
        proc.steps.all().delete()
        ProcessStep.objects.bulk_create(
            ProcessStep(procedure=proc, position=i, name=s["name"], role=s["role"],
                        share=s["share"], agency_key=s["agency_key"])
            for i, s in enumerate(cleaned, 1))
        audit.record(actor=actor, verb="procedure.process", target=proc,
                     data={"before": before,
                           "after": {"working_days": str(days),
                                     "steps": [{**s, "share": str(s["share"])}
                                               for s in cleaned]}})
    forget_procedure_references()
    return proc
