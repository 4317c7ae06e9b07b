"""Early warning with dossiers and steps at known times. Procedure 1.001193 of the shared
fixtures: 4 working days, steps 0.125 / 0.5 / 0.25 / 0.125, hours 07:30–11:30 and
13:30–17:00 (450 working minutes a day). Received Wednesday 25/11/2026 09:00, so the step
due times are Wed 14:45, Fri 27/11 14:45, Mon 30/11 14:45 and Tue 01/12 09:00; the
allotments are 225, 900, 450 and 225 working minutes. The reception step ends at receipt and
Thẩm định starts Wed 09:00."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chinhquyenso.dossiers import services as ds
from chinhquyenso.planning.warnings import risks_for
from tests.conftest import birth_body

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def at(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=VN)


@pytest.fixture
def received(people, agency, clock):
    def make():
        body = birth_body(agency)
        clock.set("2026-11-25T09:00")
        d = ds.submit_dossier(actor=people["citizen"], procedure=body["procedure"],
                              agency=body["agency"], applicant=body["applicant"],
                              form=body["form"], at=at("2026-11-25T08:00"))
        return ds.receive_dossier(actor=people["receiver"], dossier=d)

    return make


def test_plan_is_what_the_docstring_says(received):
    d = received()
    assert d.due_at == at("2026-12-01T09:00")
    assert [s.due_at for s in d.steps.order_by("position")] == [
        at("2026-11-25T14:45"), at("2026-11-27T14:45"), at("2026-11-30T14:45"),
        at("2026-12-01T09:00")]


def test_no_risk_while_on_schedule(received):
    """Thursday 09:00: Thẩm định used 450 of 900 minutes; 3 days left, later steps need
    675 minutes."""
    d = received()
    assert risks_for([d], at=at("2026-11-26T09:00")) == {}


def test_step_over_its_share(received):
    """Friday 11:00: Thẩm định used Wed 9:00 → Fri 11:00 = 2 days + 120 = 1020 of 900
    minutes = 113 %. Left: 240 (Fri) + 450 (Mon) + 90 (Tue) = 780 ≥ 675 needed."""
    d = received()
    assert risks_for([d], at=at("2026-11-27T11:00")) == {
        d.pk: "bước Thẩm định đã dùng 113 % thời gian được giao"}


def test_not_enough_days_for_the_remaining_steps(received):
    """Monday 09:00, still in Thẩm định: 1 working day left (Mon 9:00 → Tue 9:00), the
    two later steps need 450 + 225 = 675 minutes = 1,5 days; 3 steps open; Thẩm định used
    3 days = 1350 of 900 = 150 %."""
    d = received()
    assert risks_for([d], at=at("2026-11-30T09:00")) == {
        d.pk: "còn 1 ngày làm việc nhưng còn 3 bước (các bước sau cần 1,5 ngày); "
              "bước Thẩm định đã dùng 150 % thời gian được giao"}


def test_later_step_started_late(received, people, clock):
    """Forwarded to Phê duyệt Friday 14:00. Monday 16:00: Phê duyệt used 180 (Fri) + 390
    (Mon) = 570 of 450 = 127 %; left 60 + 90 = 150 minutes = 0,3 day < 225 for Trả kết
    quả (0,5 day)."""
    d = received()
    clock.set("2026-11-27T14:00")
    d = ds.forward_dossier(actor=people["specialist"], dossier=d)
    assert risks_for([d], at=at("2026-11-30T16:00")) == {
        d.pk: "còn 0,3 ngày làm việc nhưng còn 2 bước (các bước sau cần 0,5 ngày); "
              "bước Phê duyệt đã dùng 127 % thời gian được giao"}


def test_past_due_or_paused_is_not_a_warning(received, people, clock):
    late = received()
    paused = received()
    clock.set("2026-11-26T09:00")
    paused = ds.request_supplement(actor=people["specialist"], dossier=paused,
                                   items=["Bản sao giấy chứng sinh"], note="Thiếu giấy")
    assert risks_for([late, paused], at=at("2026-12-01T09:01")) == {}
    assert risks_for([paused], at=at("2026-11-30T09:00")) == {}


def test_twenty_dossiers_cost_three_queries(received, django_assert_max_num_queries):
    """Agencies' hours, calendar overrides and all the steps: 3 queries for 20 dossiers."""
    dossiers = [received() for _ in range(20)]
    with django_assert_max_num_queries(3):
        risks = risks_for(dossiers, at=at("2026-11-27T11:00"))
    assert len(risks) == 20


def test_accepts_value_rows(received):
    d = received()
    row = {"id": d.pk, "status": d.status, "due_at": d.due_at,
           "clock_started_at": d.clock_started_at, "current_step": d.current_step,
           "current_agency_id": d.current_agency_id}
    assert list(risks_for([row], at=at("2026-11-27T11:00"))) == [d.pk]
