"""Targets, task plan, import, digest and the pages, with values worked out by hand."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from chinhquyenso.catalog.models import Procedure
from chinhquyenso.core.errors import PermissionDenied, ValidationFailed
from chinhquyenso.directory.services import add_user
from chinhquyenso.dossiers import services as ds
from chinhquyenso.planning import services
from chinhquyenso.planning.models import PlanTask, Target, TargetReading
from tests.conftest import birth_body

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def at(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=VN)


def by_code(rows):
    return {r.target.code: r for r in rows}


def test_targets_load_with_their_sources(db):
    assert services.load_targets() == 13
    assert services.load_targets() == 13  # idempotent
    t = Target.objects.get(code="signed_documents")
    assert "seeds/001_97082a798c4ea7f6.txt" in t.source
    assert [(r.on, r.value) for r in t.readings.all()] == [(date(2022, 12, 31),
                                                           Decimal("82.00"))]
    assert Target.objects.get(code="digital_economy_2025").value == Decimal("20")
    assert all("seeds/" in s for s in Target.objects.values_list("source", flat=True))


def test_full_online_share_is_live_from_the_catalogue(procedure):
    """The fixture procedure is fully online; add one partial one: 1 of 2 = 50 %."""
    services.load_targets()
    Procedure.objects.create(code="2.000001", name="Thủ tục thử", field=procedure.field,
                             level="commune", agency_key="COMMUNE", working_days=5,
                             online_mode="partial")
    row = by_code(services.targets_overview(at=at("2026-11-23T10:00")))[
        "full_online_procedures"]
    assert row.current == Decimal("50.00")
    assert row.status == "behind"  # deadline 2023 is over and 50 < 100
    assert "1/2" in row.current_source


def test_on_time_share_counts_dossiers_received_this_year(people, agency, clock):
    """Two dossiers received 25/11 (due 01/12 09:00). At 01/12 10:00 one was approved the
    day before (on time), the other is open and past due (late): 1/2 = 50 %."""
    services.load_targets()
    ds_ = []
    for _ in range(2):
        body = birth_body(agency)
        clock.set("2026-11-25T09:00")
        d = ds.submit_dossier(actor=people["citizen"], procedure=body["procedure"],
                              agency=body["agency"], applicant=body["applicant"],
                              form=body["form"], at=at("2026-11-25T08:00"))
        ds_.append(ds.receive_dossier(actor=people["receiver"], dossier=d))
    clock.set("2026-11-30T09:00")
    d = ds.forward_dossier(actor=people["specialist"], dossier=ds_[0])
    ds.approve_dossier(actor=people["leader"], dossier=d)
    row = by_code(services.targets_overview(at=at("2026-12-01T10:00")))["dossier_on_time"]
    assert row.current == Decimal("50.00")


def test_status_on_track_or_behind_from_the_first_reading(db):
    """Target ≥ 40 by end of 2030, first reading 20 on 31/12/2024. On 31/12/2027 (half
    of 2 191 days … 1 095 days of 2 191 = 0.4998) the line expects 20 + 20 × 0.4998 =
    29.995: 30 is on track, 29 is behind."""
    t = Target(code="x", name="x", value=Decimal(40), deadline_year=2030)
    first = (date(2024, 12, 31), Decimal(20))
    assert services.target_status(t, Decimal(30), first, date(2027, 12, 31)) == "on_track"
    assert services.target_status(t, Decimal(29), first, date(2027, 12, 31)) == "behind"
    assert services.target_status(t, Decimal(40), first, date(2027, 12, 31)) == "met"
    assert services.target_status(t, None, first, date(2027, 12, 31)) == "no_data"
    rank = Target(code="r", name="r", value=Decimal(15), direction="at_most",
                  deadline_year=2025)
    assert services.target_status(rank, Decimal(12), None, date(2025, 6, 1)) == "met"


def test_manual_reading_needs_a_source_and_a_province_role(people):
    services.load_targets()
    t = Target.objects.get(code="epayment_accounts")
    with pytest.raises(PermissionDenied):
        services.record_reading(actor=people["leader"], target=t, on=date(2026, 6, 30),
                                value="45", source="Báo cáo của Sở Công Thương")
    with pytest.raises(ValidationFailed, match="nguồn"):
        services.record_reading(actor=people["monitor"], target=t, on=date(2026, 6, 30),
                                value="45", source="")
    services.record_reading(actor=people["monitor"], target=t, on=date(2025, 12, 31),
                            value="40", source="Báo cáo năm 2025 của Sở Công Thương")
    services.record_reading(actor=people["monitor"], target=t, on=date(2026, 6, 30),
                            value="52,5", source="Báo cáo 6 tháng 2026 của Sở Công Thương")
    row = by_code(services.targets_overview(at=at("2026-11-23T10:00")))["epayment_accounts"]
    assert (row.current, row.status, row.trend) == (Decimal("52.50"), "met", "up")


def test_task_flags(db):
    """Start 01/01, deadline 31/12/2026 (364 days). On 01/07 (181 days) the line expects
    181/364 = 49.7 %: 29 % is slow (29 + 20 = 49 < 49.7), 30 % is not (50 ≥ 49.7). After
    31/12 below 100 % is overdue."""
    t = PlanTask(progress=29, start=date(2026, 1, 1), deadline=date(2026, 12, 31))
    assert services.task_flag(t, date(2026, 7, 1)) == "slow"
    t.progress = 30
    assert services.task_flag(t, date(2026, 7, 1)) == ""
    assert services.task_flag(t, date(2027, 1, 1)) == "overdue"
    t.progress = 100
    assert services.task_flag(t, date(2027, 1, 1)) == ""


CSV_OK = """nam,ma,ten,co_quan,kinh_phi,bat_dau,han,tien_do
2024,NV-01,Nâng cấp cổng dịch vụ công,UBND_11311,1.500.000.000,2024-01-15,31/12/2024,40
2024,NV-02,Số hóa hồ sơ hộ tịch,SO_TP,250000000,2024-03-01,2024-09-30,
"""


def test_import_tasks(agency, other_agency):
    assert services.import_tasks(text=CSV_OK) == 2
    t = PlanTask.objects.get(code="NV-01")
    assert (t.owner, t.budget, t.deadline, t.progress) == (agency, 1_500_000_000,
                                                          date(2024, 12, 31), 40)
    assert PlanTask.objects.get(code="NV-02").budget == 250_000_000


def test_import_reports_bad_lines_and_writes_nothing(agency, other_agency):
    bad = CSV_OK + ("2024,NV-03,Nhiệm vụ lỗi,KHONG_CO,12.5,2024-01-01,2023-01-01,\n"
                    "2024,NV-01,Trùng mã,SO_TP,100,2024-01-01,2024-02-01,120\n")
    with pytest.raises(ValidationFailed) as exc:
        services.import_tasks(text=bad)
    errors = exc.value.extra["errors"]
    assert errors[0].startswith("dòng 4: ") and "KHONG_CO" in errors[0]
    assert "kinh phí" in errors[0] and "hạn trước ngày bắt đầu" in errors[0]
    assert errors[1].startswith("dòng 5: ") and "trùng mã với dòng 2" in errors[1]
    assert "tiến độ" in errors[1]
    assert PlanTask.objects.count() == 0


def test_import_command_prints_line_numbers(agency, other_agency, tmp_path, capsys):
    f = tmp_path / "kh.csv"
    f.write_text("nam,ma,ten,co_quan,kinh_phi,bat_dau,han\n"
                 "2024,A,Tên,SO_TP,abc,2024-01-01,2024-02-01\n", encoding="utf-8")
    with pytest.raises(CommandError, match="1 dòng lỗi"):
        call_command("planning", "import-tasks", str(f))
    assert "dòng 2: kinh phí" in capsys.readouterr().err
    assert PlanTask.objects.count() == 0


def test_demo_tasks_are_81_labelled_and_total_400_billion(agency, other_agency):
    call_command("planning", "demo")
    tasks = PlanTask.objects.filter(year=2024)
    assert tasks.count() == 81
    assert sum(tasks.values_list("budget", flat=True)) == 400_000_000_000
    assert all(t.is_demo and t.name.startswith("[Mẫu]") for t in tasks)


def test_progress_report_by_the_owner_leader_only(people, agency, other_agency):
    services.import_tasks(text=CSV_OK)
    mine = PlanTask.objects.get(code="NV-01")
    theirs = PlanTask.objects.get(code="NV-02")
    services.report_progress(actor=people["leader"], task=mine, progress=70, note="Đã nghiệm thu")
    assert PlanTask.objects.get(pk=mine.pk).progress == 70
    with pytest.raises(PermissionDenied):
        services.report_progress(actor=people["leader"], task=theirs, progress=70)
    with pytest.raises(ValidationFailed):
        services.report_progress(actor=people["leader"], task=mine, progress=101)


@pytest.fixture
def staff(people, agency):
    return {"leader": people["leader"], "monitor": people["monitor"],
            "specialist": people["specialist"],
            "admin": add_user(username="qt", role="province_admin")}


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


def test_pages_access(staff, agency, other_agency):
    services.load_targets()
    services.import_tasks(text=CSV_OK)
    for who in ("leader", "monitor", "admin"):
        c = client_for(staff[who])
        assert c.get("/giam-sat/muc-tieu").status_code == 200
        assert c.get("/giam-sat/ke-hoach").status_code == 200
    assert client_for(staff["specialist"]).get("/giam-sat/ke-hoach").status_code == 403
    assert Client().get("/giam-sat/muc-tieu").status_code == 302
    leader_page = client_for(staff["leader"]).get("/giam-sat/ke-hoach").content.decode()
    assert "NV-01" in leader_page and "NV-02" not in leader_page  # own agency only
    monitor_page = client_for(staff["monitor"]).get("/giam-sat/ke-hoach").content.decode()
    assert "NV-02" in monitor_page and "1.750.000.000 đồng" in monitor_page


def test_csv_exports(staff, agency, other_agency):
    services.load_targets()
    services.import_tasks(text=CSV_OK)
    c = client_for(staff["monitor"])
    body = c.get("/giam-sat/ke-hoach.csv?nam=2024").content.decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert lines[0].startswith("nam,ma,ten,co_quan,kinh_phi")
    assert lines[1].startswith("2024,NV-02,Số hóa hồ sơ hộ tịch,SO_TP,250000000,")
    assert "Quá hạn" in lines[1]  # deadline 30/09/2024, 0 %
    targets = c.get("/giam-sat/muc-tieu.csv").content.decode("utf-8-sig")
    assert "Tỷ lệ văn bản điện tử được ký số" in targets and "82.00" in targets


def test_reading_form(staff):
    services.load_targets()
    c = client_for(staff["monitor"])
    r = c.post("/giam-sat/muc-tieu/online_inspections/so-lieu",
               {"value": "35", "on": "2026-10-01", "source": "Báo cáo Thanh tra thành phố"})
    assert r.status_code == 302
    assert TargetReading.objects.get(target__code="online_inspections").value == 35
    r = client_for(staff["leader"]).post("/giam-sat/muc-tieu/online_inspections/so-lieu",
                                         {"value": "99", "on": "2026-10-02", "source": "x"})
    assert r.status_code == 403
    assert TargetReading.objects.filter(target__code="online_inspections").count() == 1


def test_digest_mails_the_leaders(people, agency, clock, settings):
    """One dossier received Wed 25/11 09:00; on Friday 11:00 its Thẩm định step is at 113 %
    (see test_warnings); the agency's leader gets one e-mail naming the specialist."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    people["leader"].email = "lanhdao@hongbang.vn"
    people["leader"].save()
    people["specialist"].full_name = "Phạm Thu Hà"
    people["specialist"].save()
    body = birth_body(agency)
    clock.set("2026-11-25T09:00")
    d = ds.submit_dossier(actor=people["citizen"], procedure=body["procedure"],
                          agency=body["agency"], applicant=body["applicant"],
                          form=body["form"], at=at("2026-11-25T08:00"))
    d = ds.receive_dossier(actor=people["receiver"], dossier=d)
    sent = services.send_digest(at=at("2026-11-27T11:00"))
    assert sent == [{"agency": agency.code, "to": ["lanhdao@hongbang.vn"], "dossiers": 1}]
    # (The citizen's own notices are mailed too: background tasks run at once in tests.)
    digests = [m for m in mail.outbox if m.to == ["lanhdao@hongbang.vn"]]
    assert len(digests) == 1
    text = digests[0].body
    assert "Bước «Thẩm định» — Chuyên viên: Phạm Thu Hà" in text
    assert f"{d.code} (Nguyễn Văn An), hạn 09:00 01/12/2026" in text
    assert "bước Thẩm định đã dùng 113 % thời gian được giao" in text
    assert f"/can-bo/ho-so/{d.code}" in text and "Mẫu 04" in text
    assert services.send_digest(at=at("2026-11-26T09:00")) == []  # nothing at risk


def test_xlsx_exports_carry_the_same_rows(staff, agency, other_agency):
    import io

    from openpyxl import load_workbook

    services.load_targets()
    services.import_tasks(text=CSV_OK)
    c = client_for(staff["monitor"])
    resp = c.get("/giam-sat/ke-hoach.xlsx?nam=2024")
    assert resp["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(resp.content)).active.iter_rows(values_only=True))
    assert rows[0][:5] == ("nam", "ma", "ten", "co_quan", "kinh_phi")
    assert rows[1][:5] == (2024, "NV-02", "Số hóa hồ sơ hộ tịch", "SO_TP", 250000000)
    sheet = load_workbook(io.BytesIO(c.get("/giam-sat/muc-tieu.xlsx").content)).active
    assert any(r[1] == "Tỷ lệ văn bản điện tử được ký số" for r in sheet.iter_rows(
        values_only=True))
