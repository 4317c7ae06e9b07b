"""National Public Service Portal synchronisation (đồng bộ hồ sơ lên Cổng DVCQG).

Every dossier event of the outbox becomes one `DongBoHoSoMC` record with the dossier's
fields as the portal expects them (field names, codes and time format from
../shared/research/one-stop-rules.md §1.1–1.3: OpenCPS and TD.DichVuCongApi integrations),
sent in the order of the events. The consumer keeps its own cursor; when a send fails it
stops at that event, records the failure and retries from it on its next run (so the
portal never sees a later status before an earlier one and nothing is skipped).

The synchronised dossiers feed indicator 1.4 (and the sync factor of 3.3) of the index.

Settings (environment variables, read by settings.py — see the report to the lead):
- CQS_PORTAL_SYNC_URL: the portal's DongBoHoSoMC endpoint; empty → the built-in simulator.
- CQS_PORTAL_SYNC_TOKEN: bearer token for that endpoint.
- CQS_PORTAL_SYNC_TIMEOUT: seconds (default 10).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chinhquyenso.dossiers.models import Dossier, Status

from . import services
from .models import PortalSync, PortalSyncFailure

VN = ZoneInfo("Asia/Ho_Chi_Minh")
SYNC_CURSOR = "portal-sync"
KENH = {"counter": "1", "online": "2", "post": "3"}  # KenhThucHien (§1.3)
REQUIRED = ("MaHoSo", "MaTTHC", "KenhThucHien", "ChuHoSo", "NgayNopHoSo", "TrangThaiHoSo",
            "DonViXuLy")


def portal_time(dt: datetime | None) -> str:
    """yyyyMMddHHmmss in Asia/Ho_Chi_Minh (§1.3, design rule 1)."""
    return dt.astimezone(VN).strftime("%Y%m%d%H%M%S") if dt else ""


def record_for(d: Dossier, status: int) -> dict:
    """The DongBoHoSoMC data item of one dossier at one status."""
    proc = d.procedure
    ended = d.ended_at or d.finished_at
    supplements = [{
        "HoSoBoSungId": str(s.pk), "NoiDungBoSung": "; ".join(map(str, s.items or [])),
        "NgayBoSung": portal_time(s.requested_at),
        "NgayTiepNhanBoSung": portal_time(s.completed_at),
        "TrangThaiBoSung": "1" if s.completed_at else "0",
    } for s in d.supplements.all()]
    return {
        "MaHoSo": d.code,
        "MaTTHC": proc.code,
        "TenTTHC": proc.name,
        "MaLinhVuc": proc.field.code,
        "TenLinhVuc": proc.field.name,
        "KenhThucHien": KENH.get(d.channel, "1"),
        "ChuHoSo": d.applicant_name,
        "SoGiayToChuHoSo": d.applicant_id_number,
        "LoaiDoiTuong": "1",
        "SoDienThoai": d.applicant_phone,
        "Email": d.applicant_email,
        "TrichYeuHoSo": f"{proc.name} — {d.applicant_name}"[:1000],
        "NgayNopHoSo": portal_time(d.submitted_at),
        "NgayTiepNhan": portal_time(d.received_at),
        "NgayHenTra": portal_time(d.due_at),
        "TrangThaiHoSo": str(status),
        "NgayTra": portal_time(d.returned_at),
        "NgayKetThucXuLy": portal_time(ended if status >= Status.REFUSED and ended else None),
        "NgayTuChoi": portal_time(d.ended_at if d.status == Status.REFUSED else None),
        "DonViXuLy": d.agency.name,
        "MaDinhDanhDV": d.agency.code,
        "HinhThuc": "1" if d.channel == "post" else "0",
        "HoSoCoThanhPhanSoHoa": "1" if d.digitised else "0",
        # 2 = paid through the province's own payment gateway (§1.3, 766 spec).
        "DuocThanhToanTrucTuyen": "2" if d.paid_online else "0",
        "DanhSachLePhi": ([{"TenPhiLePhi": "Phí, lệ phí", "Gia": d.fee, "LoaiPhiLePhi": "1",
                            "HinhThucThu": "2" if d.paid_online else "1"}] if d.fee else []),
        "DanhSachHoSoBoSung": supplements,
    }


class Simulator:
    """Stands in for the portal: checks the record as the portal would (required fields,
    time format, status code) and answers like it ({"error_code": "0"} on success)."""

    def __init__(self):
        self.received: list[dict] = []

    def send(self, record: dict, updating: bool) -> tuple[bool, str]:
        missing = [k for k in REQUIRED if not record.get(k)]
        if missing:
            return False, f"Thiếu trường bắt buộc: {', '.join(missing)}"
        for k in ("NgayNopHoSo", "NgayTiepNhan", "NgayHenTra", "NgayTra", "NgayKetThucXuLy"):
            v = record.get(k)
            if v and (len(v) != 14 or not v.isdigit()):
                return False, f"{k} sai định dạng yyyyMMddHHmmss"
        if record["TrangThaiHoSo"] not in {str(s) for s in Status.values}:
            return False, "TrangThaiHoSo không hợp lệ"
        self.received.append({"isUpdating": updating, **record})
        return True, "Thành công (mô phỏng)"


class HttpPortal:
    """The real endpoint: {"service": "DongBoHoSoMC", "isUpdating": "True"|"False",
    "data": [record]}; error_code "0" or "00" means accepted (OpenCPS, §1.2)."""

    def __init__(self, url: str, token: str = "", timeout: float = 10):
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, record: dict, updating: bool) -> tuple[bool, str]:
        body = json.dumps({"service": "DongBoHoSoMC", "isUpdating": str(updating),
                           "data": [record]}, ensure_ascii=False).encode()
        req = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            **({"Authorization": f"Bearer {self.token}"} if self.token else {})})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                answer = json.loads(resp.read().decode() or "{}")
        except (urllib.error.URLError, TimeoutError, ValueError, OSError) as exc:
            return False, f"Không kết nối được Cổng DVCQG: {exc}"
        code = str(answer.get("error_code", ""))
        return code in ("0", "00"), str(answer.get("message", ""))[:500]


_simulator = Simulator()


def adapter():
    url = getattr(settings, "CQS_PORTAL_SYNC_URL", "")
    if not url:
        return _simulator
    return HttpPortal(url, getattr(settings, "CQS_PORTAL_SYNC_TOKEN", ""),
                      float(getattr(settings, "CQS_PORTAL_SYNC_TIMEOUT", 10)))


def sync(*, limit: int = 1000, portal=None) -> dict:
    """Push the dossier events after the cursor, in order; stop at the first failure."""
    portal = portal or adapter()
    sent = failed = 0
    with transaction.atomic():
        cur = services._lock_cursor(SYNC_CURSOR)
        events = services.read_outbox(cur, limit)
        events.sort(key=lambda e: e[0])
        codes = {e[3] for e in events if e[2] == "dossiers.dossier"}
        dossiers = {d.code: d for d in Dossier.objects.filter(code__in=codes)
                    .select_related("procedure__field", "agency")
                    .prefetch_related("supplements")}
        known = dict(PortalSync.objects.filter(dossier_id__in=[d.pk for d in dossiers.values()])
                     .values_list("dossier_id", "status"))
        first_synced = []
        for event_id, _topic, kind, code, payload in events:
            d = dossiers.get(code)
            if kind != "dossiers.dossier" or d is None:
                continue
            status = int((payload or {}).get("status") or d.status)
            record = record_for(d, status)
            ok, message = portal.send(record, updating=d.pk in known)
            now = timezone.now()
            if not ok:
                failed = 1
                f, _ = PortalSyncFailure.objects.get_or_create(
                    event_id=event_id, defaults={"last_error": message, "last_at": now})
                f.attempts += 1
                f.last_error, f.last_at = message, now
                f.save()
                cur.last_id = min(cur.last_id, event_id - 1)
                cur.gaps = [g for g in cur.gaps if int(g[0]) <= cur.last_id]
                break
            PortalSyncFailure.objects.filter(event_id=event_id).delete()
            obj, created = PortalSync.objects.update_or_create(
                dossier_id=d.pk, defaults={"code": d.code, "status": status, "synced_at": now,
                                           "payload": record},
                create_defaults={"code": d.code, "status": status, "synced_at": now,
                                 "first_synced_at": now, "payload": record})
            if known.get(d.pk) in (None, 1, 3) and status not in (1, 3):
                first_synced.append(d.pk)
            known[d.pk] = status
            sent += 1
        services.apply_dossiers(first_synced)
        cur.save()
    return {"sent": sent, "failed": failed}


def mark_demo_synced(*, every: int = 50) -> int:
    """Demo data only: record the made-up dossiers (`is_demo`) that have been received as
    synchronised by the simulator, except one in `every` (so that indicator 1.4 and the
    sync factor of 3.3 look like a real province's, about 98 %), without sending ten million
    records one by one. The payload says so. Real dossiers are never touched. Returns the
    rows added; run `cqs monitoring rebuild` afterwards."""
    from django.db import connection

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {PortalSync._meta.db_table} "
            "(dossier_id, code, status, first_synced_at, synced_at, payload) "
            "SELECT id, code, status, received_at, updated_at, %s "
            "FROM dossiers_dossier WHERE is_demo AND received_at IS NOT NULL "
            "AND status NOT IN (1, 3) AND id %% %s <> 0 "
            "ON CONFLICT (dossier_id) DO NOTHING",
            [json.dumps({"mô_phỏng": "dữ liệu mẫu, coi như đã đồng bộ"}, ensure_ascii=False),
             every])
        return cur.rowcount
