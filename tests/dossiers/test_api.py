"""The pinned HTTP API: status codes, bodies, and that rejected requests write nothing."""

import io
import zipfile

from chinhquyenso.dossiers.models import Attachment, Dossier
from tests.conftest import birth_body

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_submit_returns_201_with_code_and_status(api, agency):
    r = api("citizen").post("/dossiers", birth_body(agency))
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["code"].startswith("000.21.31.H31-") and body["status"] == 1
    assert body["status_name"] == "Mới đăng ký"


def test_same_idempotency_key_and_body_gives_the_same_dossier(api, agency):
    client = api("citizen")
    key = {"Idempotency-Key": "k-123"}
    first = client.post("/dossiers", birth_body(agency), headers=key)
    again = client.post("/dossiers", birth_body(agency), headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json()["code"] == again.json()["code"]
    assert Dossier.objects.count() == 1


def test_same_idempotency_key_with_another_body_is_409(api, agency):
    client = api("citizen")
    key = {"Idempotency-Key": "k-456"}
    client.post("/dossiers", birth_body(agency), headers=key)
    other = birth_body(agency, form={"child_full_name": "Khác", "child_birth_date": "2026-10-01",
                                     "child_sex": "Nữ"})
    r = client.post("/dossiers", other, headers=key)
    assert r.status_code == 409
    assert r["Content-Type"].startswith("application/problem+json")
    assert "Idempotency-Key" in r.json()["detail"]
    assert Dossier.objects.count() == 1


def test_invalid_form_gets_422_in_vietnamese_and_writes_nothing(api, agency):
    body = birth_body(agency, form={"child_birth_date": "ngày mai", "child_sex": "?"})
    r = api("citizen").post("/dossiers", body)
    assert r.status_code == 422
    problem = r.json()
    assert problem["status"] == 422
    assert "Vui lòng nhập «Họ, chữ đệm, tên của trẻ»" in problem["detail"]
    assert Dossier.objects.count() == 0


def test_malformed_json_and_wrong_types_never_give_5xx(api, agency):
    client = api("citizen")
    r = client.client.post("/api/v1/dossiers", "{not json", content_type="application/json",
                           headers=client.headers)
    assert 400 <= r.status_code < 500
    r = client.post("/dossiers", {"procedure": 5, "agency": [], "applicant": "x"})
    assert r.status_code == 422 and "không hợp lệ" in r.json()["detail"]


def test_no_token_gets_401_problem(api, agency):
    r = api(None).post("/dossiers", birth_body(agency))
    assert r.status_code == 401 and r.json()["detail"]


def test_applicant_and_own_officers_see_the_dossier_others_get_404(api, agency):
    code = api("citizen").post("/dossiers", birth_body(agency)).json()["code"]
    assert api("citizen").get(f"/dossiers/{code}").status_code == 200
    assert api("receiver").get(f"/dossiers/{code}").status_code == 200
    assert api("monitor").get(f"/dossiers/{code}").status_code == 200
    assert api("citizen2").get(f"/dossiers/{code}").status_code == 404
    assert api("other_receiver").get(f"/dossiers/{code}").status_code == 404
    assert api(None).get(f"/dossiers/{code}").status_code == 401


def test_actions_through_the_api_and_409_on_invalid_transition(api, agency):
    code = api("citizen").post("/dossiers", birth_body(agency)).json()["code"]
    r = api("receiver").post(f"/dossiers/{code}/actions/receive", {"note": "Đủ hồ sơ"})
    assert r.status_code == 200 and r.json()["status"] == 2
    assert r.json()["due_at"] is not None
    r = api("receiver").post(f"/dossiers/{code}/actions/receive", {})
    assert r.status_code == 409 and "Được tiếp nhận" in r.json()["detail"]
    assert api("other_receiver").post(f"/dossiers/{code}/actions/forward").status_code == 404
    assert api("citizen").post(f"/dossiers/{code}/actions/approve").status_code == 403
    assert api("receiver").post(f"/dossiers/{code}/actions/fly").status_code == 404


def test_queue_lists_open_dossiers_of_the_agency_oldest_due_first(api, agency):
    for _ in range(3):
        api("citizen").post("/dossiers", birth_body(agency))
    r = api("receiver").get("/queue")
    assert r.status_code == 200 and r.json()["count"] == 3
    assert api("other_receiver").get("/queue").json()["count"] == 0
    assert api("citizen").get("/queue").status_code == 403


def test_public_lookup_shows_no_personal_data(api, agency):
    code = api("citizen").post("/dossiers", birth_body(agency)).json()["code"]
    r = api(None).get(f"/lookup/{code}")
    assert r.status_code == 200
    text = r.content.decode()
    assert "Nguyễn Văn An" not in text and "001099012345" not in text
    assert r.json()["status_name"] == "Mới đăng ký"
    assert api(None).get("/lookup/KHONG-CO").status_code == 404
    received = api("receiver").post(f"/dossiers/{code}/actions/receive").json()
    after = api(None).get(f"/lookup/{code}").json()
    assert after["status_name"] == "Được tiếp nhận"
    assert after["due_at"] == received["due_at"] and after["due_at"].endswith("+07:00")
    assert after["received_at"] == received["received_at"]


def test_upload_checks_type_by_content_and_records_sha256(api):
    client = api("citizen")
    r = client.upload("giay-chung-sinh.pdf", PDF, "GCS")
    assert r.status_code == 201
    import hashlib

    assert r.json()["sha256"] == hashlib.sha256(PDF).hexdigest()
    fake = client.upload("anh.pdf", b"MZ\x90\x00 this is an exe")
    assert fake.status_code == 422 and "PDF, JPEG, PNG hoặc DOCX" in fake.json()["detail"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    assert client.upload("to-khai.docx", buf.getvalue()).status_code == 201
    assert Attachment.objects.count() == 2


def test_upload_over_the_size_limit_is_refused(api, settings):
    settings.CQS_MAX_UPLOAD_BYTES = 1000
    r = api("citizen").upload("lon.pdf", PDF + b"0" * 2000)
    assert r.status_code == 422 and "MB" in r.json()["detail"]


def test_attachments_belong_to_the_dossier_and_cannot_be_reused(api, agency):
    client = api("citizen")
    att = client.upload("gcs.pdf", PDF, "GCS").json()["id"]
    r = client.post("/dossiers", birth_body(agency, attachments=[att]))
    assert r.status_code == 201
    detail = client.get(f"/dossiers/{r.json()['code']}").json()
    assert [a["id"] for a in detail["attachments"]] == [att]
    again = client.post("/dossiers", birth_body(agency, attachments=[att]))
    assert again.status_code == 422
    stolen = api("citizen2").post("/dossiers", birth_body(agency, attachments=[att]))
    assert stolen.status_code == 422


def test_queue_count_is_exact_up_to_its_limit(api, agency, monkeypatch):
    from chinhquyenso.dossiers import queries

    for _ in range(3):
        api("citizen").post("/dossiers", birth_body(agency))
    body = api("receiver").get("/queue").json()
    assert (body["count"], body["count_exact"]) == (3, True)
    monkeypatch.setattr(queries, "COUNT_LIMIT", 2)
    monkeypatch.setattr(queries.bounded_count, "__defaults__", (2,))
    body = api("receiver").get("/queue").json()
    assert (body["count"], body["count_exact"]) == (2, False)
