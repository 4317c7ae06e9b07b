"""Rate limits shared by every web process: per key (a scope and a client address, a
username…) a sliding-window count kept in the database (core.ThrottleCount), so that two,
ten or twenty web processes behind a load balancer see the same count. No cache is needed:
Django's default cache (LocMem) is per process and would multiply every limit by the number
of processes.

One request costs one statement: an upsert that increments the counter of the current
fixed window and returns it with the count of the window before, all atomic in the database
(`INSERT … ON CONFLICT … DO UPDATE … RETURNING`, PostgreSQL ≥ 9.5 and SQLite ≥ 3.35 alike).
The estimate is the "sliding window counter" of Cloudflare's rate limiting
(https://blog.cloudflare.com/counting-things-a-lot-of-different-things/):
    count of this window + count of the previous window × share of it still in the sliding
    window.
On PostgreSQL the table is UNLOGGED (migration core 0004): a commit that wrote only this
table does not wait for a WAL flush; the counts are lost after a crash, which is harmless.

Limits are settings of the form "N/PERIOD" (`20/15m`, `60/1m`, `10/1h`, `100/1d`); N = 0
turns a limit off (benchmarks, a trusted network).

Client address: REMOTE_ADDR; the X-Forwarded-For header only when the request comes from a
proxy listed in CQS_TRUSTED_PROXIES (addresses or networks), and then the right-most address
in it that is not a trusted proxy (the left part of the header is whatever the client sent).
IPv6 clients are counted per /64, the smallest block a subscriber is given (RFC 6177)."""

import ipaddress
import math
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import connection
from django.shortcuts import render
from django.utils import timezone

from .errors import DomainError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    limit: int  # 0: no limit
    period: int  # seconds

    @property
    def off(self) -> bool:
        return self.limit <= 0


@lru_cache(maxsize=64)
def parse_rate(text: str) -> Rate:
    """'20/15m' → 20 per 900 s; '60/m' → 60 per 60 s; '0' or '' → off."""
    text = (text or "").strip().lower()
    if not text or text == "0":
        return Rate(0, 1)
    count, _, period = text.partition("/")
    period = period or "1m"
    unit = period[-1]
    if unit not in _UNITS:
        raise ValueError(f"Giới hạn «{text}» không hợp lệ (ví dụ: 20/15m, 60/1m, 10/1h).")
    amount = int(period[:-1] or "1")
    return Rate(int(count), amount * _UNITS[unit])


def rate(setting: str) -> Rate:
    """The rate of a setting (e.g. "CQS_THROTTLE_LOOKUP"), read at each call so that tests
    and `override_settings` change it."""
    return parse_rate(str(getattr(settings, setting, "") or ""))


class Throttled(DomainError):
    status = 429
    title = "Quá nhiều yêu cầu"

    def __init__(self, detail: str | None = None, *, retry_after: int = 60, **extra):
        self.retry_after = max(1, int(retry_after))
        super().__init__(detail, **extra)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    estimate: float
    retry_after: int  # seconds, meaningful when not allowed


# --- client address -------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _trusted(spec: str) -> tuple:
    nets = []
    for part in spec.replace(" ", "").split(","):
        if part:
            nets.append(ipaddress.ip_network(part, strict=False))
    return tuple(nets)


def _is_trusted(addr: str, nets: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in nets)


def _normalise(addr: str) -> str:
    try:
        ip = ipaddress.ip_address(addr.strip())
    except ValueError:
        return addr.strip()[:64]
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def client_address(request) -> str:
    """The address a limit counts: REMOTE_ADDR, or behind a trusted proxy the last address
    of X-Forwarded-For that is not a trusted proxy."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    nets = _trusted(getattr(settings, "CQS_TRUSTED_PROXIES", "") or "")
    if nets and _is_trusted(remote, nets):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            if not _is_trusted(hop, nets):
                return _normalise(hop)
        if hops:
            return _normalise(hops[0])
    return _normalise(remote)


# --- counting -------------------------------------------------------------------------------

_UPSERT = """
INSERT INTO core_throttlecount (name, slot, count, previous) VALUES (%s, %s, %s, 0)
ON CONFLICT (name) DO UPDATE SET
  previous = CASE WHEN core_throttlecount.slot = excluded.slot
                  THEN core_throttlecount.previous
                  WHEN core_throttlecount.slot = excluded.slot - %s
                  THEN core_throttlecount.count ELSE 0 END,
  count = CASE WHEN core_throttlecount.slot = excluded.slot
               THEN core_throttlecount.count + excluded.count ELSE excluded.count END,
  slot = excluded.slot
