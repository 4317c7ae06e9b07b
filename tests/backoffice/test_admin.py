"""Administration: an agency admin manages the agency's officers; a province admin edits
agencies, a procedure's process and deadline, and the working-day calendar. Audited."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pyotp
from django.test import Client
from django.utils import timezone

from chinhquyenso.backoffice.models import TotpDevice
from chinhquyenso.catalog.models import Procedure
from chinhquyenso.core.models import AuditRecord, CalendarOverride
from chinhquyenso.directory.models import Agency, User


def last_verb() -> str:
    return AuditRecord.objects.order_by("-id").first().verb


def test_agency_admin_adds_an_officer_who_can_then_sign_in(web, agency, clock):
    r = web("admin").post("/can-bo/quan-tri/can-bo", {
        "username": "chuyenvien9", "full_name": "Lê Văn Chín", "role": "specialist"})
    assert r.status_code == 200
    page = r.content.decode()
    # The admin gets a one-time link, never a password (tests/backoffice/test_invitation.py).
    link = re.search(r'<code class="invitation-link">([^<]+)</code>', page).group(1)
    assert "Mật khẩu ban đầu" not in page
    u = User.objects.get(username="chuyenvien9")
    assert (u.role, u.agency_id) == ("specialist", agency.pk)
    assert not u.has_usable_password()
    assert last_verb() == "invitation.create"
    path = link.split("://", 1)[1].split("/", 1)[1]
    c = Client()
    secret = re.search(r"<dt>Khóa bí mật</dt><dd><code>([A-Z2-7]+)</code>",
                       c.get(f"/{path}").content.decode()).group(1)
    r = c.post(f"/{path}", {"password": "mat-khau-rieng-cua-toi", "password2":
                            "mat-khau-rieng-cua-toi", "code": pyotp.TOTP(secret).now()})
    assert r.status_code == 302
    clock.set(timezone.now() + timedelta(seconds=31))
    c.post("/can-bo/dang-nhap", {"username": "chuyenvien9", "password": "mat-khau-rieng-cua-toi"})
    c.post("/can-bo/dang-nhap/ma", {"code": pyotp.TOTP(secret).now()})
    assert "_auth_user_id" in c.session


def test_agency_admin_cannot_create_a_province_role(web):
    r = web("admin").post("/can-bo/quan-tri/can-bo", {
        "username": "gs9", "full_name": "Giám sát", "role": "province_admin"})
    assert r.status_code == 422
    assert not User.objects.filter(username="gs9").exists()


def test_duplicate_username_is_409(web):
    r = web("admin").post("/can-bo/quan-tri/can-bo", {
        "username": "tn2", "full_name": "Trùng tên", "role": "specialist"})
    assert r.status_code == 409
    assert "đã được dùng" in r.content.decode()


def test_change_role_deactivate_and_reset_totp(web, more_people):
    cv = more_people["specialist"]
    c = web("admin")
    url = f"/can-bo/quan-tri/can-bo/{cv.pk}"
    assert c.post(url, {"op": "role", "role": "leader"}).status_code == 302
    assert User.objects.get(pk=cv.pk).role == "leader"
    TotpDevice.objects.create(user=cv, secret=pyotp.random_base32(),
                              confirmed_at=timezone.now())
    assert c.post(url, {"op": "reset-totp"}).status_code == 302
    assert not TotpDevice.objects.filter(user=cv).exists()
    assert last_verb() == "totp.reset"
    assert c.post(url, {"op": "deactivate"}).status_code == 302
    assert User.objects.get(pk=cv.pk).is_active is False


def test_agency_admin_cannot_touch_another_agencys_officer(web, more_people):
    other = more_people["other_specialist"]
    r = web("admin").post(f"/can-bo/quan-tri/can-bo/{other.pk}", {"op": "deactivate"})
    assert r.status_code == 404
    assert User.objects.get(pk=other.pk).is_active


def test_province_admin_edits_an_agency(web, agency):
    r = web("province_admin").post(f"/can-bo/quan-tri/co-quan/{agency.pk}", {
        "name": "Ủy ban nhân dân phường Hồng Bàng", "phone": "02253842000",
        "start_1": "08:00", "end_1": "12:00", "start_2": "13:00", "end_2": "17:00"})
    assert r.status_code == 302
    agency.refresh_from_db()
    assert agency.working_hours == [["08:00", "12:00"], ["13:00", "17:00"]]
    assert agency.phone == "02253842000"
    bad = web("province_admin").post(f"/can-bo/quan-tri/co-quan/{agency.pk}", {
        "name": "X", "start_1": "12:00", "end_1": "08:00"})
    assert bad.status_code == 422
    assert Agency.objects.get(pk=agency.pk).working_hours[0] == ["08:00", "12:00"]


def test_province_admin_edits_steps_and_deadline(web, procedure):
    url = f"/can-bo/quan-tri/thu-tuc/{procedure.code}"
    steps = {"name_1": "Tiếp nhận", "role_1": "receiver", "share_1": "0.1",
             "name_2": "Thẩm định", "role_2": "specialist", "share_2": "0.6",
             "name_3": "Phê duyệt", "role_3": "leader", "share_3": "0.2",
             "name_4": "Trả kết quả", "role_4": "receiver", "share_4": "0.1"}
    r = web("province_admin").post(url, {"working_days": "5", **steps})
    assert r.status_code == 302
    p = Procedure.objects.get(pk=procedure.pk)
    assert p.working_days == Decimal("5")
    assert [(s.name, s.share) for s in p.steps.all()] == [
        ("Tiếp nhận", Decimal("0.1")), ("Thẩm định", Decimal("0.6")),
        ("Phê duyệt", Decimal("0.2")), ("Trả kết quả", Decimal("0.1"))]
    assert last_verb() == "procedure.process"
    # 0.1 + 0.7 + 0.2 + 0.1 = 1.1: refused, nothing changes.
    r = web("province_admin").post(url, {"working_days": "7", **steps, "share_2": "0.7"})
    assert r.status_code == 422
    assert "Tổng tỷ lệ thời gian các bước phải bằng 1 (hiện là 1.1)" in r.content.decode()
    assert Procedure.objects.get(pk=procedure.pk).working_days == Decimal("5")


def test_province_admin_adds_and_removes_a_day_off(web):
    c = web("province_admin")
    r = c.post("/can-bo/quan-tri/lich", {"op": "set", "date": "2026-12-31", "working": "0",
                                         "reason": "Quyết định 123/QĐ-UBND (dữ liệu mẫu)"})
    assert r.status_code == 302
    row = CalendarOverride.objects.get(date=date(2026, 12, 31))
    assert row.working is False
    assert "31/12/2026" in c.get("/can-bo/quan-tri/lich").content.decode()
    assert c.post("/can-bo/quan-tri/lich", {"op": "set", "date": "2026-12-30",
                                            "working": "0", "reason": ""}).status_code == 422
    assert c.post("/can-bo/quan-tri/lich", {"op": "remove",
                                            "date": "2026-12-31"}).status_code == 302
    assert not CalendarOverride.objects.exists()
    assert c.post("/can-bo/quan-tri/lich", {"op": "set", "date": "31/12",
                                            "working": "0", "reason": "x"}).status_code == 422
