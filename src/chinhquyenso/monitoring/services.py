"""Keeping the index current: every write of the monitoring app.

- `refresh()`: the consumer. Reads the dossier events of the outbox after its cursor (after
  commit, so it sees only committed changes), recomputes the touched dossiers' facts with
  `rules.judge` and adds the differences to the cells; facts, cells and cursor move in one
  transaction, so a crash leaves them consistent and the next run continues. Idempotent per
  dossier (a fact is recomputed from the dossier's current state, not from the event).
- `rebuild()`: the full recomputation from the raw dossiers (after a bulk load such as
  `cqs demo`, which writes no events).
- `verify()`: recompute in memory and list every cell that differs from the maintained one.
- `apply_dossiers()`: recompute some dossiers now (the importer and the portal sync call it).
"""

from __future__ import annotations

import time as _time
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from chinhquyenso.catalog.models import Procedure
from chinhquyenso.core.models import OutboxEvent
from chinhquyenso.dossiers.models import Dossier

from . import rules
from .models import CELL_COUNTS, FACT_FLAGS, Cursor, DossierFact, IndexCell, PortalSync

INDEX_CURSOR = "index"
GAP_TTL = timedelta(minutes=10)
VN_OFFSET = timedelta(hours=7)  # Asia/Ho_Chi_Minh, no DST since 1975
FIELDS = ("id", "agency_id", "procedure_id", "status", "channel", "received_at", "due_at",
          "ended_at", "finished_at", "returned_at", "paused_at", "supplement_count", "fee",
          "paid_online", "digitised", "electronic_result", "reused_data", "rating")
# The cell's count columns in table order: received, the flags, then minutes.
COUNT_COLUMNS = (*CELL_COUNTS, "minutes")
NO_DUE_DAY = date(9999, 12, 31).toordinal()


def vn_date(dt: datetime) -> date:
    return (dt + VN_OFFSET).date() if dt.utcoffset() == timedelta(0) else (
        dt.astimezone(timezone.get_fixed_timezone(420)).date())


def paper_results() -> dict[int, bool]:
    """Procedures whose result is (also) a paper document: for them the 766 online,
    digitisation and e-result indicators ask for an electronic result (research note §2,
    3.3, 4.1, 4.2). catalog result_type "paper" or "both"; "electronic" needs none."""
    return {pk: rt != "electronic" for pk, rt in Procedure.objects.values_list("id", "result_type")}


def synced_dossiers():
    """Dossiers the national portal holds as received (indicator 1.4 counts a dossier whose
    receipt reached the portal, not one it only knows as submitted or refused)."""
    return PortalSync.objects.exclude(status__in=[1, 3])


FACT_COLUMNS = ("dossier_id", "agency_id", "procedure_id", "month", "pending_day", "minutes",
                *FACT_FLAGS)


