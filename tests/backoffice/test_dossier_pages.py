"""The dossier page's buttons go through the dossier services: each one changes the status
as the API would; a refused action shows the service's Vietnamese message, changes nothing
and is not a 500."""

from datetime import timedelta

from django.utils import timezone

from chinhquyenso.dossiers.models import Dossier, Status


def status_of(code: str) -> int:
    return Dossier.objects.get(code=code).status


def post(c, code, action, **data):
    return c.post(f"/can-bo/ho-so/{code}/thao-tac/{action}", data)


def test_receive_from_the_page(web, submit):
    d = submit()
    page = web("receiver").get(f"/can-bo/ho-so/{d.code}").content.decode()
    assert f'action="/can-bo/ho-so/{d.code}/thao-tac/receive"' in page
    r = post(web("receiver"), d.code, "receive")
    assert r.status_code == 302 and r["Location"] == f"/can-bo/ho-so/{d.code}"
    assert status_of(d.code) == Status.RECEIVED


def test_refuse_needs_a_reason(web, submit):
    d = submit()
    r = post(web("receiver"), d.code, "refuse", note="")
    assert r.status_code == 422
    assert "Cần ghi rõ lý do từ chối tiếp nhận." in r.content.decode()
    assert status_of(d.code) == Status.NEW
    r = post(web("receiver"), d.code, "refuse", note="Hồ sơ không thuộc thẩm quyền.")
    assert r.status_code == 302
    assert status_of(d.code) == Status.REFUSED


def test_request_supplement_lists_the_missing_items(web, submit, people):
    from chinhquyenso.dossiers import services

    d = services.receive_dossier(actor=people["receiver"], dossier=submit())
    r = post(web("specialist"), d.code, "request-supplement",
             items="Bản sao giấy chứng sinh\nGiấy đăng ký kết hôn của cha mẹ")
    assert r.status_code == 302
    d.refresh_from_db()
    assert d.status == Status.WAITING_SUPPLEMENT
    assert d.supplements.get().items == ["Bản sao giấy chứng sinh",
                                         "Giấy đăng ký kết hôn của cha mẹ"]


def test_forward_approve_and_return_result(web, submit, people):
    from chinhquyenso.dossiers import services

    d = services.receive_dossier(actor=people["receiver"], dossier=submit())
    assert post(web("specialist"), d.code, "forward", note="Đủ điều kiện").status_code == 302
    assert status_of(d.code) == Status.IN_PROGRESS
    assert Dossier.objects.get(code=d.code).current_step == 3  # the leader's step
    assert post(web("leader"), d.code, "approve").status_code == 302
    assert status_of(d.code) == Status.FINISHED
    assert post(web("receiver"), d.code, "return-result").status_code == 302
    assert status_of(d.code) == Status.RETURNED


def test_leader_rejects_with_reason(web, at_leader):
    d = at_leader()
    r = post(web("leader"), d.code, "reject", note="Không đủ điều kiện đăng ký.")
    assert r.status_code == 302
    assert status_of(d.code) == Status.STOPPED


def test_extend_writes_the_apology_letter(web, at_leader):
    d = at_leader()
    new_due = (d.due_at + timedelta(days=3)).astimezone(timezone.get_default_timezone())
    r = post(web("leader"), d.code, "extend", note="Cần xác minh thêm.",
             new_due_at=new_due.strftime("%Y-%m-%dT%H:%M"))
    assert r.status_code == 302
    d.refresh_from_db()
    assert d.extension.reason == "Cần xác minh thêm."
    assert d.due_at.strftime("%Y-%m-%d %H:%M") == new_due.astimezone(
        d.due_at.tzinfo).strftime("%Y-%m-%d %H:%M")
    pdf = web("leader").get(f"/can-bo/ho-so/{d.code}/mau/04")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_extend_with_a_bad_date_is_422(web, at_leader):
    d = at_leader()
    r = post(web("leader"), d.code, "extend", note="Lý do", new_due_at="ngày mai")
    assert r.status_code == 422
    assert "Ngày hẹn trả mới không hợp lệ." in r.content.decode()


def test_an_action_of_another_role_is_refused_with_a_message(web, submit):
    d = submit()
    r = post(web("specialist"), d.code, "receive")
    assert r.status_code == 403
    assert "không được thực hiện thao tác này" in r.content.decode()
    assert status_of(d.code) == Status.NEW


def test_an_action_in_the_wrong_status_is_409(web, submit):
    d = submit()
    post(web("receiver"), d.code, "receive")
    r = post(web("receiver"), d.code, "receive")
    assert r.status_code == 409
    assert "Không thể «tiếp nhận hồ sơ» khi hồ sơ đang ở" in r.content.decode()


def test_unknown_action_is_404(web, submit):
    assert post(web("receiver"), submit().code, "xoa").status_code == 404


def test_page_shows_only_the_actions_the_officer_may_take(web, at_leader):
    d = at_leader()
    leader = web("leader").get(f"/can-bo/ho-so/{d.code}").content.decode()
    specialist = web("specialist").get(f"/can-bo/ho-so/{d.code}").content.decode()
    assert "thao-tac/approve" in leader and "thao-tac/reject" in leader
    assert "thao-tac/approve" not in specialist and "thao-tac/receive" not in specialist


def test_process_control_sheet_shows_due_and_finished_times(web, at_leader):
    d = at_leader()
    page = web("leader").get(f"/can-bo/ho-so/{d.code}").content.decode()
    assert "Phiếu kiểm soát quá trình giải quyết hồ sơ" in page
    for name in ("Tiếp nhận hồ sơ", "Thẩm định", "Phê duyệt", "Trả kết quả"):
        assert name in page
    # The two first steps are finished, before their due time: «Trước hạn» or «Đúng hạn».
    assert page.count('<span class="badge ok">') == 2
    assert "Mẫu 06" in page


def test_refund_link_for_a_paid_refused_dossier(web, submit):
    d = submit()
    Dossier.objects.filter(pk=d.pk).update(paid_online=True, fee=50000)
    post(web("receiver"), d.code, "refuse", note="Sai thẩm quyền.")
    page = web("receiver").get(f"/can-bo/ho-so/{d.code}").content.decode()
    assert f"/thanh-toan/hoan-tien/de-nghi?ho_so={d.code}" in page


def test_form_not_yet_available_is_a_409_page(web, submit):
    d = submit()
    r = web("receiver").get(f"/can-bo/ho-so/{d.code}/mau/01")
    assert r.status_code == 409
    assert "chưa được tiếp nhận" in r.content.decode()
