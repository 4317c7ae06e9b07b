"""The forms of Circular 03/2025/TT-VPCP, downloaded for a real dossier."""

import io

from pypdf import PdfReader

from chinhquyenso.dossiers import services
from chinhquyenso.dossiers.models import Dossier
from tests.conftest import birth_body


def pdf_text(response) -> str:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)


def test_receipt_after_receive_carries_code_applicant_and_due_date(api, agency):
    code = api("citizen").post("/dossiers", birth_body(agency)).json()["code"]
    assert api("citizen").get(f"/dossiers/{code}/forms/01").status_code == 409
    api("receiver").post(f"/dossiers/{code}/actions/receive")
    text = pdf_text(api("citizen").get(f"/dossiers/{code}/forms/01"))
    due = Dossier.objects.get(code=code).due_at.astimezone(services.VN)
    assert code in text and "Nguyễn Văn An" in text
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text.upper()
    assert f"{due:%d/%m/%Y}" in text


def test_supplement_request_and_process_sheet(api, agency):
    code = api("citizen").post("/dossiers", birth_body(agency)).json()["code"]
    api("receiver").post(f"/dossiers/{code}/actions/receive")
    api("specialist").post(f"/dossiers/{code}/actions/request-supplement",
                           {"items": ["Bản chính Giấy chứng sinh"]})
    text = pdf_text(api("citizen").get(f"/dossiers/{code}/forms/02"))
    assert "Bản chính Giấy chứng sinh" in text
    sheet = pdf_text(api("receiver").get(f"/dossiers/{code}/forms/06"))
    assert code in sheet and "Tiếp nhận hồ sơ" in sheet


def test_refusal_notice_exists_only_for_a_refused_dossier(api, agency):
    code = api("citizen").post("/dossiers", birth_body(agency)).json()["code"]
    assert api("citizen").get(f"/dossiers/{code}/forms/03").status_code == 409
    api("receiver").post(f"/dossiers/{code}/actions/refuse",
                         {"note": "Không thuộc thẩm quyền giải quyết"})
    assert "Không thuộc thẩm quyền giải quyết" in pdf_text(
        api("citizen").get(f"/dossiers/{code}/forms/03"))


def test_forms_follow_the_dossier_access_rules(api, agency):
    code = api("citizen").post("/dossiers", birth_body(agency)).json()["code"]
    api("receiver").post(f"/dossiers/{code}/actions/receive")
    assert api("citizen2").get(f"/dossiers/{code}/forms/01").status_code == 404
    assert api("citizen").get(f"/dossiers/{code}/forms/99").status_code == 404


def test_register_lists_the_agency_dossiers_of_the_period(api, agency):
    from django.utils import timezone

    code = api("citizen").post("/dossiers", birth_body(agency)).json()["code"]
    api("receiver").post(f"/dossiers/{code}/actions/receive")
    assert api("specialist").post(f"/dossiers/{code}/actions/forward").status_code == 200
    today = timezone.now().astimezone(services.VN).date().isoformat()
    text = pdf_text(api("receiver").get("/register", date_from=today, date_to=today))
    assert code.split("-")[0] in text
    assert api("citizen").get("/register", date_from=today, date_to=today).status_code == 403
    assert api("receiver").get("/register", date_from=today,
                               date_to="2020-01-01").status_code == 422
