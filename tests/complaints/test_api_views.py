"""PAKN over the API (problem+json, Idempotency-Key) and the pages (public form, tracking
page, officer list with overdue highlighted, access checks)."""

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from chinhquyenso.complaints.models import Complaint

BODY = {"category": "staff", "title": "Cán bộ hướng dẫn chưa rõ",
        "content": "Tôi phải đi lại ba lần vì mỗi lần được hướng dẫn một kiểu khác nhau."}


def test_create_is_idempotent_and_documented_errors(api, agency):
    c = api("citizen")
    body = {**BODY, "agency": agency.code}
    r1 = c.post("/complaints", body, headers={"Idempotency-Key": "k-1"})
    r2 = c.post("/complaints", body, headers={"Idempotency-Key": "k-1"})
    assert r1.status_code == 201 and r2.status_code == 201
    assert r1.json()["code"] == r2.json()["code"]
    assert r1.json()["status_name"] == "Chờ xử lý"
    assert Complaint.objects.count() == 1
    r3 = c.post("/complaints", {**body, "title": "Khác hẳn"}, headers={"Idempotency-Key": "k-1"})
    assert r3.status_code == 409
    bad = c.post("/complaints", {**body, "content": "ngắn"})
    assert bad.status_code == 422
    assert bad["Content-Type"].startswith("application/problem+json")
    assert "Nội dung" in bad.json()["detail"]
    assert Complaint.objects.count() == 1


def test_api_scope_and_answer(api, agency):
    code = api("citizen").post("/complaints", {**BODY, "agency": agency.code}).json()["code"]
    assert api("citizen2").get(f"/complaints/{code}").status_code == 404
    assert api("other_specialist").get(f"/complaints/{code}").status_code == 404
    r = api("other_specialist").post(f"/complaints/{code}/answer",
                                     {"answer": "Không thuộc cơ quan này trả lời."})
    assert r.status_code == 404
    r = api("specialist").post(f"/complaints/{code}/answer",
                               {"answer": "Phường đã nhắc nhở cán bộ và xin lỗi ông/bà."})
    assert r.status_code == 200 and r.json()["status"] == "answered"
    assert r.json()["on_time"] is True
    r = api("citizen").post(f"/complaints/{code}/rate", {"rating": "satisfied"})
    assert r.status_code == 200 and r.json()["rating"] == "satisfied"
    listing = api("monitor").get("/complaints").json()
    assert [i["code"] for i in listing["items"]] == [code]


def test_public_form_and_tracking_page(people, agency):
    c = Client()
    r = c.post("/phan-anh/", {**BODY, "agency": agency.code, "name": "Lê Văn Cường",
                              "phone": "0912345678"})
    assert r.status_code == 302 and "/phan-anh/theo-doi/" in r["Location"]
    page = c.get(r["Location"])
    assert page.status_code == 200
    text = page.content.decode()
    assert "Cán bộ hướng dẫn chưa rõ" in text and "Chờ xử lý" in text
    code = Complaint.objects.get().code
    assert c.get(f"/phan-anh/theo-doi/{code}/sai-khoa").status_code == 404
    bad = c.post("/phan-anh/", {**BODY, "agency": agency.code, "name": "Lê Văn Cường"})
    assert bad.status_code == 400
    assert "điện thoại hoặc thư điện tử" in bad.content.decode()
    assert Complaint.objects.count() == 1


def test_officer_list_highlights_overdue_and_checks_access(people, agency):
    c = Client()
    c.post("/phan-anh/", {**BODY, "agency": agency.code, "name": "Lê Văn Cường",
                          "phone": "0912345678"})
    late = Complaint.objects.get()
    Complaint.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=1))
    officer = Client()
    officer.force_login(people["specialist"])
    page = officer.get("/phan-anh/can-bo/").content.decode()
    assert 'class="overdue"' in page and late.code in page and "Quá hạn" in page
    other = Client()
    other.force_login(people["other_specialist"])
    assert late.code not in other.get("/phan-anh/can-bo/").content.decode()
    assert other.get(f"/phan-anh/can-bo/{late.code}").status_code == 404
    citizen = Client()
    citizen.force_login(people["citizen"])
    assert citizen.get("/phan-anh/can-bo/").status_code == 403
    assert Client().get("/phan-anh/can-bo/").status_code == 302
    r = officer.post(f"/phan-anh/can-bo/{late.code}/tra-loi",
                     {"answer": "Phường đã nhắc nhở cán bộ và xin lỗi ông."})
    assert r.status_code == 302
    late.refresh_from_db()
    assert late.status == "answered" and late.answered_by == people["specialist"]


def test_public_form_renders_with_labels(agency):
    page = Client().get("/phan-anh/")
    text = page.content.decode()
    assert page.status_code == 200
    assert 'for="pa-content"' in text and "15 ngày làm việc" in text
    assert agency.name in text and "csrfmiddlewaretoken" in text