RETURNING count, previous
"""


def _key(scope: str, ident: str) -> str:
    return f"{scope}:{ident}"[:200]


def _window(r: Rate, now: float) -> int:
    """The start (epoch seconds) of the fixed window `now` falls in."""
    return int(now // r.period) * r.period


def _decide(r: Rate, now: float, slot: int, count: int, previous: int) -> Decision:
    elapsed = now - slot
    share = max(0.0, 1.0 - elapsed / r.period)
    estimate = count + previous * share
    if estimate <= r.limit:
        return Decision(True, estimate, 0)
    if count > r.limit:
        # Over the limit within this window alone: after it ends, the previous window (this
        # one) still weighs; wait until its share has fallen enough.
        wait = (r.period - elapsed) + r.period * (1 - r.limit / count)
    else:
        # previous × (1 − (elapsed + t)/period) + count ≤ limit
        wait = r.period * (1 - (r.limit - count) / previous) - elapsed
    return Decision(False, estimate, max(1, math.ceil(wait)))


def hit(scope: str, ident: str, r: Rate, cost: int = 1) -> Decision:
    """Count one request (or failure) of the key and say whether it is within the rate.
    One statement; the request is counted even when refused (a client that keeps knocking
    stays refused)."""
    if r.off:
        return Decision(True, 0.0, 0)
    sql, params, decide = counting(scope, ident, r, cost)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return decide(*cur.fetchone())


def counting(scope: str, ident: str, r: Rate, cost: int = 1):
    """hit() in parts, for a caller that runs the count inside its own statement (on
    PostgreSQL a data-modifying WITH: one round trip for the count and the read it guards):
    (the upsert returning count and previous, its parameters, decide(count, previous))."""
    now = timezone.now().timestamp()
    slot = _window(r, now)
    return (_UPSERT, [_key(scope, ident), slot, cost, r.period],
            lambda count, previous: _decide(r, now, slot, count, previous))


def refuse(d: Decision, message: str) -> None:
    """Raise Throttled (429) with `message` when the decision is a refusal."""
    if not d.allowed:
        raise Throttled(f"{message} {wait_text(d.retry_after)}", retry_after=d.retry_after)


def peek(scope: str, ident: str, r: Rate) -> Decision:
    """The decision for the key's next request, without counting it (one indexed read)."""
    if r.off:
        return Decision(True, 0.0, 0)
    now = timezone.now().timestamp()
    slot = _window(r, now)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT slot, count, previous FROM core_throttlecount WHERE name = %s",
            [_key(scope, ident)],
        )
        row = cur.fetchone()
    if row is None:
        return Decision(True, 0.0, 0)
    s, count, previous = row
    if s == slot:
        return _decide(r, now, slot, count + 1, previous)
    if s == slot - r.period:
        return _decide(r, now, slot, 1, count)
    return Decision(True, 0.0, 0)


def refund(scope: str, ident: str, r: Rate, cost: int = 1) -> None:
    """Give back a counted request (e.g. a sign-in attempt that succeeded)."""
    if r.off:
        return
    slot = _window(r, timezone.now().timestamp())
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE core_throttlecount SET count = count - %s "
            "WHERE name = %s AND slot = %s AND count >= %s",
            [cost, _key(scope, ident), slot, cost],
        )


def check(scope: str, ident: str, r: Rate, message: str) -> None:
    """Count one request; raise Throttled (429) with `message` when it is over the rate."""
    refuse(hit(scope, ident, r), message)


def wait_text(seconds: int) -> str:
    if seconds < 60:
        return f"Vui lòng thử lại sau {seconds} giây."
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"Vui lòng thử lại sau {minutes} phút."
    return f"Vui lòng thử lại sau {math.ceil(minutes / 60)} giờ."


def purge(*, older_than_seconds: int = 2 * 86400) -> int:
    """Delete counters not touched for a while (a periodic job: `cqs throttle purge`)."""
    horizon = timezone.now().timestamp() - older_than_seconds
    with connection.cursor() as cur:
        cur.execute("DELETE FROM core_throttlecount WHERE slot < %s", [int(horizon)])
        return cur.rowcount


# --- responses ------------------------------------------------------------------------------


def with_retry_after(response, exc: Throttled):
    response["Retry-After"] = str(exc.retry_after)
    return response


def throttled_page(request, exc: Throttled, template: str = "429.html", context=None):
    """The Vietnamese 429 page of the HTML side, with Retry-After."""
    ctx = {"message": exc.detail, "retry_after": exc.retry_after, **(context or {})}
    return with_retry_after(render(request, template, ctx, status=429), exc)


def check_request(request, scope: str, setting: str, message: str) -> None:
    """Count one request of the client address under `scope` against the rate of `setting`;
    raise Throttled (429) over it. One statement (the upsert of hit())."""
    check(scope, client_address(request), rate(setting), message)
