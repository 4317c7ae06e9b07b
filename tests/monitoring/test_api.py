"""Access and input checks of the monitoring API: 4xx with a Vietnamese message, never 5xx."""

import pytest

from chinhquyenso.directory.services import add_user, create_token
from tests.conftest import ApiClient


@pytest.mark.parametrize("who", ["monitor"])
def test_monitor_sees_the_province(who, api, agency):
    r = api(who).get("/monitoring/index", unit="31", period="2026-10")
    assert r.status_code == 200
    assert r.json()["unit"] == "31" and r.json()["total"] == 16
    # no dossier yet: 5.2 (6) + 5.3 (6) + certified copy (2) + 3.1 (the one procedure is
    # online: 1/1 → 2)


def test_leader_sees_their_agency_only(api, people, agency, other_agency):
    leader = api("leader")
    assert leader.get("/monitoring/index", unit=agency.code, period="2026-10").status_code == 200
    assert leader.get("/monitoring/index", unit=agency.unit_id,
                      period="2026-10").status_code == 200
    for unit in (other_agency.code, "31"):
        r = leader.get("/monitoring/index", unit=unit, period="2026-10")
        assert r.status_code == 403
        assert "lãnh đạo" in r.json()["detail"]
    assert leader.get("/monitoring/rankings", period="2026-10").status_code == 403


def test_other_roles_are_refused(api, people, agency):
    for who in ("specialist", "receiver", "citizen"):
        r = api(who).get("/monitoring/index", unit=agency.code, period="2026-10")
        assert r.status_code == 403, who
    assert api(None).get("/monitoring/index", unit="31", period="2026-10").status_code == 401


def test_province_admin_sees_rankings(people, agency):
    admin = add_user(username="qt", role="province_admin", full_name="Quản trị tỉnh")
    client = ApiClient(create_token(user=admin))
    r = client.get("/monitoring/rankings", period="2026", kind="commune")
    assert r.status_code == 200 and r.json()[0]["rank"] == 1


@pytest.mark.parametrize("params, status, words", [
    ({"unit": "31", "period": "2026-13"}, 422, "Tháng"),
    ({"unit": "31", "period": "10/2026"}, 422, "YYYY-MM"),
    ({"unit": "31", "period": "2027"}, 422, "chưa bắt đầu"),
    ({"unit": "khong-co", "period": "2026"}, 404, "Không có đơn vị"),
    ({"unit": "31"}, 422, "period"),
])
def test_bad_input_is_a_4xx_in_vietnamese(api, people, params, status, words):
    r = api("monitor").get("/monitoring/index", **params)
    assert r.status_code == status
    assert words in r.json()["detail"]
    assert r["Content-Type"].startswith("application/problem+json")


def test_bad_drill_down_inputs(api, people, agency):
    m = api("monitor")
    r = m.get("/monitoring/index/items", unit="31", period="2026-10", indicator="9.9")
    assert r.status_code == 404 and "Chỉ số" in r.json()["detail"]
    r = m.get("/monitoring/index/items", unit="31", period="2026-10", indicator="2.1",
              part="x")
    assert r.status_code == 422
    r = m.get("/monitoring/rankings", period="2026-10", kind="district")
    assert r.status_code == 422 and "agency hoặc commune" in r.json()["detail"]
