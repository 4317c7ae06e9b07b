"""After submission: the citizen follows the dossier, answers a request for supplementation,
withdraws, rates the service, reads the inbox; nobody else sees it by changing the URL."""

from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chinhquyenso.core.models import Notification
from chinhquyenso.dossiers import services as ds
from chinhquyenso.dossiers.models import Status

from ..conftest import birth_body
from .conftest import PDF


def _submit(people, agency):
    body = birth_body(agency)
    return ds.submit_dossier(actor=people["citizen"], procedure=body["procedure"],
                             agency=body["agency"], applicant=body["applicant"],
                             form=body["form"])


def _returned(people, agency):
    d = _submit(people, agency)
    d = ds.receive_dossier(actor=people["receiver"], dossier=d)
    d = ds.forward_dossier(actor=people["specialist"], dossier=d)
    d = ds.approve_dossier(actor=people["leader"], dossier=d)
    return ds.return_result(actor=people["receiver"], dossier=d)


def test_only_the_applicant_sees_the_dossier(web, people, agency):
    d = _submit(people, agency)
    url = f"/ca-nhan/ho-so/{d.code}"
    r = web("citizen").get(url)
    assert r.status_code == 200 and d.code in r.content.decode()
    assert web("citizen2").get(url).status_code == 404
    assert web("citizen2").get(f"/ho-so/{d.code}/bien-nhan").status_code == 404
    assert web("citizen2").post(f"{url}/rut").status_code == 404
    assert web("receiver").get(url).status_code == 403
    anon = web(None).get(url)
    assert anon.status_code == 302 and anon["Location"].startswith("/dang-nhap?next=")
    listing = web("citizen2").get("/ca-nhan/ho-so").content.decode()
    assert d.code not in listing


def test_status_changes_reach_the_inbox_and_email(web, people, agency,
                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        d = _submit(people, agency)
        ds.receive_dossier(actor=people["receiver"], dossier=d)
    titles = list(Notification.objects.order_by("id").values_list("title", flat=True))
    assert titles == [f"Đã gửi hồ sơ {d.code}, đang chờ tiếp nhận",
                      f"Hồ sơ {d.code} đã được tiếp nhận"]
    assert [m.to for m in mail.outbox] == [["an@example.vn"], ["an@example.vn"]]
    assert "Hẹn trả kết quả:" in mail.outbox[1].body
    page = web("citizen").get("/ca-nhan/thong-bao").content.decode()
    assert f"Hồ sơ {d.code} đã được tiếp nhận" in page
    assert Notification.objects.filter(read_at__isnull=True).count() == 0


def test_supplement_on_the_same_dossier(web, people, agency):
    d = _submit(people, agency)
    d = ds.receive_dossier(actor=people["receiver"], dossier=d)
    ds.request_supplement(actor=people["specialist"], dossier=d,
                          items=["Bản sao giấy chứng sinh có chứng thực"], note="Bản cũ mờ.")
    c = web("citizen")
    page = c.get(f"/ca-nhan/ho-so/{d.code}").content.decode()
    assert "Cơ quan yêu cầu bổ sung" in page
    assert "Bản sao giấy chứng sinh có chứng thực" in page and "Bản cũ mờ." in page
    r = c.post(f"/ca-nhan/ho-so/{d.code}/bo-sung",
               {"files": SimpleUploadedFile("chung-sinh.pdf", PDF), "note": "Đã chụp lại."})
    assert r.status_code == 302
    d.refresh_from_db()
    assert d.status == Status.RECEIVED  # back where it was when the request came
    assert d.attachments.filter(original_name="chung-sinh.pdf", purpose="supplement").exists()


def test_withdraw_on_request(web, people, agency):
    d = _submit(people, agency)
    r = web("citizen").post(f"/ca-nhan/ho-so/{d.code}/rut", {"note": "Nộp nhầm thủ tục."})
    assert r.status_code == 302
    d.refresh_from_db()
    assert d.status == Status.WITHDRAWN


def test_rating_after_the_result_is_returned(web, people, agency):
    d = _submit(people, agency)
    c = web("citizen")
    assert "Đánh giá mức độ hài lòng" not in c.get(f"/ca-nhan/ho-so/{d.code}").content.decode()
    d = _returned(people, agency)
    page = c.get(f"/ca-nhan/ho-so/{d.code}").content.decode()
    assert "Đánh giá mức độ hài lòng" in page
    r = c.post(f"/ca-nhan/ho-so/{d.code}/danh-gia", {"rating": "unsatisfied"}, follow=True)
    assert "Xin cho biết lý do chưa hài lòng" in r.content.decode()
    d.refresh_from_db()
    assert d.rating == ""
    c.post(f"/ca-nhan/ho-so/{d.code}/danh-gia", {"rating": "satisfied", "comment": "Nhanh."})
    d.refresh_from_db()
    assert d.rating == "satisfied" and d.rating_comment == "Nhanh."
    r = c.post(f"/ca-nhan/ho-so/{d.code}/danh-gia", {"rating": "normal"}, follow=True)
    assert "Hồ sơ này đã được đánh giá." in r.content.decode()
    d.refresh_from_db()
    assert d.rating == "satisfied"


def test_public_lookup_shows_status_without_personal_data(people, agency):
    d = _returned(people, agency)
    r = Client().get(f"/tra-cuu?ma={d.code}")
    body = r.content.decode()
    assert r.status_code == 200 and "Đã trả kết quả" in body
    assert "Nguyễn Văn An" not in body and "001099012345" not in body
    r = Client().get("/tra-cuu?ma=KHONG-CO-MA")
    assert r.status_code == 404 and "Không tìm thấy hồ sơ có mã" in r.content.decode()


def test_search_without_diacritics_and_filters(procedure):
    r = Client().get("/thu-tuc?q=dang+ky+khai+sinh")
    body = r.content.decode()
    assert r.status_code == 200 and "Thủ tục đăng ký khai sinh" in body
    assert "Không tìm thấy" not in Client().get("/thu-tuc?cap=commune").content.decode()
    assert "Không tìm thấy thủ tục" in Client().get("/thu-tuc?cap=province").content.decode()
    page = Client().get("/thu-tuc/1.001193").content.decode()
    assert 'href="/ho-so/nop/1.001193"' in page and "4 ngày làm việc" in page


def test_pages_carry_a_strict_content_security_policy(procedure):
    r = Client().get("/")
    csp = r["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "<script>" not in r.content.decode()
