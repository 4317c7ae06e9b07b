"""The officer's queue in the browser: axe-core finds no serious or critical violation, and
the page fits a phone as well as a desk screen."""

import pytest

from .conftest import AXE, _need, axe_violations, fits_width, officer_login

# One received dossier of the demo citizen at the demo ward, so that the queue has a row.
SUBMIT_ONE = """
from chinhquyenso.catalog.formschema import example_form_data
from chinhquyenso.catalog.services import form_schema
from chinhquyenso.catalog.models import Procedure
from chinhquyenso.directory.models import User
from chinhquyenso.dossiers import services as s
from chinhquyenso.dossiers.demo import demo_commune_agency
p = Procedure.objects.get(code='1.001193')
c = User.objects.get(username='congdan')
d = s.submit_dossier(actor=c, procedure=p.code, agency=demo_commune_agency().code,
    applicant={'full_name': 'Nguyễn Văn An', 'id_number': '001099012345'},
    form=example_form_data(form_schema(p)))
s.receive_dossier(actor=User.objects.get(username='tiepnhan'), dossier=d)
"""


@pytest.mark.slow
def test_officer_queue_is_accessible(web_platform, browser):
    _need(AXE, "make test cài axe-core từ npm (npm ci)")
    base = f"http://127.0.0.1:{web_platform.port}"
    web_platform.cqs("shell", "--no-imports", "-c", SUBMIT_ONE)
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, bypass_csp=True,
                              locale="vi-VN")
    page = ctx.new_page()
    page.goto(f"{base}/can-bo/dang-nhap")
    assert axe_violations(page) == []
    officer_login(page, base, "chuyenvien")
    assert page.locator("table.data tbody tr").count() > 0  # the demo dossiers are there
    assert axe_violations(page) == []
    page.click("table.data tbody tr a >> nth=0")
    page.wait_for_url(f"{base}/can-bo/ho-so/*")
    assert axe_violations(page) == []
    assert fits_width(page)
    ctx.close()


@pytest.mark.slow
def test_monitoring_dashboard_on_a_phone(web_platform, browser):
    """/giam-sat/ as the province's monitor: readable at 360 px, accessible, every group."""
    _need(AXE, "make test cài axe-core từ npm (npm ci)")
    base = f"http://127.0.0.1:{web_platform.port}"
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, bypass_csp=True,
                              locale="vi-VN")
    page = ctx.new_page()
    officer_login(page, base, "giamsat", next_path="/giam-sat/")
    body = page.inner_text("main")
    for group in ("Công khai, minh bạch", "Tiến độ", "Số hóa", "Mức độ hài lòng"):
        assert group in body
    assert fits_width(page)
    assert axe_violations(page) == []
    for path in ("/giam-sat/muc-tieu", "/giam-sat/ke-hoach"):
        page.goto(base + path)
        assert fits_width(page), path
        assert axe_violations(page) == [], path
    ctx.close()
