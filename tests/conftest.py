"""Shared fixtures: a small province with two agencies, one procedure and the people who
use it. Built here (not from the reference data files) so that each test shows what it
depends on."""

import os
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from chinhquyenso.catalog.models import Field, Procedure, ProcessStep
from chinhquyenso.directory.models import AdministrativeUnit, Agency, AgencyKind
from chinhquyenso.directory.services import add_user, create_token

ON_POSTGRES = "postgres" in os.environ.get("DATABASE_URL", "")
# Demo mode for every platform process the tests start (`cqs serve`, `cqs init`, the
# sandbox…): they use the demo secrets, which outside demo mode refuse to start
# (core/checks.py). The tests of that refusal remove it from their subprocess's environment.
os.environ.setdefault("CQS_DEMO", "1")

VN = ZoneInfo("Asia/Ho_Chi_Minh")
# The suite's one clock: every test starts at this moment (a Wednesday, a working day in
# Vietnam) whatever day the suite runs on, and moves it through the `clock` fixture.
SUITE_START = datetime(2026, 11, 25, 9, 0, tzinfo=VN)


def at(s: str | datetime) -> datetime:
    """A moment in Vietnam: '2026-11-25T09:00' (naive strings are Vietnam time)."""
    moment = s if isinstance(s, datetime) else datetime.fromisoformat(s)
    return moment if moment.tzinfo else moment.replace(tzinfo=VN)


class Clock:
    """The suite's clock (time-machine): `clock.set('2026-11-27T14:00')` stops time at that
    moment in Vietnam; `clock.move_to(...)` is the same; `clock.tick(...)` lets it run from
    there. Everything that reads the time (timezone.now, time.time, date.today) follows."""

    def __init__(self, traveller):
        self._traveller = traveller

    def set(self, moment: str | datetime) -> datetime:
        moment = at(moment)
        self._traveller.move_to(moment, tick=False)
        return moment

    move_to = set

    def tick(self, moment: str | datetime) -> datetime:
        moment = at(moment)
        self._traveller.move_to(moment, tick=True)
        return moment


@pytest.fixture(autouse=True)
def clock():
    """One clock for the whole suite (the live and browser tests, which run real servers in
    other processes, override it with the wall clock in their conftest)."""
    with time_machine.travel(SUITE_START, tick=True) as traveller:
        yield Clock(traveller)


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings):
    """Background tasks (django-tasks) run at once in the test's own thread, with the
    immediate backend; tests/payments/test_worker.py runs the real worker on the database one."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def province(db):
    return AdministrativeUnit.objects.create(code="31", name="Thành phố Hải Phòng",
                                             kind="province")


@pytest.fixture
def agency(province):
    ward = AdministrativeUnit.objects.create(code="11311", name="Phường Hồng Bàng", kind="ward",
                                             parent=province)
    return Agency.objects.create(code="000.21.31.H31", key="UBND_11311",
                                 name="Ủy ban nhân dân Phường Hồng Bàng",
                                 kind=AgencyKind.COMMUNE, unit=ward,
                                 working_hours=[["07:30", "11:30"], ["13:30", "17:00"]])


@pytest.fixture
def other_agency(province):
    return Agency.objects.create(code="000.00.12.H31", key="SO_TP", name="Sở Tư pháp",
                                 kind=AgencyKind.DEPARTMENT, unit=province,
                                 working_hours=[["07:30", "11:30"], ["13:30", "17:00"]])


BIRTH_FORM = [
    {"name": "child_full_name", "label": "Họ, chữ đệm, tên của trẻ", "type": "string",
     "required": True, "max_length": 100},
    {"name": "child_birth_date", "label": "Ngày sinh", "type": "date", "required": True},
    {"name": "child_sex", "label": "Giới tính", "type": "select", "required": True,
     "options": ["Nam", "Nữ"]},
    {"name": "mother_full_name", "label": "Họ tên mẹ", "type": "string", "required": False},
]


@pytest.fixture
def procedure(agency):
    field = Field.objects.create(code="HT", name="Hộ tịch")
    proc = Procedure.objects.create(
        code="1.001193", name="Thủ tục đăng ký khai sinh", search_text="thu tuc dang ky khai sinh",
        field=field, level="commune", agency_key="COMMUNE", working_days=Decimal("4"),
        online_mode="full", form=BIRTH_FORM,
    )
    for i, (name, role, share) in enumerate([
        ("Tiếp nhận hồ sơ", "receiver", "0.125"), ("Thẩm định", "specialist", "0.5"),
        ("Phê duyệt", "leader", "0.25"), ("Trả kết quả", "receiver", "0.125"),
    ], 1):
        ProcessStep.objects.create(procedure=proc, position=i, name=name, role=role,
                                   share=Decimal(share))
    proc.agencies.set([agency])
    return proc


@pytest.fixture
def people(agency, other_agency, procedure):
    mk = add_user
    return {
        "citizen": mk(username="an", role="citizen", full_name="Nguyễn Văn An",
                      id_number="001099012345"),
        "citizen2": mk(username="binh", role="citizen", full_name="Trần Thị Bình",
                       id_number="001199054321"),
        "receiver": mk(username="tn", role="receiver", agency=agency.code, password="x" * 12),
        "specialist": mk(username="cv", role="specialist", agency=agency.code),
        "leader": mk(username="ld", role="leader", agency=agency.code),
        "other_receiver": mk(username="tn2", role="receiver", agency=other_agency.code),
        "other_specialist": mk(username="cv2", role="specialist", agency=other_agency.code),
        "monitor": mk(username="gs", role="monitor"),
    }


class ApiClient:
    """A test client that speaks JSON to /api/v1 with a bearer token."""

    def __init__(self, token: str | None):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path, **params):
        return self.client.get(f"/api/v1{path}", params, headers=self.headers)

    def post(self, path, body=None, headers=None, **kw):
        return self.client.post(f"/api/v1{path}", body if body is not None else {},
                                content_type="application/json",
                                headers={**self.headers, **(headers or {})}, **kw)

    def upload(self, name: str, content: bytes, document_code: str = ""):
        from django.core.files.uploadedfile import SimpleUploadedFile

        return self.client.post("/api/v1/files",
                                {"file": SimpleUploadedFile(name, content),
                                 "document_code": document_code},
                                headers=self.headers)


@pytest.fixture
def api(people):
    def as_user(name: str | None) -> ApiClient:
        return ApiClient(create_token(user=people[name]) if name else None)

    return as_user


def birth_body(agency, **overrides) -> dict:
    body = {
        "procedure": "1.001193",
        "agency": agency.code,
        "applicant": {"full_name": "Nguyễn Văn An", "id_number": "001099012345",
                      "phone": "0912345678", "email": "an@example.vn",
                      "address": "Số 1 Hoàng Văn Thụ, Phường Hồng Bàng"},
        "form": {"child_full_name": "Nguyễn Minh Khôi", "child_birth_date": "2026-11-01",
                 "child_sex": "Nam"},
        "attachments": [],
    }
    body.update(overrides)
    return body


@pytest.fixture(autouse=True)
def _media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_catalogue_cache():
    """Each test builds its own catalogue rows: no reference data may outlive a test."""
    from chinhquyenso.catalog.queries import forget_procedure_references

    forget_procedure_references()
    yield
    forget_procedure_references()
