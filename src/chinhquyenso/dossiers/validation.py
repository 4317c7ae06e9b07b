"""Validation of a dossier's form data against its procedure's form definition, with a
Vietnamese message for each field (the same rules as catalog.services.form_schema)."""

import re
from datetime import date

from chinhquyenso.core.errors import ValidationFailed

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^(\+84|0)[0-9]{9,10}$")
ID_NUMBER = re.compile(r"^[0-9]{12}$")  # số định danh cá nhân (CCCD): 12 chữ số
TAX_CODE = re.compile(r"^[0-9]{10}([0-9]{3})?$")  # mã số doanh nghiệp: 10 hoặc 13 chữ số


def _field_error(f: dict, value) -> str | None:
    kind = f.get("type", "string")
    label = f.get("label", f["name"])
    if kind == "boolean":
        return None if isinstance(value, bool) else f"«{label}» phải là đúng/sai."
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"«{label}» phải là số nguyên."
    if not isinstance(value, str):
        return f"«{label}» phải là chuỗi ký tự."
    limit = f.get("max_length") or (2000 if kind == "text" else 255)
    if len(value) > int(limit):
        return f"«{label}» dài quá {limit} ký tự."
    if kind == "date":
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return f"«{label}» phải là ngày theo dạng NNNN-TT-NN."
        if not 1900 <= day.year <= 2100:  # a parent's birth date may be before 2000
            return f"«{label}» phải nằm trong các năm 1900–2100."
    if kind == "email" and not EMAIL.match(value):
        return f"«{label}» không phải địa chỉ thư điện tử hợp lệ."
    if kind == "phone" and not PHONE.match(value):
        return f"«{label}» không phải số điện thoại hợp lệ."
    if kind == "select" and f.get("options") and value not in f["options"]:
        return f"«{label}» phải là một trong: {', '.join(f['options'])}."
    return None


def validate_form(definition: list[dict], data) -> dict:
    """Return the cleaned form data or raise ValidationFailed listing every problem."""
    if not isinstance(data, dict):
        raise ValidationFailed("Dữ liệu tờ khai phải là một đối tượng JSON.")
    known = {f["name"]: f for f in definition}
    errors = {}
    for name in data:
        if name not in known:
            errors[name] = f"Trường «{name}» không có trong tờ khai của thủ tục này."
    for name, f in known.items():
        value = data.get(name)
        if value is None or value == "":
            if f.get("required"):
                errors[name] = f"Vui lòng nhập «{f.get('label', name)}»."
            continue
        msg = _field_error(f, value)
        if msg:
            errors[name] = msg
    if errors:
        raise ValidationFailed("Tờ khai chưa hợp lệ: " + " ".join(errors.values()),
                               errors=errors)
    return {k: v for k, v in data.items() if v not in (None, "")}


def validate_applicant(data: dict, *, business: bool) -> dict:
    errors = {}
    name = (data.get("full_name") or "").strip()
    if not name:
        errors["full_name"] = "Vui lòng nhập họ và tên người nộp hồ sơ."
    elif len(name) > 150:
        errors["full_name"] = "Họ và tên dài quá 150 ký tự."
    id_number = (data.get("id_number") or "").strip()
    pattern = TAX_CODE if business else ID_NUMBER
    if not pattern.match(id_number):
        errors["id_number"] = (
            "Mã số doanh nghiệp phải gồm 10 hoặc 13 chữ số." if business
            else "Số định danh cá nhân phải gồm đúng 12 chữ số."
        )
    phone = (data.get("phone") or "").strip()
    if phone and not PHONE.match(phone):
        errors["phone"] = "Số điện thoại không hợp lệ (ví dụ 0912345678)."
    email = (data.get("email") or "").strip()
    if email and (not EMAIL.match(email) or len(email) > 150):
        errors["email"] = "Địa chỉ thư điện tử không hợp lệ."
    address = (data.get("address") or "").strip()
    if len(address) > 500:
        errors["address"] = "Địa chỉ dài quá 500 ký tự."
    if errors:
        raise ValidationFailed("Thông tin người nộp chưa hợp lệ: " + " ".join(errors.values()),
                               errors=errors)
    return {"full_name": name, "id_number": id_number, "phone": phone, "email": email,
            "address": address}
