"""The citizen portal's operations: turning a web form into a submission, drafts that survive
closing the browser, and the questions the portal asks of the catalogue. Every change of a
dossier goes through chinhquyenso.dossiers.services, as the API's do."""

import uuid
from datetime import date

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count

from chinhquyenso.catalog.models import Procedure
from chinhquyenso.core.errors import ValidationFailed
from chinhquyenso.dossiers import services as dossier_services
from chinhquyenso.dossiers.models import Attachment, Dossier
from chinhquyenso.dossiers.validation import validate_form

from .models import Draft

# The applicant block of the submission form and the user attribute that prefills each.
APPLICANT_FIELDS = (
    ("full_name", "Họ và tên", "full_name"),
    ("id_number", "Số định danh cá nhân", "id_number"),
    ("birth_date", "Ngày sinh", "birth_date"),
    ("address", "Địa chỉ thường trú", "address"),
    ("phone", "Số điện thoại", "phone"),
    ("email", "Thư điện tử", "email"),
)


def most_used_procedures(limit: int = 8) -> list[Procedure]:
    """The procedures with the most dossiers (cached for ten minutes: a GROUP BY over all
    dossiers is too dear for every home-page view)."""
    codes = cache.get("portal:most-used")
    if codes is None:
        rows = (Dossier.objects.values("procedure_id").annotate(n=Count("id"))
                .order_by("-n")[:limit])
        codes = [r["procedure_id"] for r in rows]
        cache.set("portal:most-used", codes, 600)
    found = {p.pk: p for p in Procedure.objects.filter(pk__in=codes, active=True)
             .select_related("field")}
    result = [found[pk] for pk in codes if pk in found]
    if len(result) < limit:  # a new deployment: fill with full-online procedures
        more = (Procedure.objects.filter(active=True, online_mode="full")
                .exclude(pk__in=codes).select_related("field").order_by("code"))
        result += list(more[: limit - len(result)])
    return result


def agencies_offering_procedures() -> list[dict]:
    """The agency filter of the search page: (code, name) of every agency that receives some
    procedure, cached for ten minutes (a DISTINCT over agencies × procedures per view would
    cost more than the search itself)."""
    rows = cache.get("portal:agencies")
    if rows is None:
        from chinhquyenso.directory.models import Agency

        rows = list(Agency.objects.filter(procedures__isnull=False).distinct()
                    .order_by("name").values("code", "name"))
        cache.set("portal:agencies", rows, 600)
    return rows


def prefill(user) -> dict:
    """What the platform already holds about the signed-in person, and which of it was
    asserted by the identity provider (shown as "đã xác thực")."""
    values = {}
    for name, _label, attr in APPLICANT_FIELDS:
        value = getattr(user, attr, "") or ""
        values[name] = value.isoformat() if isinstance(value, date) else value
    return {"values": values, "verified": set(user.verified_fields or [])}


def parse_form(definition: list[dict], post) -> dict:
    """Form fields of a web form (strings) to the typed values the definition describes."""
    data = {}
    for f in definition:
        raw = post.get(f"f_{f['name']}", "")
        kind = f.get("type", "string")
        if kind == "boolean":
            data[f["name"]] = raw in {"on", "1", "true"}
        elif kind == "integer":
            raw = raw.strip()
            try:
                data[f["name"]] = int(raw) if raw else None
            except ValueError:
                data[f["name"]] = raw  # validation names the field
        else:
            data[f["name"]] = raw.strip()
    return data


# Nộp thay: the represented person's block of the form (the applicant of the dossier).
REPRESENTED_FIELDS = (
    ("full_name", "Họ và tên người được nộp thay"),
    ("id_number", "Số định danh cá nhân của người được nộp thay"),
    ("address", "Địa chỉ thường trú của người được nộp thay"),
)
AUTHORISATION = {"code": dossier_services.AUTHORISATION_DOCUMENT, "required": True,
                 "name": "Giấy ủy quyền của người được nộp thay"}


def parse_applicant(post) -> dict:
    return {name: post.get(f"a_{name}", "").strip() for name, _l, _a in APPLICANT_FIELDS}


def on_behalf(post) -> bool:
    return post.get("nop_thay") in {"1", "on"}


def applicant_for(user, post) -> dict:
    """The applicant the dossier is sent with: the signed-in person, whose name and identity
    number are the account's whatever the form says (only the contact details are typed);
    for nộp thay, the represented person with the signed-in person's contact details."""
    typed = parse_applicant(post)
    if on_behalf(post):
        return {**{name: post.get(f"r_{name}", "").strip() for name, _l in REPRESENTED_FIELDS},
                "phone": typed["phone"], "email": typed["email"]}
    return {**typed, "full_name": user.full_name, "id_number": user.id_number}


