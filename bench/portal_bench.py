#!/usr/bin/env python3
"""Issue 4: the citizen portal's procedure search page /thu-tuc?q= (target ≤ 100 ms p95) and
its other public pages, with the 20,000-dossier demo database on PostgreSQL, with a baseline
in the same run.

    python bench/portal_bench.py [--dossiers 20000] [--requests 300] [--reuse]

Uses the database of bench/backoffice_bench.py (`cqs_bo_bench`; made here unless --reuse),
requests the pages through the whole Django stack (middleware, CSP, session, template) with
the test client, cycling through searches a citizen types (with and without diacritics, a
misspelt word, filters by field, level and agency). Baseline: the same catalogue reads as
raw SQL through psycopg (the LIKE filter on the folded name for every word), timed the same
way. Prints p50/p95 of each. Nothing here runs in `make test`.
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from backoffice_bench import DB, PG, demo_database, pct  # noqa: E402

SEARCHES = ["dang ky khai sinh", "đăng ký kết hôn", "giay phep xay dung", "khai tu",
            "cap ban sao", "chung thuc", "ho kinh doanh", "xac nhan tinh trang hon nhan",
            "dat dai", "khaisinh"]


def main() -> None:
    a = demo_database()
    import psycopg
    from django.test import Client

    from chinhquyenso.catalog.models import Field
    from chinhquyenso.core.text import fold
    from chinhquyenso.dossiers.models import Dossier

    n = Dossier.objects.count()
    field = Field.objects.order_by("code").first().code
    urls = [f"/thu-tuc?q={q.replace(' ', '+')}" for q in SEARCHES] + [
        f"/thu-tuc?q=&linh_vuc={field}", "/thu-tuc?q=&cap=commune",
        "/thu-tuc?q=chung+thuc&cap=commune"]
    client = Client()
    for u in urls:  # warm: templates compiled, catalogue cache filled
        assert client.get(u).status_code == 200, u

    def timed(fn, items, rounds):
        out = []
        for i in range(rounds):
            t = time.perf_counter()
            fn(items[i % len(items)])
            out.append((time.perf_counter() - t) * 1000)
        return out

    pages = timed(lambda u: client.get(u), urls, a.requests)
    other = {path: timed(lambda u: client.get(u), [path], a.requests // 3)
             for path in ["/", "/thu-tuc/1.001193", "/tra-cuu"]}
    with psycopg.connect(f"{PG}/{DB}") as conn, conn.cursor() as cur:
        def raw(q):
            words = fold(q).split() or [""]
            cond = " AND ".join(["search_text LIKE %s"] * len(words))
            cur.execute(f"SELECT p.id, p.code, p.name, f.name FROM catalog_procedure p JOIN "
                        f"catalog_field f ON f.id = p.field_id WHERE p.active AND {cond}",
                        [f"%{w}%" for w in words])
            cur.fetchall()
        base = timed(raw, SEARCHES, a.requests)
    print(f"PostgreSQL {DB}: {n:,} dossiers; {a.requests} requests per measurement")
    print(f"/thu-tuc?q= (search page)  p50 {statistics.median(pages):6.1f} ms  "
          f"p95 {pct(pages, 95):6.1f} ms   target ≤ 100 ms p95")
    for path, t in other.items():
        print(f"{path:<26} p50 {statistics.median(t):6.1f} ms  p95 {pct(t, 95):6.1f} ms")
    print(f"baseline: raw SQL search    p50 {statistics.median(base):6.2f} ms  "
          f"p95 {pct(base, 95):6.2f} ms")


if __name__ == "__main__":
    main()
