"""The work queue (counts, highlighting, filters, search), the leader's batch approval and
the one-stop desk's paper intake."""

import re
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from chinhquyenso.dossiers import services
from chinhquyenso.dossiers.models import Dossier, Status

from .conftest import PNG


def test_queue_counts_highlights_and_filters(web, submit, people):
    a = submit(applicant="Lê Thị Cúc")
    b = services.receive_dossier(actor=people["receiver"], dossier=submit(applicant="Phạm Văn Đức"))
    c = submit(applicant="Hoàng Văn Em")
    now = timezone.now()
    Dossier.objects.filter(pk=a.pk).update(due_at=now - timedelta(hours=1))   # overdue
    Dossier.objects.filter(pk=c.pk).update(due_at=now + timedelta(hours=2))   # due soon
    Dossier.objects.filter(pk=b.pk).update(due_at=now + timedelta(days=30))
    page = web("receiver").get("/can-bo/").content.decode()
    # Two new (status 1), one received (status 2).
    assert re.search(r"Mới đăng ký <span class=\"badge\">2</span>", page)
    assert re.search(r"Được tiếp nhận <span class=\"badge\">1</span>", page)
    assert "3 hồ sơ." in page
    rows = re.findall(r'<tr class="([^"]*)">\s*<td><a href="/can-bo/ho-so/([^"]+)"', page)
    assert rows == [("overdue", a.code), ("due-soon", c.code), ("", b.code)]
    only_overdue = web("receiver").get("/can-bo/?overdue=1").content.decode()
    assert a.code in only_overdue and c.code not in only_overdue
    soon = web("receiver").get("/can-bo/?due_soon=1").content.decode()
    assert c.code in soon and a.code not in soon and b.code not in soon
    received = web("receiver").get("/can-bo/?status=2").content.decode()
    assert b.code in received and a.code not in received
    by_name = web("receiver").get("/can-bo/", {"q": "văn đức"}).content.decode()
    assert b.code in by_name and a.code not in by_name
    by_code = web("receiver").get("/can-bo/", {"q": c.code}).content.decode()
    assert "1 hồ sơ." in by_code and c.code in by_code


def test_queue_rejects_bad_filters_with_400(web):
    r = web("receiver").get("/can-bo/?status=abc")
    assert r.status_code == 400 and "Trạng thái không hợp lệ." in r.content.decode()
    assert web("receiver").get("/can-bo/?page=0").status_code == 400


def test_queue_is_paginated(web, submit):
    for i in range(23):
        submit(applicant=f"Người nộp {i}")
    first = web("receiver").get("/can-bo/").content.decode()
    assert first.count('<td><a href="/can-bo/ho-so/') == 20
    assert "page=2" in first
    second = web("receiver").get("/can-bo/?page=2").content.decode()
    assert second.count('<td><a href="/can-bo/ho-so/') == 3


def test_queue_of_another_agency_is_empty(web, submit):
    submit()
    page = web("other_receiver").get("/can-bo/").content.decode()
    assert "0 hồ sơ." in page


def test_batch_approval_reports_each_dossier(web, at_leader, submit):
    d1, d2 = at_leader(), at_leader()
    not_ready = submit()
    r = web("leader").post("/can-bo/phe-duyet",
                           {"ma": [d1.code, d2.code, not_ready.code, "KHONG-CO"],
                            "note": "Đồng ý"})
    assert r.status_code == 200
    page = r.content.decode()
    assert Dossier.objects.get(pk=d1.pk).status == Status.FINISHED
    assert Dossier.objects.get(pk=d2.pk).status == Status.FINISHED
    assert Dossier.objects.get(pk=not_ready.pk).status == Status.NEW
    assert page.count("Thành công") == 2
    assert f"{not_ready.code}: Không thể «phê duyệt kết quả» khi hồ sơ đang ở" in page
    assert "KHONG-CO: Không tìm thấy hồ sơ." in page


def test_approvals_list_shows_only_the_leader_step(web, at_leader, submit):
    ready = at_leader()
    other = submit()
    page = web("leader").get("/can-bo/phe-duyet").content.decode()
    assert ready.code in page and other.code not in page


def test_paper_desk_submits_receives_and_prints_the_receipt(web, people):
    c = web("receiver")
    form = c.get("/can-bo/tiep-nhan?thu_tuc=1.001193").content.decode()
    idem = re.search(r'name="idem" value="([0-9a-f]+)"', form).group(1)
    data = {
        "procedure": "1.001193", "idem": idem,
        "applicant_full_name": "Trần Văn Bảo", "applicant_id_number": "001088001122",
        "applicant_phone": "0987654321", "applicant_address": "Số 5 Điện Biên Phủ",
        "form_child_full_name": "Trần Gia Hân", "form_child_birth_date": "2026-11-10",
        "form_child_sex": "Nữ",
        "file_khac": SimpleUploadedFile("giay-chung-sinh.png", PNG),
    }
    r = c.post("/can-bo/tiep-nhan", data)
    assert r.status_code == 302
    code = r["Location"].rsplit("/", 1)[1]
    d = Dossier.objects.get(code=code)
    assert d.status == Status.RECEIVED
    assert d.channel == "counter"
    assert d.applicant_name == "Trần Văn Bảo"
    assert d.form["child_full_name"] == "Trần Gia Hân"
    att = d.attachments.get()
    assert att.owner == people["receiver"] and att.original_name == "giay-chung-sinh.png"
    done = c.get(r["Location"]).content.decode()
    assert f"/can-bo/ho-so/{code}/mau/01" in done
    pdf = c.get(f"/can-bo/ho-so/{code}/mau/01")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # The same form sent again (double click, back button) is the same dossier.
    data["file_khac"] = SimpleUploadedFile("giay-chung-sinh.png", PNG)
    again = c.post("/can-bo/tiep-nhan", data)
    assert again["Location"] == r["Location"]
    assert Dossier.objects.count() == 1


def test_paper_desk_shows_field_errors_and_writes_nothing(web):
    c = web("receiver")
    r = c.post("/can-bo/tiep-nhan", {
        "procedure": "1.001193", "idem": "abc123",
        "applicant_full_name": "Trần Văn Bảo", "applicant_id_number": "123",
        "form_child_full_name": "Trần Gia Hân", "form_child_birth_date": "2026-11-10",
        "form_child_sex": "Nữ"})
    assert r.status_code == 422
    assert "Số định danh cá nhân phải gồm đúng 12 chữ số." in r.content.decode()
    assert Dossier.objects.count() == 0


def test_paper_desk_refuses_a_file_that_is_not_a_document(web):
    c = web("receiver")
    r = c.post("/can-bo/tiep-nhan", {
        "procedure": "1.001193", "idem": "abc124",
        "applicant_full_name": "Trần Văn Bảo", "applicant_id_number": "001088001122",
        "form_child_full_name": "Trần Gia Hân", "form_child_birth_date": "2026-11-10",
        "form_child_sex": "Nữ", "file_khac": SimpleUploadedFile("x.pdf", b"MZ not a pdf")})
    assert r.status_code == 422
    assert "Chỉ nhận tệp PDF, JPEG, PNG hoặc DOCX" in r.content.decode()
    assert Dossier.objects.count() == 0


def test_paper_desk_unknown_procedure_is_404(web):
    assert web("receiver").get("/can-bo/tiep-nhan?thu_tuc=9.999").status_code == 404