def attachments_by_document(user, post) -> dict[str, list[str]]:
    """The uploads a form refers to (hidden `doc_<code>` inputs, comma-separated ids), keeping
    only the user's own files that are not yet part of a dossier."""
    wanted = {}
    for key, value in post.items():
        if key.startswith("doc_") and value:
            wanted[key[4:]] = [v for v in value.split(",") if v][:10]
    ids = [i for v in wanted.values() for i in v if _is_uuid(i)]
    owned = {str(a) for a in Attachment.objects.filter(
        pk__in=ids, owner=user, dossier__isnull=True).values_list("pk", flat=True)}
    return {code: [i for i in v if i in owned] for code, v in wanted.items()}


def check_documents(procedure: Procedure, docs: dict[str, list[str]]) -> dict[str, str]:
    """Each required document has at least one upload; the message goes next to it."""
    return {d.code: f"Vui lòng tải lên «{d.name}»."
            for d in procedure.documents.all() if d.required and not docs.get(d.code)}


def _field_of(key: str, behalf: bool) -> str:
    """The form field next to which an error of the applicant's block is shown."""
    if key == AUTHORISATION["code"]:
        return f"doc_{key}"
    return f"r_{key}" if behalf and key in dict(REPRESENTED_FIELDS) else f"a_{key}"


def documents_sent(docs: dict, behalf: bool) -> list[str]:
    """The uploads sent with the dossier (the authorisation only with nộp thay)."""
    return [i for code, ids in docs.items() for i in ids
            if behalf or code != AUTHORISATION["code"]]


def validate_submission(*, user, procedure: Procedure, agency: str, applicant: dict,
                        form: dict, docs: dict, behalf: bool = False) -> dict[str, str]:
    """Every problem of the web form at once, by field name (empty when it can be sent)."""
    errors = {}
    try:
        dossier_services.applicant_and_submitter(
            actor=user, applicant=applicant, on_behalf=behalf,
            attachments=documents_sent(docs, behalf))
    except ValidationFailed as exc:
        found = exc.extra.get("errors") or {"id_number": exc.detail}
        errors.update({_field_of(k, behalf): v for k, v in found.items()})
    try:
        validate_form(procedure.form, form)
    except ValidationFailed as exc:
        errors.update({f"f_{k}": v for k, v in (exc.extra.get("errors") or {}).items()})
    if not procedure.agencies.filter(code=agency).exists():
        errors["agency"] = "Vui lòng chọn cơ quan tiếp nhận."
    errors.update({f"doc_{k}": v for k, v in check_documents(procedure, docs).items()})
    return errors


def submit(*, user, procedure: Procedure, agency: str, applicant: dict, form: dict,
           docs: dict, behalf: bool = False) -> Dossier:
    """Send the dossier (after the summary page) and drop the draft."""
    errors = validate_submission(user=user, procedure=procedure, agency=agency,
                                 applicant=applicant, form=form, docs=docs, behalf=behalf)
    if errors:
        raise ValidationFailed("Hồ sơ chưa đủ thông tin.", errors=errors)
    ids = documents_sent(docs, behalf)
    with transaction.atomic():
        dossier = dossier_services.submit_dossier(
            actor=user, procedure=procedure.code, agency=agency,
            applicant={k: v for k, v in applicant.items() if k != "birth_date"},
            form={k: v for k, v in form.items() if v not in (None, "")}, attachments=ids,
            on_behalf=behalf)
        Draft.objects.filter(user=user, procedure_code=procedure.code).delete()
    return dossier


def save_draft(*, user, procedure: Procedure, data: dict) -> Draft:
    """Keep what the citizen typed so far (only the form's own keys, bounded)."""
    keep = {k: str(v)[:2000] for k, v in data.items()
            if k.startswith(("a_", "f_", "doc_", "r_")) or k in {"agency", "nop_thay"}}
    if len(keep) > 200:
        raise ValidationFailed("Bản nháp quá lớn.")
    draft, _ = Draft.objects.update_or_create(
        user=user, procedure_code=procedure.code, defaults={"data": keep})
    return draft


def draft_for(user, procedure: Procedure) -> dict:
    d = Draft.objects.filter(user=user, procedure_code=procedure.code).first()
    return d.data if d else {}


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError):
        return False
    return True


def upload_document(*, user, procedure: Procedure, code: str, upload) -> Attachment:
    """One file for one document of the procedure (checked by content and size)."""
    if code != AUTHORISATION["code"] and not procedure.documents.filter(code=code).exists():
        raise ValidationFailed("Thành phần hồ sơ không thuộc thủ tục này.")
    return dossier_services.store_attachment(actor=user, upload=upload, document_code=code)


def supplement(*, user, dossier: Dossier, files: list, note: str) -> Dossier:
    """The applicant answers a request for supplementation on the same dossier: the files
    (checked by content and size) and a note, then the clock runs again."""
    if not files and not note.strip():
        raise ValidationFailed("Vui lòng tải lên giấy tờ bổ sung hoặc ghi nội dung bổ sung.")
    if len(files) > 10:
        raise ValidationFailed("Mỗi lần bổ sung tối đa 10 tệp.")
    ids = [str(dossier_services.store_attachment(actor=user, upload=f,
                                                 document_code="bo_sung").pk) for f in files]
    return dossier_services.supplement_dossier(actor=user, dossier=dossier, attachments=ids,
                                               note=note)
