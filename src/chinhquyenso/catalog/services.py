"""Catalogue: load procedures from a file, and answer the form schema of a procedure.

The file format is documented in docs/catalog-format.md."""

import json
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from chinhquyenso.core import audit
from chinhquyenso.core.errors import ValidationFailed
from chinhquyenso.core.text import fold
from chinhquyenso.directory.models import Agency, AgencyKind

from .models import Field, Level, OnlineMode, Procedure, ProcessStep, RequiredDocument
from .queries import forget_procedure_references

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_CATALOG = DATA_DIR / "procedures.json"
ROLES = {"receiver", "specialist", "leader"}


def _check(spec: dict) -> list[str]:
    """Every problem in a catalogue file, in Vietnamese, before anything is written."""
    errors = []
    fields = {f["code"] for f in spec.get("fields", [])}
    seen = set()
    for i, p in enumerate(spec.get("procedures", []), 1):
        where = f"thủ tục thứ {i} ({p.get('code', '?')})"
        for key in ("code", "name", "field", "level", "working_days", "steps", "online_mode"):
            if key not in p:
                errors.append(f"{where}: thiếu «{key}»")
        if p.get("code") in seen:
            errors.append(f"{where}: mã thủ tục bị trùng")
        seen.add(p.get("code"))
        if p.get("field") not in fields:
            errors.append(f"{where}: lĩnh vực «{p.get('field')}» không có trong «fields»")
        if p.get("level") not in Level.values:
            errors.append(f"{where}: cấp thực hiện phải là province hoặc commune")
        if p.get("online_mode") not in OnlineMode.values:
            errors.append(f"{where}: mức độ trực tuyến phải là full hoặc partial")
        steps = p.get("steps") or []
        if steps and abs(sum(Decimal(str(s["share"])) for s in steps) - 1) > Decimal("0.0001"):
            errors.append(f"{where}: tổng tỷ lệ thời gian các bước phải bằng 1")
        if any(s.get("role") not in ROLES for s in steps):
            errors.append(f"{where}: vai trò của bước phải là receiver, specialist hoặc leader")
        if steps and (steps[0].get("role") != "receiver" or steps[-1].get("role") != "receiver"):
            errors.append(f"{where}: bước đầu và bước cuối phải do bộ phận một cửa thực hiện")
        for f in p.get("form", []):
            if not str(f.get("name", "")).isidentifier():
                errors.append(f"{where}: tên trường «{f.get('name')}» không hợp lệ")
    return errors


CSV_COLUMNS = ("code", "name", "field_code", "field_name", "level", "agency", "working_days",
               "fee", "online_mode")
CSV_OPTIONAL = ("fee_note", "payment_before_processing", "legal_basis", "documents", "steps",
                "result", "result_type", "source", "note")


def _split(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(";") if part.strip()]


def _csv_steps(text: str, where: str, errors: list[str]) -> list[dict] | None:
    """`Tiếp nhận hồ sơ=receiver=0.1; Thẩm định=specialist=0.6; …` (name=role=share)."""
    steps = []
    for part in _split(text):
        pieces = [p.strip() for p in part.split("=")]
        if len(pieces) != 3:
            errors.append(f"{where}: bước «{part}» phải có dạng tên=vai trò=tỷ lệ")
            continue
        try:
            share = float(pieces[2])
        except ValueError:
            errors.append(f"{where}: tỷ lệ «{pieces[2]}» không phải số")
            continue
        steps.append({"name": pieces[0], "role": pieces[1], "share": share})
    return steps or None


def _spec_from_csv(path: Path) -> dict:
    """A flat CSV (one procedure per row; docs/catalog-format.md, "CSV") as the JSON spec.
    A column left empty keeps what the database already holds for that procedure (its steps,
    documents and form), so a spreadsheet can update names, times and fees alone."""
    import csv

    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValidationFailed(f"Không đọc được tệp CSV {path}: {exc}") from exc
    if not rows:
        raise ValidationFailed("Tệp CSV không có dòng dữ liệu nào.")
    missing = [c for c in CSV_COLUMNS if c not in rows[0]]
    if missing:
        raise ValidationFailed("Tệp CSV thiếu cột: " + ", ".join(missing))
    errors: list[str] = []
    fields, procedures = {}, []
    existing = {p.code: p for p in Procedure.objects.prefetch_related("steps", "documents")
                .filter(code__in=[r["code"] for r in rows])}
    for n, row in enumerate(rows, 2):
        where = f"dòng {n} ({row.get('code') or '?'})"
        fields[row["field_code"]] = row["field_name"]
        old = existing.get(row["code"])
        try:
            days, fee = Decimal(row["working_days"]), int(row["fee"] or 0)
        except (ArithmeticError, ValueError):
            errors.append(f"{where}: working_days và fee phải là số")
            continue
        steps = _csv_steps(row.get("steps", ""), where, errors) or (
            [{"name": s.name, "role": s.role, "share": float(s.share), "agency": s.agency_key}
             for s in old.steps.all()] if old else [])
        if not steps:
            errors.append(f"{where}: thủ tục mới cần cột steps (quy trình nội bộ)")
        documents = [{"code": f"TP{i}", "name": d, "required": True}
                     for i, d in enumerate(_split(row.get("documents", "")), 1)] or (
            [{"code": d.code, "name": d.name, "required": d.required, "template": d.template}
             for d in old.documents.all()] if old else [])
        procedures.append({
            "code": row["code"], "name": row["name"], "field": row["field_code"],
            "level": row["level"], "agency": row["agency"], "working_days": str(days),
            "fee": fee, "online_mode": row["online_mode"], "steps": steps,
            "documents": documents, "form": old.form if old else [],
            "fee_note": row.get("fee_note", ""),
            "payment_before_processing": (row.get("payment_before_processing") or "").strip()
            .lower() in {"1", "true", "có", "x"},
            "legal_basis": _split(row.get("legal_basis", "")) or (old.legal_basis if old
                                                                  else []),
            "result": row.get("result", ""), "result_type": row.get("result_type") or "both",
            "source": row.get("source", ""), "note": row.get("note", ""),
        })
    if errors:
        raise ValidationFailed("Tệp CSV có lỗi:\n" + "\n".join(errors), errors=errors)
    return {"version": 1, "fields": [{"code": c, "name": n} for c, n in fields.items()],
            "procedures": procedures}


