"""Nộp thay on the portal: the applicant block is the signed-in person's (read-only, and a
tampered form changes nothing); filing for someone else is a declared option with the
represented person and their authorisation, shown on the summary, receipt and dossier."""

import re

from django.core.files.uploadedfile import SimpleUploadedFile

from chinhquyenso.dossiers.models import Dossier

from .conftest import PDF

FORM = {
    "f_child_full_name": "Trần Minh Con",
    "f_child_birth_date": "2026-11-01",
    "f_child_sex": "Nam",
    "a_phone": "0912345678",
    "a_email": "an@example.vn",
}


def _upload(c, code):
    r = c.post(
        "/ho-so/nop/1.001193/tep",
        {"document": code, "file": SimpleUploadedFile(f"{code}.pdf", PDF)},
    )
    assert r.status_code == 201, r.content
    return r.json()["id"]


def test_the_applicant_block_is_the_account_and_cannot_be_changed(web, agency, documents):
    c = web("citizen")
    form = c.get("/ho-so/nop/1.001193").content.decode()
    assert re.search(r'id="a_id_number"[^>]*value="001099012345"[^>]*readonly', form, re.S)
    assert re.search(r'id="a_full_name"[^>]*value="Nguyễn Văn An"[^>]*readonly', form, re.S)
    assert 'id="nop_thay"' in form and 'name="file_giay_uy_quyen"' in form

    to_khai = _upload(c, "to_khai")
    tampered = {
        **FORM,
        "agency": agency.code,
        "doc_to_khai": to_khai,
        "a_full_name": "Trần Thị Bình",
        "a_id_number": "001199054321",
    }
    c.post("/ho-so/nop/1.001193", {**tampered, "buoc": "xem-lai"})
    r = c.post("/ho-so/nop/1.001193", {**tampered, "buoc": "nop"})
    assert r.status_code == 302
    d = Dossier.objects.get()
    assert (d.applicant_name, d.applicant_id_number) == ("Nguyễn Văn An", "001099012345")
    assert not d.on_behalf


def test_nop_thay_without_authorisation_is_shown_next_to_its_field(web, agency, documents):
    c = web("citizen")
    r = c.post(
        "/ho-so/nop/1.001193",
        {
            **FORM,
            "agency": agency.code,
            "doc_to_khai": _upload(c, "to_khai"),
            "nop_thay": "1",
            "r_full_name": "Trần Văn Cha",
            "r_id_number": "001060000001",
            "buoc": "xem-lai",
        },
    )
    assert r.status_code == 422
    assert re.search(
        r'id="doc_giay_uy_quyen_err"[^>]*>Nộp thay cần đính kèm giấy ủy quyền', r.content.decode()
    )
    assert Dossier.objects.count() == 0


def test_nop_thay_is_filed_with_both_people_and_the_authorisation(web, agency, documents, people):
    c = web("citizen")
    values = {
        **FORM,
        "agency": agency.code,
        "doc_to_khai": _upload(c, "to_khai"),
        "doc_giay_uy_quyen": _upload(c, "giay_uy_quyen"),
        "nop_thay": "1",
        "r_full_name": "Trần Văn Cha",
        "r_id_number": "001060000001",
        "r_address": "Số 5 Lạch Tray, Ngô Quyền",
    }
    summary = c.post("/ho-so/nop/1.001193", {**values, "buoc": "xem-lai"}).content.decode()
    assert "Người được nộp thay (đứng tên hồ sơ)" in summary
    assert "Trần Văn Cha" in summary and "giay_uy_quyen.pdf" in summary
    r = c.post("/ho-so/nop/1.001193", {**values, "buoc": "nop"})
    assert r.status_code == 302, r.content.decode()[:2000]
    d = Dossier.objects.get()
    assert (d.applicant_name, d.applicant_id_number) == ("Trần Văn Cha", "001060000001")
    assert (d.submitter_name, d.submitter_id_number) == ("Nguyễn Văn An", "001099012345")
    assert sorted(d.attachments.values_list("document_code", flat=True)) == [
        "giay_uy_quyen",
        "to_khai",
    ]

    receipt = c.get(r["Location"]).content.decode()
    assert "Trần Văn Cha (số định danh 001060000001)" in receipt
    assert re.search(r'id="nguoi-nop-thay">Nguyễn Văn An \(số định danh 001099012345\)', receipt)
    mine = c.get(f"/ca-nhan/ho-so/{d.code}").content.decode()
    assert "Trần Văn Cha" in mine and 'id="nguoi-nop-thay"' in mine


def test_an_unchecked_nop_thay_sends_the_dossier_in_ones_own_name(web, agency, documents):
    c = web("citizen")
    values = {
        **FORM,
        "agency": agency.code,
        "doc_to_khai": _upload(c, "to_khai"),
        "doc_giay_uy_quyen": _upload(c, "giay_uy_quyen"),
        "r_full_name": "Trần Văn Cha",
        "r_id_number": "001060000001",
    }
    c.post("/ho-so/nop/1.001193", {**values, "buoc": "xem-lai"})
    assert c.post("/ho-so/nop/1.001193", {**values, "buoc": "nop"}).status_code == 302
    d = Dossier.objects.get()
    assert d.applicant_id_number == "001099012345" and not d.on_behalf
    assert list(d.attachments.values_list("document_code", flat=True)) == ["to_khai"]