def fact_for(row: tuple, paper: dict[int, bool], synced: bool) -> tuple | None:
    """The contribution of one dossier (a FIELDS tuple) to the index, as a FACT_COLUMNS
    tuple; None when it has not been received (the cohort is the dossiers received in the
    period). Plain tuples: the full recomputation calls this ten million times."""
    (pk, agency_id, procedure_id, status, channel, received_at, due_at, ended_at, finished_at,
     returned_at, paused_at, supplement_count, fee, paid_online, digitised, eresult, reused,
     rating) = row
    if received_at is None:
        return None
    v = rules.judge(status=status, due_at=due_at, ended_at=ended_at, finished_at=finished_at,
                    returned_at=returned_at, paused_at=paused_at,
                    supplement_count=supplement_count)
    kind = v.kind
    needs_paper = paper.get(procedure_id, True)
    on_time = kind == rules.ON_TIME
    pending = kind == rules.PENDING
    completed = (status == 9 or status == 10) and v.end is not None
    online = channel == "online"
    eresult = bool(eresult)
    unsatisfied = rating == "unsatisfied"
    has_fee = fee > 0
    return (
        pk, agency_id, procedure_id, vn_date(received_at).replace(day=1),
        (vn_date(due_at).toordinal() if due_at else NO_DUE_DAY) if pending else 0,
        int((v.end - received_at).total_seconds() // 60) if completed else 0,
        # FACT_FLAGS, in order
        on_time, kind == rules.LATE, pending, completed, online,
        online and (not needs_paper or eresult), needs_paper, needs_paper and eresult,
        bool(digitised) and (not needs_paper or eresult), bool(reused), has_fee,
        has_fee and bool(paid_online), synced, bool(rating), unsatisfied,
        on_time and unsatisfied,
    )


_FLAG_AT = tuple(range(6, 6 + len(FACT_FLAGS)))


def _add(cells: dict, f: tuple, sign: int) -> None:
    key = (f[1], f[3], f[2], f[4])  # agency, month, procedure, pending day
    acc = cells.get(key)
    if acc is None:
        acc = cells[key] = [0] * len(COUNT_COLUMNS)
    acc[0] += sign
    for i in _FLAG_AT:
        if f[i]:
            acc[i - 5] += sign
    acc[-1] += sign * f[5]


def _upsert_cells(deltas: dict) -> None:
    """Add the deltas to the cells (INSERT … ON CONFLICT DO UPDATE: PostgreSQL and SQLite)."""
    rows = [(*k, *v) for k, v in deltas.items() if any(v)]
    if not rows:
        return
    cols = ("agency_id", "month", "procedure_id", "pending_day", *COUNT_COLUMNS)
    t = IndexCell._meta.db_table
    sets = ", ".join(f"{c} = {t}.{c} + excluded.{c}" for c in COUNT_COLUMNS)
    sql = (f"INSERT INTO {t} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) "
           f"ON CONFLICT (agency_id, month, procedure_id, pending_day) DO UPDATE SET {sets}")
    with connection.cursor() as cur:
        cur.executemany(sql, rows)


def apply_dossiers(ids) -> int:
    """Recompute the facts of these dossiers and move the cells by the difference. Runs in
    the caller's transaction; returns how many facts changed."""
    ids = list(set(ids))
    if not ids:
        return 0
    paper = paper_results()
    changed = 0
    for i in range(0, len(ids), 2000):
        chunk = ids[i:i + 2000]
        synced = set(synced_dossiers().filter(dossier_id__in=chunk)
                     .values_list("dossier_id", flat=True))
        new = {}
        for row in Dossier.objects.filter(pk__in=chunk).values_list(*FIELDS):
            f = fact_for(row, paper, row[0] in synced)
            if f is not None:
                new[row[0]] = f
        old = {f[0]: f for f in DossierFact.objects.select_for_update()
               .filter(pk__in=chunk).values_list(*FACT_COLUMNS)}
        deltas: dict = {}
        for pk in set(old) | set(new):
            if old.get(pk) == new.get(pk):
                continue
            changed += 1
            if pk in old:
                _add(deltas, old[pk], -1)
            if pk in new:
                _add(deltas, new[pk], +1)
        stale = [pk for pk in old if old[pk] != new.get(pk)]
        DossierFact.objects.filter(pk__in=stale).delete()
        DossierFact.objects.bulk_create(
            [DossierFact(**dict(zip(FACT_COLUMNS, new[pk], strict=True)))
             for pk in new if old.get(pk) != new[pk]], batch_size=1000)
        _upsert_cells(deltas)
    return changed


def _lock_cursor(name: str) -> Cursor:
    Cursor.objects.get_or_create(name=name)
    return Cursor.objects.select_for_update().get(name=name)


def read_outbox(cur: Cursor, limit: int) -> list[tuple]:
    """The outbox events after the cursor, plus those of earlier gaps that have become
    visible; moves the cursor (the caller saves it in its transaction). Gaps (ids taken by
    a transaction not yet committed) are remembered and re-read until they expire."""
    now = timezone.now()
    fields = ("id", "topic", "aggregate_type", "aggregate_id", "payload")
    events = list(OutboxEvent.objects.filter(id__gt=cur.last_id).order_by("id")
                  .values_list(*fields)[:limit])
    gaps = {int(g): datetime.fromisoformat(at) for g, at in cur.gaps}
    if gaps:
        found = list(OutboxEvent.objects.filter(id__in=list(gaps)).values_list(*fields))
        for e in found:
            gaps.pop(e[0], None)
        events = found + events
    expected = cur.last_id + 1
    for e in events:
        if e[0] > cur.last_id:
            for missing in range(expected, e[0]):
                gaps[missing] = now
            expected = e[0] + 1
            cur.last_id = e[0]
    cur.gaps = [[g, at.isoformat()] for g, at in sorted(gaps.items()) if now - at < GAP_TTL]
    return events


def refresh(*, limit: int = 20_000, wait: bool = True) -> int:
    """Consume the dossier events after the cursor; returns how many events were read.
    With wait=False, returns 0 at once when another process is consuming."""
    with transaction.atomic():
        if not wait and connection.vendor == "postgresql":
            Cursor.objects.get_or_create(name=INDEX_CURSOR)
            got = list(Cursor.objects.select_for_update(skip_locked=True)
                       .filter(name=INDEX_CURSOR))
            if not got:
                return 0
            cur = got[0]
        else:
            cur = _lock_cursor(INDEX_CURSOR)
        events = read_outbox(cur, limit)
        codes = {e[3] for e in events if e[2] == "dossiers.dossier"}
        ids = list(Dossier.objects.filter(code__in=codes).values_list("id", flat=True)) \
            if codes else []
        apply_dossiers(ids)
        cur.save()
    return len(events)


def catch_up() -> int:
    """Before answering: apply the few events since the last run (never waits for another
    consumer; a large backlog is left to `cqs monitoring refresh`)."""
    return refresh(limit=2000, wait=False)


# --- full recomputation ------------------------------------------------------------------


def _stream_facts(progress=None):
    """Every received dossier's fact, computed from the raw rows (one pass)."""
    paper = paper_results()
    synced = set(synced_dossiers().values_list("dossier_id", flat=True))
    for n, row in enumerate(_raw_rows(), 1):
        f = fact_for(row, paper, row[0] in synced)
        if f is not None:
            yield f
        if progress and n % 500_000 == 0:
            progress(n)


def _raw_rows():
    """The FIELDS of every received dossier. PostgreSQL: a named (server-side) cursor read
    in blocks, without the ORM's per-row work; the values are what the ORM would give
    (aware UTC datetimes, bools)."""
    qs = Dossier.objects.filter(received_at__isnull=False).order_by().values_list(*FIELDS)
    if connection.vendor != "postgresql":
        yield from qs.iterator(chunk_size=20_000)
        return
    sql, params = qs.query.sql_with_params()
    with transaction.atomic():  # a server-side cursor lives in a transaction
        connection.ensure_connection()
        with connection.connection.cursor(name="monitoring_facts") as cur:
            cur.itersize = 50_000
            cur.execute(sql, params)
            yield from cur


def recompute_cells(progress=None) -> dict:
    cells: dict = {}
    for f in _stream_facts(progress):
        _add(cells, f, 1)
    return cells


def rebuild(*, progress=None) -> dict:
    """Recompute facts and cells from the raw dossiers, in one transaction (the cursor is
    locked meanwhile, so the consumer waits; events after the cursor position taken at the
    start are applied again afterwards, which is harmless: facts are recomputed, not
    replayed). Returns counts and seconds."""
    t0 = _time.perf_counter()
    with transaction.atomic():
        cur = _lock_cursor(INDEX_CURSOR)
        cur.last_id = OutboxEvent.objects.aggregate(m=Max("id"))["m"] or 0
        cur.gaps = []
        pg = connection.vendor == "postgresql"
        with connection.cursor() as c:
            if pg:
                c.execute(f"TRUNCATE {DossierFact._meta.db_table}, {IndexCell._meta.db_table}")
            else:
                c.execute(f"DELETE FROM {DossierFact._meta.db_table}")
                c.execute(f"DELETE FROM {IndexCell._meta.db_table}")
        cells: dict = {}
        n = 0
        batch: list = []

        def flush():
            if not batch:
                return
            if pg:
                raw = connection.connection
                cols = ", ".join(FACT_COLUMNS)
                with raw.cursor() as rc, rc.copy(
                        f"COPY {DossierFact._meta.db_table} ({cols}) FROM STDIN") as cp:
                    for f in batch:
                        cp.write_row(f)
            else:
                DossierFact.objects.bulk_create(
                    [DossierFact(**dict(zip(FACT_COLUMNS, f, strict=True))) for f in batch],
                    batch_size=500)
            batch.clear()

        for f in _stream_facts(progress):
            _add(cells, f, 1)
            batch.append(f)
            n += 1
            if len(batch) >= 50_000:
                flush()
        flush()
        t_facts = _time.perf_counter() - t0
        IndexCell.objects.bulk_create(
            [IndexCell(agency_id=k[0], month=k[1], procedure_id=k[2], pending_day=k[3],
                       **dict(zip(COUNT_COLUMNS, v, strict=True))) for k, v in cells.items()],
            batch_size=2000)
        cur.save()
    if connection.vendor == "postgresql":
        with connection.cursor() as c:
            c.execute(f"ANALYZE {DossierFact._meta.db_table}")
            c.execute(f"ANALYZE {IndexCell._meta.db_table}")
    return {"facts": n, "cells": len(cells), "seconds": round(_time.perf_counter() - t0, 1),
            "facts_seconds": round(t_facts, 1)}


def verify(*, progress=None, limit: int = 50) -> tuple[list[dict], dict]:
    """Recompute the cells from the raw dossiers and compare with the maintained ones.
    Returns (differences, summary); differences name the cell, the column and both values.
    Pending events are consumed first, so only a real divergence is reported."""
    refresh()
    t0 = _time.perf_counter()
    expected = recompute_cells(progress)
    stored = {}
    for row in IndexCell.objects.values_list("agency_id", "month", "procedure_id",
                                             "pending_day", *COUNT_COLUMNS).iterator(5000):
        if any(row[4:]):
            stored[row[:4]] = list(row[4:])
    diffs = []
    zero = [0] * len(COUNT_COLUMNS)
    for key in sorted(set(expected) | set(stored), key=str):
        a, b = stored.get(key, zero), expected.get(key, zero)
        if a != b:
            for col, x, y in zip(COUNT_COLUMNS, a, b, strict=True):
                if x != y:
                    diffs.append({"agency_id": key[0], "month": key[1].isoformat(),
                                  "procedure_id": key[2], "pending_day": key[3],
                                  "column": col, "stored": x, "recomputed": y})
    summary = {"cells": len(expected), "dossiers": sum(v[0] for v in expected.values()),
               "differences": len(diffs), "seconds": round(_time.perf_counter() - t0, 1)}
    return diffs[:limit] if limit else diffs, summary