def load_catalog(*, actor=None, path: Path | str = DEFAULT_CATALOG) -> int:
    """Load or update a catalogue: JSON, or a flat CSV (docs/catalog-format.md). All or
    nothing: a file with any error writes nothing and raises ValidationFailed listing every
    error."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        spec = _spec_from_csv(path)
    else:
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValidationFailed(f"Không đọc được tệp danh mục {path}: {exc}") from exc
    errors = _check(spec)
    if errors:
        raise ValidationFailed("Tệp danh mục có lỗi:\n" + "\n".join(errors), errors=errors)
    agencies = {a.key: a for a in Agency.objects.exclude(kind=AgencyKind.COMMUNE)}
    communes = list(Agency.objects.filter(kind=AgencyKind.COMMUNE))
    with transaction.atomic():
        field_objs = {}
        for f in spec["fields"]:
            field_objs[f["code"]], _ = Field.objects.update_or_create(
                code=f["code"], defaults={"name": f["name"]}
            )
        for p in spec["procedures"]:
            fee = p.get("fee") or 0
            proc, _ = Procedure.objects.update_or_create(
                code=p["code"],
                defaults={
                    "name": p["name"],
                    "search_text": fold(p["name"]),
                    "field": field_objs[p["field"]],
                    "level": p["level"],
                    "agency_key": p.get("agency") or "COMMUNE",
                    "legal_basis": p.get("legal_basis", []),
                    "working_days": Decimal(str(p["working_days"])),
                    "fee": int(fee),
                    "fee_note": p.get("fee_note") or "",
                    "result": p.get("result") or "",
                    "result_type": p.get("result_type") or "both",
                    "online_mode": p["online_mode"],
                    "payment_before_processing": bool(p.get("payment_before_processing")),
                    "form": p.get("form", []),
                    "source": p.get("source") or "",
                    "note": p.get("note") or "",
                },
            )
            proc.steps.all().delete()
            ProcessStep.objects.bulk_create(
                ProcessStep(procedure=proc, position=i, name=s["name"], role=s["role"],
                            share=Decimal(str(s["share"])), agency_key=s.get("agency") or "")
                for i, s in enumerate(p["steps"], 1)
            )
            proc.documents.all().delete()
            RequiredDocument.objects.bulk_create(
                RequiredDocument(procedure=proc, code=d["code"], name=d["name"],
                                 required=bool(d.get("required", True)),
                                 template=d.get("template") or "")
                for d in p.get("documents", [])
            )
            if proc.agency_key == "COMMUNE":
                proc.agencies.set(communes)
            elif proc.agency_key in agencies:
                proc.agencies.set([agencies[proc.agency_key]])
        audit.record(actor=actor, verb="catalog.load",
                     data={"file": path.name, "procedures": len(spec["procedures"])})
    forget_procedure_references()
    return len(spec["procedures"])


_JSON_TYPES = {
    "string": {"type": "string"},
    "text": {"type": "string"},
    "date": {"type": "string", "format": "date"},
    "integer": {"type": "integer"},
    "email": {"type": "string", "format": "email"},
    "phone": {"type": "string", "pattern": r"^(\+84|0)[0-9]{9,10}$"},
    "select": {"type": "string"},
    "boolean": {"type": "boolean"},
}


def form_schema(procedure: Procedure) -> dict:
    """The JSON Schema of a procedure's form data."""
    props, required = {}, []
    for f in procedure.form:
        prop = dict(_JSON_TYPES.get(f.get("type", "string"), {"type": "string"}))
        prop["title"] = f.get("label", f["name"])
        if f.get("help"):
            prop["description"] = f["help"]
        if f.get("max_length"):
            prop["maxLength"] = int(f["max_length"])
        if f.get("type") == "select" and f.get("options"):
            prop["enum"] = list(f["options"])
        if f.get("type") in {"string", "text", None} and not prop.get("maxLength"):
            prop["maxLength"] = 2000 if f.get("type") == "text" else 255
        props[f["name"]] = prop
        if f.get("required"):
            required.append(f["name"])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "title": procedure.name,
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }

