"""The index of a unit from dossiers with known times. Every expected value is worked out by
hand in the docstring of the scenario; the code under test only produces the answer."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from chinhquyenso.catalog.models import Field, Procedure, ProcessStep, RequiredDocument
from chinhquyenso.dossiers.models import Dossier, Supplement
from chinhquyenso.monitoring import services
from chinhquyenso.monitoring.models import PortalSync

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def at(day, hour=8, month=10):
    return datetime(2026, month, day, hour, 0, tzinfo=VN)


_seq = [0]


def make(agency, procedure, *, received, due, status=10, channel="online", **kw):
    _seq[0] += 1
    return Dossier.objects.create(
        code=f"{agency.code}-TEST-{_seq[0]:04d}", procedure=procedure, agency=agency,
        current_agency=agency, applicant_name="Nguyễn Văn An", form={}, channel=channel,
        status=status, submitted_at=received or at(1), received_at=received, due_at=due,
        fee=procedure.fee, **kw)


@pytest.fixture
def fee_procedure(agency):
    """A second procedure: fee 50.000 đ, electronic result, partly online, complete content
    (steps, one required document, an agency)."""
    field = Field.objects.create(code="CT", name="Chứng thực")
    p = Procedure.objects.create(code="2.000815", name="Chứng thực bản sao từ bản chính",
                                 field=field, level="commune", agency_key="COMMUNE",
                                 working_days=Decimal("2"), fee=50000, online_mode="partial",
                                 result_type="electronic")
    ProcessStep.objects.create(procedure=p, position=1, name="Tiếp nhận", role="receiver",
                               share=Decimal("1"))
    RequiredDocument.objects.create(procedure=p, code="BC", name="Bản chính")
    p.agencies.set([agency])
    return p


@pytest.fixture
def october(agency, procedure, fee_procedure):
    """Ten dossiers received in October 2026 by the commune (period 2026-10, judged on
    31/10 since today is later), one in November and one never received.

    d1  online, finished 8/10 before due 9/10, returned 9/10, e-result, digitised, reused,
        rated satisfied                                                → on time
    d2  online, due Mon 12/10 17:00, finished Thu 15/10 17:00, digitised, no e-result,
        rated unsatisfied                                              → late (3 wd)
    d3  online, supplement 8/10→9/10 (due moved to 20/10), finished 19/10, e-result,
        digitised                                                      → on time
    d4  online, waiting for a supplement asked 8/10, due 14/10         → on time
    d5  counter, waiting for a supplement asked 16/10, due 14/10       → late
    d6  counter, withdrawn 9/10, due 13/10                             → on time
    d7  online, in processing, due 30/11                               → on time (pending)
    d8  online, in processing, due 20/10                               → late (pending)
    d9  counter, fee procedure, paid online, on time, digitised, reused, rated unsatisfied
    d10 counter, fee procedure, not paid online, on time
    Synced to the portal: d1–d5.

    Cohort 10; on time 7 (d1 d3 d4 d6 d7 d9 d10).
    2.1 = 20 × 7/10 = 14.00.
    5.4 = on time minus rated unsatisfied (d9) = 6/10 = 60 % → 6 × 60/90 = 4.00.
    1.4 = 5/10 → 6 × 0.5 = 3.00; 1.3 = 1 complete of 2 procedures → 1.00 (1.1, 1.2 null).
    3.1 = 2/2 → 2; 3.2 = online dossiers for 1 of 2 services → 2.00;
    3.3 = online with e-result (paper procedure): d1, d3 = 2/10 = 20 % × sync 0.5 = 10 %
          → 6 × 10/50 = 1.20;
    3.5a = 1/1 → 2; 3.5b = 1/1 → 2; 3.6 = 1 paid of 2 with fee → 3.00. Group 3 = 12.20.
    4.1 = e-result among paper-procedure dossiers d1–d8: 2/8 → 1.50;
    4.2 = digitised (and e-result for paper): d1, d3, d9 = 3/10 → 1.20;
    4.3 = reused d1, d9 = 20 % → 2 × 20/80 = 0.50; 4.6 = 2. Group 4 = 5.20.
    Group 5 = 6 + 6 + 4 = 16. Total = 4 + 14 + 12.20 + 5.20 + 16 = 51.40."""
    a, p, f = agency, procedure, fee_procedure
    d = {}
    d[1] = make(a, p, received=at(5), due=at(9, 17), finished_at=at(8), ended_at=at(8),
                returned_at=at(9), electronic_result=True, digitised=True, reused_data=True,
                rating="satisfied")
    d[2] = make(a, p, received=at(6), due=at(12, 17), finished_at=at(15, 17),
                ended_at=at(15, 17), returned_at=at(16), digitised=True, rating="unsatisfied")
    d[3] = make(a, p, received=at(7), due=at(20, 17), original_due_at=at(13, 17),
                finished_at=at(19), ended_at=at(19), returned_at=at(19, 10),
                electronic_result=True, digitised=True, supplement_count=1,
                paused_minutes=450)
    Supplement.objects.create(dossier=d[3], requested_at=at(8), completed_at=at(9))
    d[4] = make(a, p, received=at(7), due=at(14, 17), status=5, paused_at=at(8),
                supplement_count=1)
    d[5] = make(a, p, received=at(7), due=at(14, 17), status=5, paused_at=at(16),
                supplement_count=1, channel="counter")
    d[6] = make(a, p, received=at(7), due=at(13, 17), status=7, ended_at=at(9),
                channel="counter")
    d[7] = make(a, p, received=at(26), due=at(30, 17, month=11), status=4)
    d[8] = make(a, p, received=at(14), due=at(20, 17), status=4)
    d[9] = make(a, f, received=at(12), due=at(14, 17), finished_at=at(13), ended_at=at(13),
                returned_at=at(13, 9), paid_online=True, digitised=True, reused_data=True,
                rating="unsatisfied", channel="counter")
    d[10] = make(a, f, received=at(12), due=at(14, 17), finished_at=at(13), ended_at=at(13),
                 returned_at=at(13, 9), channel="counter")
    d[11] = make(a, p, received=at(3, month=11), due=at(9, 17, month=11), status=4)
    d[12] = make(a, p, received=None, due=None, status=1)
    for i in range(1, 6):
        PortalSync.objects.create(dossier_id=d[i].pk, code=d[i].code, status=d[i].status,
                                  first_synced_at=at(20), synced_at=at(20))
    return d


def by_code(index):
    return {i["code"]: i for g in index["groups"] for i in g["indicators"]}


def test_index_of_the_commune_for_october(agency, october, monitor_api):
    services.rebuild()
    r = monitor_api.get("/monitoring/index", unit=agency.code, period="2026-10")
    assert r.status_code == 200, r.content
    idx = r.json()
    ind = by_code(idx)
    expect = {  # code: (numerator, denominator, score)
        "1.1": (0, 0, None), "1.3": (1, 2, 1.0), "1.4": (5, 10, 3.0),
        "2.1": (7, 10, 14.0),
        "3.1": (2, 2, 2.0), "3.2": (1, 2, 2.0), "3.3": (2, 10, 1.2), "3.5a": (1, 1, 2.0),
        "3.5b": (1, 1, 2.0), "3.6": (1, 2, 3.0),
        "4.1": (2, 8, 1.5), "4.2": (3, 10, 1.2), "4.3": (2, 10, 0.5),
        "5.2": (0, 0, 6), "5.3": (0, 0, 6), "5.4": (6, 10, 4.0),
    }
    got = {c: (ind[c]["numerator"], ind[c]["denominator"], ind[c]["score"]) for c in expect}
    assert got == expect
    groups = {g["code"]: g["score"] for g in idx["groups"]}
    assert groups == {"1": 4.0, "2": 14.0, "3": 12.2, "4": 5.2, "5": 16.0}
    assert idx["total"] == 51.4
    assert set(idx) >= {"unit", "period", "total", "groups"}
    assert ind["2.1"]["dossiers_url"].startswith("/api/v1/monitoring/index/items?")


def test_the_same_unit_by_commune_code_and_the_province(agency, october, monitor_api):
    services.rebuild()
    commune = monitor_api.get("/monitoring/index", unit=agency.unit_id, period="2026-10").json()
    assert commune["total"] == 51.4
    # the province holds only this commune's dossiers here, so 2.1 is the same 7/10
    prov = by_code(monitor_api.get("/monitoring/index", unit="31", period="2026-10").json())
    assert (prov["2.1"]["numerator"], prov["2.1"]["denominator"]) == (7, 10)


def test_quarter_and_year_include_november(agency, october, monitor_api):
    """Q4 and the year add d11 (received 3/11, in processing, due 9/11: judged on today,
    23/11, so late): 7 on time of 11."""
    services.rebuild()
    for period in ("2026-Q4", "2026"):
        ind = by_code(monitor_api.get("/monitoring/index", unit=agency.code,
                                      period=period).json())
        assert (ind["2.1"]["numerator"], ind["2.1"]["denominator"]) == (7, 11), period


def test_drill_down_says_why_each_dossier_counts(agency, october, monitor_api):
    services.rebuild()
    r = monitor_api.get("/monitoring/index/items", unit=agency.code, period="2026-10",
                        indicator="2.1")
    body = r.json()
    assert body["count"] == 10
    reasons = {i["code"]: (i["in_numerator"], i["reason"]) for i in body["items"]}
    assert reasons[october[2].code] == (False, "trễ hạn 3 ngày làm việc")
    assert reasons[october[1].code] == (True, "đúng hạn")
    assert reasons[october[4].code][0] is True
    assert reasons[october[8].code][1].startswith("đang giải quyết, quá hạn")
    late = monitor_api.get("/monitoring/index/items", unit=agency.code, period="2026-10",
                           indicator="2.1", part="outside").json()
    assert {i["code"] for i in late["items"]} == {october[i].code for i in (2, 5, 8)}
    paid = monitor_api.get("/monitoring/index/items", unit=agency.code, period="2026-10",
                           indicator="3.6").json()
    assert {(i["code"], i["reason"]) for i in paid["items"]} == {
        (october[9].code, "thanh toán trực tuyến"),
        (october[10].code, "chưa thanh toán trực tuyến")}


def test_verify_finds_no_difference_then_finds_a_tampered_cell(agency, october):
    from chinhquyenso.monitoring.models import IndexCell

    services.rebuild()
    diffs, summary = services.verify()
    assert diffs == [] and summary["dossiers"] == 11
    cell = IndexCell.objects.filter(on_time__gt=0).first()
    IndexCell.objects.filter(pk=cell.pk).update(on_time=cell.on_time + 1)
    diffs, _ = services.verify()
    assert [(d["column"], d["stored"] - d["recomputed"]) for d in diffs] == [("on_time", 1)]


def test_to_full_points_and_plan(agency, october, monitor_api):
    services.rebuild()
    r = monitor_api.get("/monitoring/plan", unit=agency.code, period="2026-10").json()
    advice = {a["code"]: a for a in r["to_full_points"]}
    # 2.1 needs the 3 late ones on time; 5.4 needs ceil(0.9 × 10) − 6 = 3 more;
    # 3.6 needs the one unpaid dossier paid online
    assert advice["2.1"]["missing"] == 3
    assert advice["5.4"]["missing"] == 3
    assert advice["3.6"]["missing"] == 1
    assert advice["3.6"]["text"] == (
        "Cần thêm 1 hồ sơ thanh toán trực tuyến trong kỳ để đạt điểm tối đa.")


def test_rankings_of_agencies_and_communes_separately(agency, other_agency, october,
                                                      monitor_api):
    services.rebuild()
    communes = monitor_api.get("/monitoring/rankings", period="2026-10", kind="commune").json()
    assert [(c["agency"], c["rank"], c["total"]) for c in communes] == [(agency.code, 1, 51.4)]
    agencies = monitor_api.get("/monitoring/rankings", period="2026-10", kind="agency").json()
    assert [a["agency"] for a in agencies] == [other_agency.code]
    assert agencies[0]["received"] == 0


def test_index_per_procedure_and_per_field(agency, october, monitor_api):
    """The fee procedure alone: d9 and d10, both on time → 2.1 = 2/2 = 20; its field
    (Chứng thực) is the same two dossiers."""
    services.rebuild()
    for extra in ({"procedure": "2.000815"}, {"field": "CT"}):
        r = monitor_api.get("/monitoring/index", unit=agency.code, period="2026-10", **extra)
        ind = by_code(r.json())
        assert (ind["2.1"]["numerator"], ind["2.1"]["denominator"], ind["2.1"]["score"]) == \
            (2, 2, 20.0)
        assert ind["3.1"]["denominator"] == 1
        key, value = next(iter(extra.items()))
        assert f"&{key}={value}" in ind["2.1"]["dossiers_url"]
        items = monitor_api.get("/monitoring/index/items", unit=agency.code, period="2026-10",
                                indicator="2.1", **extra).json()
        assert items["count"] == 2
    r = monitor_api.get("/monitoring/index", unit=agency.code, period="2026-10",
                        procedure="9.9")
    assert r.status_code == 404 and "Không có thủ tục" in r.json()["detail"]


def test_verify_command_exits_1_on_a_difference(agency, october, capsys):
    from django.core.management import call_command

    from chinhquyenso.monitoring.models import IndexCell

    call_command("monitoring", "rebuild")
    call_command("monitoring", "verify")
    assert "Khớp" in capsys.readouterr().out
    IndexCell.objects.filter(late__gt=0).update(late=0)
    with pytest.raises(SystemExit) as exc:
        call_command("monitoring", "verify")
    assert exc.value.code == 1
    out = capsys.readouterr()
    assert "LỆCH" in out.out and "late" in out.out and "chỗ lệch" in out.err


def _complaint(agency, n, **kw):
    from chinhquyenso.complaints.models import Complaint

    base = dict(code=f"PAKN-{n}", agency=agency, category="procedure", title="Phản ánh",
                content="Nội dung", contact_name="Nguyễn Văn An", status="answered",
                received_at=at(5), due_at=at(26, 17), reject_due_at=at(7, 17))
    base.update(kw)
    return Complaint.objects.create(**base)


def test_petitions_feed_group_5(agency, october, monitor_api):
    """Two PAKN received in October: c1 about a procedure, answered 20/10 (on time), rated
    satisfied; c2 about the handling of d1 (an on-time dossier), answered 28/10 (after its
    due 26/10), rated unsatisfied.
    5.1 = 1 of 2 about procedures (0 points); 5.2 = 1/2 → 3.00; 5.3 = 1/2 → 3.00;
    5.4 = on time 7 − d9 (unsatisfied) − d1 (complained about) = 5/10 → 6 × 50/90 = 3.33."""
    services.rebuild()
    _complaint(agency, 1, answered_at=at(20), rating="satisfied")
    _complaint(agency, 2, category="handling", dossier=october[1], answered_at=at(28),
               rating="unsatisfied")
    ind = by_code(monitor_api.get("/monitoring/index", unit=agency.code,
                                  period="2026-10").json())
    got = {c: (ind[c]["numerator"], ind[c]["denominator"], ind[c]["score"])
           for c in ("5.1", "5.2", "5.3", "5.4")}
    assert got == {"5.1": (1, 2, 0.0), "5.2": (1, 2, 3.0), "5.3": (1, 2, 3.0),
                   "5.4": (5, 10, 3.33)}
    items = monitor_api.get("/monitoring/index/items", unit=agency.code, period="2026-10",
                            indicator="5.3").json()["items"]
    assert [(i["code"], i["reason"]) for i in items] == [
        ("PAKN-1", "không bị phàn nàn"),
        ("PAKN-2", "xử lý quá hạn; không hài lòng với kết quả")]
    d1 = next(i for i in monitor_api.get("/monitoring/index/items", unit=agency.code,
                                         period="2026-10", indicator="5.4").json()["items"]
              if i["code"] == october[1].code)
    assert d1["in_numerator"] is False
    assert d1["reason"] == "đúng hạn; có phản ánh, kiến nghị về hồ sơ"


def test_dossiers_due_this_week_that_weigh_most(agency, other_agency, procedure,
                                                monitor_api):
    """This week (today 23/11/2026 → Sunday 29/11): the commune has 1 dossier in November,
    due in an hour; the Sở has 4, one due this week. Late, the commune's would cost 20 (2.1:
    1/1 → 0/1) + 6 (5.4: 100 % → 0) = 26 points of its own score; the Sở's 20/4 = 5 (2.1)
    + 6 − 6 × 75/90 = 1 (5.4) = 6 points. The commune's comes first."""
    from django.utils import timezone

    now = timezone.now()
    soon = now + timedelta(hours=1)
    later = now + timedelta(days=20)
    make(agency, procedure, received=now - timedelta(minutes=5), due=soon, status=4)
    procedure.agencies.add(other_agency)
    make(other_agency, procedure, received=now - timedelta(minutes=5), due=soon, status=4)
    for _ in range(3):
        make(other_agency, procedure, received=now - timedelta(minutes=5), due=later, status=4)
    services.rebuild()
    period = (now + timedelta(hours=7)).strftime("%Y-%m")
    if (soon + timedelta(hours=7)).isocalendar()[1] != (now + timedelta(hours=7)).isocalendar()[1]:
        pytest.skip("Sunday, the last hour of the week")
    plan = monitor_api.get("/monitoring/plan", unit="31", period=period).json()
    stakes = [(d["agency"], d["points_at_stake"]) for d in plan["due_this_week"]]
    assert stakes == [(agency.name, 26.0), (other_agency.name, 6.0)]
