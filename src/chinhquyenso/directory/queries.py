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
