"""What one request of the two hottest reads costs in SQL (issue 10 §7): the officer's queue
page and the public look-up. A regression in authentication, middleware or sessions that adds
a statement to every request fails here, in `make test`; bench/queue_bench.py measures the
same requests over HTTP with the counts it prints."""

import pytest

from chinhquyenso.directory.models import User
from chinhquyenso.dossiers.queries import (
    agency_queue_page,
    bounded_count,
    queue_page,
    work_queue,
)
from tests.conftest import ON_POSTGRES, birth_body


@pytest.fixture
def queue(api, agency, clock):
    """Seven dossiers of the agency: three received at different moments (due dates in that
    order), three new (no due date yet), one withdrawn."""
    citizen, receiver = api("citizen"), api("receiver")
    codes = [citizen.post("/dossiers", birth_body(agency)).json()["code"] for _ in range(7)]
    for moment, code in zip(
        ["2026-11-25T10:00", "2026-11-26T10:00", "2026-11-27T10:00"], codes[:3], strict=True
    ):
        clock.set(moment)
        assert receiver.post(f"/dossiers/{code}/actions/receive").status_code == 200
    withdrawn = citizen.post(f"/dossiers/{codes[6]}/actions/withdraw", {"note": "Nộp nhầm"})
    assert withdrawn.status_code == 200, withdrawn.content
    return codes


def test_queue_page_is_two_statements_token_and_page(api, queue, django_assert_max_num_queries):
    receiver = api("receiver")
    first = receiver.get("/queue")  # the token's first use is written down once
    assert first.status_code == 200
    with django_assert_max_num_queries(2):
        r = receiver.get("/queue")
    assert r.status_code == 200
    assert r.json() == first.json()
    body = r.json()
    assert (body["count"], body["count_exact"]) == (6, True)
    assert [i["code"] for i in body["items"][:3]] == queue[:3]


def test_public_lookup_is_one_select_and_the_throttle(api, queue, django_assert_max_num_queries):
    client = api(None)
    # PostgreSQL: the per-address count and the SELECT in one statement; SQLite: two.
    with django_assert_max_num_queries(1 if ON_POSTGRES else 2):
        assert client.get(f"/lookup/{queue[0]}").status_code == 200


@pytest.mark.parametrize("status", [None, 2])
@pytest.mark.parametrize("overdue", [None, True, False])
@pytest.mark.parametrize("start", [0, 2])
def test_agency_statement_gives_what_the_orm_queue_gives(
    people, queue, clock, status, overdue, start
):
    receiver = User.objects.get(pk=people["receiver"].pk)
    at = clock.set("2026-12-01T16:00")  # the first received dossier is overdue, the others not
    qs = work_queue(receiver, status=status, overdue=overdue, at=at)
    expected = (queue_page(qs, start, 3), bounded_count(qs, 4))
    assert (
        agency_queue_page(
            receiver, status=status, overdue=overdue, at=at, start=start, size=3, limit=4
        )
        == expected
    )


def test_province_users_keep_the_orm_queue(people, queue):
    monitor = User.objects.get(pk=people["monitor"].pk)
    rows, counted = agency_queue_page(monitor, start=0, size=20)
    assert counted == {"count": 6, "count_exact": True}
    assert {r["code"] for r in rows} == set(queue[:6])
