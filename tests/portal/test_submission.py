"""The submission form as a citizen uses it: prefilled identity, errors next to the fields,
uploads checked before they are kept, a draft that survives, a summary, then the receipt."""

import io
import re

from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader

from chinhquyenso.dossiers.models import Attachment, Dossier, Status
from chinhquyenso.portal.models import Draft

from .conftest import PDF

FORM = {
    "f_child_full_name": "Nguyễn Minh Khôi",
    "f_child_birth_date": "2026-11-01",
    "f_child_sex": "Nam",
    "a_full_name": "Nguyễn Văn An",
    "a_id_number": "001099012345",
    "a_phone": "0912345678",
    "a_email": "an@example.vn",
    "a_address": "Số 1 Hoàng Văn Thụ, Phường Hồng Bàng",
}


def _upload(c, code="to_khai", content=PDF, name="to-khai.pdf"):
    return c.post(
        "/ho-so/nop/1.001193/tep", {"document": code, "file": SimpleUploadedFile(name, content)}
    )


def test_form_is_prefilled_from_the_verified_identity(web, people, documents):
    user = people["citizen"]
    user.address, user.verified_fields = "Số 1 Hoàng Văn Thụ", ["full_name", "id_number", "address"]
    user.save()
    body = web("citizen").get("/ho-so/nop/1.001193").content.decode()
    assert re.search(r'id="a_full_name"[^>]*value="Nguyễn Văn An"[^>]*readonly', body, re.S)
    assert re.search(r'id="a_address"[^>]*value="Số 1 Hoàng Văn Thụ"', body, re.S)
    assert body.count("Đã xác thực từ định danh điện tử") == 3
    assert 'name="file_to_khai"' in body and "Tờ khai đăng ký khai sinh" in body


def test_errors_are_shown_next_to_each_field(web, agency, documents):
    c = web("citizen")
    r = c.post(
        "/ho-so/nop/1.001193",
        {
            "buoc": "xem-lai",
            "agency": agency.code,
            "a_full_name": "Nguyễn Văn An",
            "nop_thay": "1",
            "r_full_name": "Trần Văn Cha",
            "r_id_number": "12345",
            "f_child_sex": "Nam",
        },
    )
    body = r.content.decode()
    assert r.status_code == 422
    assert re.search(
        r'id="r_id_number_err"[^>]*>Số định danh cá nhân phải gồm đúng 12 chữ số', body
    )
    assert re.search(
        r'id="f_child_full_name_err"[^>]*>Vui lòng nhập «Họ, chữ đệm, tên của trẻ»', body
    )
    assert re.search(
        r'id="doc_to_khai_err"[^>]*>Vui lòng tải lên «Tờ khai đăng ký khai sinh»', body
    )
    assert 'uy_quyen_err" role="alert"></p>' in body  # optional document: no error
    assert Dossier.objects.count() == 0


def test_uploads_are_checked_by_content_and_size(web, documents, settings):
    c = web("citizen")
    r = _upload(c, content=b"MZ\x90\x00 not a pdf", name="giay-to.pdf")
    assert r.status_code == 422 and "Chỉ nhận tệp PDF, JPEG, PNG hoặc DOCX" in r.json()["error"]
    settings.CQS_MAX_UPLOAD_BYTES = 1024
    r = _upload(c, content=PDF + b"0" * 2000)
    assert r.status_code == 422 and "lớn hơn" in r.json()["error"]
    r = _upload(c, code="khong_co")
    assert r.status_code == 422 and "không thuộc thủ tục" in r.json()["error"]
    assert Attachment.objects.count() == 0


def test_draft_survives_and_the_dossier_is_sent_after_the_summary(web, agency, documents):
    c = web("citizen")
    up = _upload(c)
    assert up.status_code == 201
    file_id = up.json()["id"]
    # The script saves what was typed; a new browser session finds it again.
    c.post("/ho-so/nop/1.001193/nhap", {**FORM, "agency": agency.code, "doc_to_khai": file_id})
    assert Draft.objects.count() == 1
    again = web("citizen").get("/ho-so/nop/1.001193").content.decode()
    assert 'value="Nguyễn Minh Khôi"' in again and "to-khai.pdf" in again

    r = c.post(
        "/ho-so/nop/1.001193",
        {**FORM, "agency": agency.code, "doc_to_khai": file_id, "buoc": "xem-lai"},
    )
    body = r.content.decode()
    assert r.status_code == 200 and "Xem lại hồ sơ trước khi nộp" in body
    assert "Nguyễn Minh Khôi" in body and "to-khai.pdf" in body
    assert Dossier.objects.count() == 0  # nothing is sent before the citizen confirms

    r = c.post(
        "/ho-so/nop/1.001193",
        {**FORM, "agency": agency.code, "doc_to_khai": file_id, "buoc": "nop"},
    )
    d = Dossier.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/ho-so/{d.code}/bien-nhan"
    assert d.status == Status.NEW and d.form["child_full_name"] == "Nguyễn Minh Khôi"
    assert d.attachments.get().document_code == "to_khai"
    assert Draft.objects.count() == 0

    receipt = c.get(r["Location"]).content.decode()
    assert d.code in receipt and 'src="data:image/svg+xml' in receipt
    pdf = c.get(f"/ho-so/{d.code}/bien-nhan.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "PHIẾU XÁC NHẬN NỘP HỒ SƠ TRỰC TUYẾN" in text and d.code in text
    assert "to-khai.pdf" in text


def test_without_javascript_files_go_with_the_form(web, agency, documents):
    c = web("citizen")
    r = c.post(
        "/ho-so/nop/1.001193",
        {
            **FORM,
            "agency": agency.code,
            "buoc": "xem-lai",
            "file_to_khai": SimpleUploadedFile("scan.pdf", PDF),
        },
    )
    assert r.status_code == 200 and "scan.pdf" in r.content.decode()
    att = Attachment.objects.get()
    r = c.post(
        "/ho-so/nop/1.001193",
        {**FORM, "agency": agency.code, "buoc": "nop", "doc_to_khai": str(att.pk)},
    )
    assert r.status_code == 302 and Dossier.objects.get().attachments.count() == 1


def test_someone_elses_upload_cannot_be_attached(web, people, agency, documents):
    theirs = _upload(web("citizen2")).json()["id"]
    r = web("citizen").post(
        "/ho-so/nop/1.001193", {**FORM, "agency": agency.code, "doc_to_khai": theirs, "buoc": "nop"}
    )
    assert r.status_code == 422 and Dossier.objects.count() == 0
    assert Attachment.objects.get(pk=theirs).dossier_id is None


def test_the_form_needs_a_signed_in_applicant(web, documents):
    r = web(None).get("/ho-so/nop/1.001193")
    assert r.status_code == 302 and r["Location"] == "/dang-nhap?next=%2Fho-so%2Fnop%2F1.001193"
    assert web("receiver").get("/ho-so/nop/1.001193").status_code == 403


def test_a_double_click_on_send_makes_one_dossier(web, agency, procedure):
    c = web("citizen")
    summary = c.post("/ho-so/nop/1.001193", {**FORM, "agency": agency.code, "buoc": "xem-lai"})
    key = re.search(r'name="khoa" value="([0-9a-f]{32})"', summary.content.decode()).group(1)
    sent = {**FORM, "agency": agency.code, "buoc": "nop", "khoa": key}
    first, second = c.post("/ho-so/nop/1.001193", sent), c.post("/ho-so/nop/1.001193", sent)
    d = Dossier.objects.get()
    assert first["Location"] == second["Location"] == f"/ho-so/{d.code}/bien-nhan"
