"""Read side of the directory."""

from chinhquyenso.core.text import fold

from .models import Agency


def search_agencies(q: str = "", *, kind: str | None = None) -> list[Agency]:
    """Active agencies whose name contains every word of `q`, diacritics ignored (a province
    has a few hundred agencies: filtered in memory)."""
    qs = Agency.objects.filter(active=True).select_related("unit").order_by("kind", "name")
    if kind:
        qs = qs.filter(kind=kind)
    words = fold(q).split()
    return [a for a in qs if all(w in fold(f"{a.name} {a.code}") for w in words)]


def api_tokens(*, username: str | None = None, live_only: bool = True) -> list:
    """API tokens for `cqs token list` (never the token itself: it is not stored), newest
    first; live ones only unless asked (not revoked, not expired)."""
    from django.utils import timezone

    from .models import ApiToken

    qs = ApiToken.objects.select_related("user").order_by("-created_at", "-pk")
    if username:
        qs = qs.filter(user__username=username)
    if live_only:
        qs = qs.filter(revoked=False, expires_at__gt=timezone.now())
    return list(qs[:1000])
