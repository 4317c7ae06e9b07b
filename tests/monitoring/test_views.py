"""The /giam-sat/ pages: access, the numbers on the page, exports and the monthly PDF."""

import io

import pytest
from django.test import Client

from chinhquyenso.monitoring import services

from .test_index import (
    fee_procedure,  # noqa: F401  (fixture)
    october,  # noqa: F401  (fixture)
)


def login(people, who):
    c = Client()
    c.force_login(people[who])
    return c


def test_anonymous_goes_to_the_officer_login(people):
    r = Client().get("/giam-sat/")
    assert r.status_code == 302 and r["Location"].startswith("/can-bo/dang-nhap")


def test_specialist_is_refused(people):
    assert login(people, "specialist").get("/giam-sat/").status_code == 403


def test_leader_of_another_agency_cannot_open_this_one(people, agency, other_agency):
    from chinhquyenso.directory.services import add_user

    other = add_user(username="ld2", role="leader", agency=other_agency.code)
    c = Client()
    c.force_login(other)
    r = c.get("/giam-sat/", {"unit": agency.code, "period": "2026-10"})
    assert r.status_code == 403
    assert "lãnh đạo" in r.content.decode()


def test_dashboard_shows_the_score_and_links_every_number(people, agency, october):  # noqa: F811
    services.rebuild()
    r = login(people, "monitor").get("/giam-sat/", {"unit": agency.code, "period": "2026-10"})
    html = r.content.decode()
    assert r.status_code == 200
    assert "<strong>51.40</strong>/100" in html or "<strong>51,40</strong>/100" in html
    assert "indicator=2.1&amp;part=numerator" in html
    assert "<svg" in html and "style=" not in html and "<script>" not in html
    assert "/giam-sat/muc-tieu" in html and "/giam-sat/ke-hoach" in html
    assert r["Content-Security-Policy"]


def test_leader_sees_own_agency_by_default(people, agency, october):  # noqa: F811
    services.rebuild()
    r = login(people, "leader").get("/giam-sat/", {"period": "2026-10"})
    assert r.status_code == 200
    assert agency.name in r.content.decode()


def test_bad_period_is_a_400_page_in_vietnamese(people):
    r = login(people, "monitor").get("/giam-sat/", {"period": "2026-13"})
    assert r.status_code == 422
    assert "Tháng phải từ 01 đến 12" in r.content.decode()


def test_csv_and_xlsx_exports(people, agency, october):  # noqa: F811
    services.rebuild()
    c = login(people, "monitor")
    csv_ = c.get("/giam-sat/", {"unit": agency.code, "period": "2026-10", "format": "csv"})
    text = csv_.content.decode("utf-8-sig")
    assert "2.1,Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn" in text.replace('"', "")
    assert ",7,10,70.0,14.0," in text
    x = c.get("/giam-sat/xep-hang", {"kind": "commune", "period": "2026-10",
                                     "format": "xlsx"})
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(x.content)).active
    assert [c.value for c in ws[2]][:4] == [1, agency.unit_id, agency.name, 51.4]
    items = c.get("/giam-sat/chi-tiet", {"unit": agency.code, "period": "2026-10",
                                         "indicator": "2.1", "part": "outside",
                                         "format": "csv"})
    assert items.content.decode("utf-8-sig").count("\n") == 4  # header + 3 late


def test_drill_down_page(people, agency, october):  # noqa: F811
    services.rebuild()
    r = login(people, "monitor").get("/giam-sat/chi-tiet", {
        "unit": agency.code, "period": "2026-10", "indicator": "2.1"})
    html = r.content.decode()
    assert r.status_code == 200
    assert "trễ hạn 3 ngày làm việc" in html and "10 mục" in html


@pytest.mark.parametrize("period", ["2026-10"])
def test_monthly_pdf_report(people, agency, october, period):  # noqa: F811
    from pypdf import PdfReader

    services.rebuild()
    r = login(people, "monitor").get("/giam-sat/bao-cao", {"unit": agency.code,
                                                           "period": period})
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    assert "Tổng điểm: 51,40/100" in text
    assert "Tháng 10/2026" in text
