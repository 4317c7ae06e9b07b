"""Nộp thay through the API: an online dossier is in the name of the signed-in person;
filing for someone else is declared, carries their authorisation, and records both people.
The one-stop desk still types the applicant in front of it."""

from django.test import Client

from chinhquyenso.dossiers.models import Dossier
from chinhquyenso.dossiers.services import submit_dossier

from ..conftest import birth_body

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
FATHER = {
    "full_name": "Trần Văn Cha",
    "id_number": "001060000001",
    "address": "Số 5 Lạch Tray, Ngô Quyền",
}


def test_another_persons_number_without_nop_thay_is_refused(api, agency, people):
    before = Dossier.objects.count()
    r = api("citizen").post(
        "/dossiers",
        birth_body(
            agency,
            applicant={"full_name": "Trần Thị Bình", "id_number": people["citizen2"].id_number},
        ),
    )
    assert r.status_code == 422
    assert r["Content-Type"].startswith("application/problem+json")
    assert "đứng tên người đăng nhập" in r.json()["detail"]
    assert "nộp thay" in r.json()["detail"]
    assert Dossier.objects.count() == before


def test_the_applicant_is_the_account_whatever_the_body_says(api, agency, people):
    an = people["citizen"]
    an.verified_fields = ["full_name", "id_number"]
    an.save()
    body = birth_body(
        agency,
        applicant={"full_name": "Tên Khác", "id_number": an.id_number, "phone": "0987654321"},
    )
    r = api("citizen").post("/dossiers", body)
    assert r.status_code == 201
    d = Dossier.objects.get(code=r.json()["code"])
    assert (d.applicant_name, d.applicant_id_number) == ("Nguyễn Văn An", "001099012345")
    assert d.applicant_phone == "0987654321" and not d.on_behalf
    # Only contact details are needed: the identity comes from the account.
    r = api("citizen").post("/dossiers", birth_body(agency, applicant=None))
    assert r.status_code == 201
    d = Dossier.objects.get(code=r.json()["code"])
    assert d.applicant_id_number == "001099012345"
    assert api("citizen").get(f"/dossiers/{d.code}").json()["submitter"] is None


def test_nop_thay_needs_the_authorisation(api, agency):
    client = api("citizen")
    other = client.upload("to-khai.pdf", PDF, "to_khai").json()["id"]
    r = client.post(
        "/dossiers", birth_body(agency, applicant=FATHER, on_behalf=True, attachments=[other])
    )
    assert r.status_code == 422 and "giấy ủy quyền" in r.json()["detail"]
    assert Dossier.objects.count() == 0


def test_nop_thay_records_both_people(api, agency, people):
    client = api("citizen")
    authorisation = client.upload("uy-quyen.pdf", PDF, "giay_uy_quyen").json()["id"]
    r = client.post(
        "/dossiers",
        birth_body(agency, applicant=FATHER, on_behalf=True, attachments=[authorisation]),
    )
    assert r.status_code == 201, r.content
    d = Dossier.objects.get(code=r.json()["code"])
    assert (d.applicant_name, d.applicant_id_number) == ("Trần Văn Cha", "001060000001")
    assert (d.submitter_name, d.submitter_id_number) == ("Nguyễn Văn An", "001099012345")
    assert d.applicant_user_id == people["citizen"].pk and d.on_behalf
    out = client.get(f"/dossiers/{d.code}").json()
    assert out["applicant"]["id_number"] == "001060000001"
    assert out["submitter"] == {"full_name": "Nguyễn Văn An", "id_number": "001099012345"}
    assert [a["document_code"] for a in out["attachments"]] == ["giay_uy_quyen"]

    # The officers see both people on the dossier's page.
    officer = Client()
    officer.force_login(people["receiver"])
    page = officer.get(f"/can-bo/ho-so/{d.code}").content.decode()
    assert "Trần Văn Cha" in page and "001060000001" in page
    assert "Người nộp thay" in page and "001099012345" in page


def test_nop_thay_for_oneself_is_refused(api, agency, people):
    client = api("citizen")
    authorisation = client.upload("uy-quyen.pdf", PDF, "giay_uy_quyen").json()["id"]
    r = client.post("/dossiers", birth_body(agency, on_behalf=True, attachments=[authorisation]))
    assert r.status_code == 422 and "người khác" in r.json()["detail"]


def test_the_one_stop_desk_is_unaffected(people, agency):
    d = submit_dossier(
        actor=people["receiver"],
        procedure="1.001193",
        agency=agency.code,
        applicant=FATHER,
        channel="counter",
        form={
            "child_full_name": "Trần Minh Con",
            "child_birth_date": "2026-11-01",
            "child_sex": "Nam",
        },
    )
    assert (d.applicant_name, d.applicant_id_number) == ("Trần Văn Cha", "001060000001")
    assert not d.on_behalf and d.applicant_user_id is None
