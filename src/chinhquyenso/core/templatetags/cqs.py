"""Template filters shared by every screen."""

from django import template

register = template.Library()


@register.filter
def vnd(amount) -> str:
    """An amount of đồng as Vietnamese write it: 1.500.000 đồng."""
    try:
        value = int(amount)
    except (TypeError, ValueError):
        return ""
    return f"{value:,} đồng".replace(",", ".")
