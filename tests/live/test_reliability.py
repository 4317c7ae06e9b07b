"""Reliability under load, against a real server (issue: §8)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import ON_POSTGRES, submission

pytestmark = pytest.mark.slow


@pytest.mark.skipif(not ON_POSTGRES, reason="real concurrency: PostgreSQL only")
def test_64_clients_submitting_100_dossiers_each_lose_nothing(platform):
    """6,400 submissions from 64 concurrent clients: 6,400 dossiers, codes unique, none lost."""
    proc, agency = platform.procedure_and_agency()

    def client(n: int) -> list[str]:
        conn = platform.connection()
        codes = []
        for i in range(100):
            status, body = platform.request("POST", "/api/v1/dossiers",
                                            submission(proc, agency, n * 100 + i),
                                            user="citizen", conn=conn)
            assert status == 201, body
            codes.append(body["code"])
        conn.close()
        return codes

    with ThreadPoolExecutor(64) as pool:
        codes = [c for chunk in pool.map(client, range(64)) for c in chunk]
    assert len(codes) == 6400 and len(set(codes)) == 6400
    # Ordinals of one agency and day are 1..n without gaps.
    by_day: dict[str, list[int]] = {}
    for c in codes:
        prefix, _, ordinal = c.rpartition("-")
        by_day.setdefault(prefix, []).append(int(ordinal))
    for ordinals in by_day.values():
        assert sorted(ordinals) == list(range(min(ordinals), min(ordinals) + len(ordinals)))
    for code in codes[::97]:
        status, body = platform.request("GET", f"/api/v1/dossiers/{code}", user="citizen")
        assert status == 200 and body["code"] == code


def test_two_officers_acting_at_once_exactly_one_succeeds(platform):
    proc, agency = platform.procedure_and_agency()
    outcomes = []
    for n in range(10):
        status, body = platform.request("POST", "/api/v1/dossiers", submission(proc, agency, n),
                                        user="citizen")
        assert status == 201
        code = body["code"]
        barrier = threading.Barrier(2)

        def receive(user, code=code, barrier=barrier):
            barrier.wait()
            return platform.request("POST", f"/api/v1/dossiers/{code}/actions/receive",
                                    {"note": user}, user=user)[0]

        with ThreadPoolExecutor(2) as pool:
            results = sorted(pool.map(receive, ["receiver", "receiver2"]))
        outcomes.append(results)
        status, body = platform.request("GET", f"/api/v1/dossiers/{code}", user="receiver")
        assert [e["action"] for e in body["events"]].count("receive") == 1
    assert all(r == [200, 409] for r in outcomes), outcomes


def test_sigkill_during_submissions_loses_no_acknowledged_dossier(platform):
    """Every dossier that got a 201 before the server was killed is there, intact."""
    proc, agency = platform.procedure_and_agency()
    acknowledged: list[tuple[str, str]] = []
    stop = threading.Event()

    def client(n: int):
        i = 0
        while not stop.is_set():
            body = submission(proc, agency, n * 100000 + i)
            try:
                status, out = platform.request("POST", "/api/v1/dossiers", body, user="citizen")
            except OSError:
                return  # the server died under us: that request was never acknowledged
            if status == 201:
                acknowledged.append((out["code"], body["applicant"]["full_name"]))
            i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    time.sleep(3)
    platform.kill()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert len(acknowledged) > 20
    platform.start()
    for code, name in acknowledged:
        status, body = platform.request("GET", f"/api/v1/dossiers/{code}", user="citizen")
        assert status == 200, (code, body)
        assert body["applicant"]["full_name"] == name
    assert "nguyên vẹn" in platform.cqs("audit", "verify")
