"""Back-office fixtures: dossiers made through the dossier services (as the API makes
them) and signed-in web clients."""

import pytest
from django.test import Client

from chinhquyenso.directory.services import add_user
from chinhquyenso.dossiers import services

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00"
       b"\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05"
       b"\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def more_people(people, agency, other_agency):
    return {
        **people,
        "admin": add_user(username="qt", role="agency_admin", agency=agency.code,
                          full_name="Đỗ Thị Lan"),
        "other_leader": add_user(username="ld2", role="leader", agency=other_agency.code),
        "province_admin": add_user(username="qtt", role="province_admin",
                                   full_name="Đặng Thị Hồng"),
    }


@pytest.fixture
def web(more_people):
    """A Django test client signed in as one of the people (session, as after both
    factors), or anonymous for None."""

    def as_user(name: str | None) -> Client:
        c = Client()
        if name:
            c.force_login(more_people[name])
        return c

    return as_user


@pytest.fixture
def submit(people, agency):
    def make(name="Nguyễn Minh Khôi", applicant="Nguyễn Văn An"):
        return services.submit_dossier(
            actor=people["citizen"], procedure="1.001193", agency=agency.code,
            applicant={"full_name": applicant, "id_number": "001099012345",
                       "phone": "0912345678", "address": "Số 1 Hoàng Văn Thụ"},
            form={"child_full_name": name, "child_birth_date": "2026-11-01",
                  "child_sex": "Nam"})
    return make


@pytest.fixture
def at_leader(submit, people):
    """A dossier received and forwarded by the specialist: the leader's step is current."""
    def make(**kw):
        d = submit(**kw)
        d = services.receive_dossier(actor=people["receiver"], dossier=d)
        d = services.forward_dossier(actor=people["specialist"], dossier=d)
        return d
    return make
