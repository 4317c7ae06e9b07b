from chinhquyenso.core.notify import unread_count


def portal(request):
    """The unread-message count in the citizen's menu (one indexed count per page)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and getattr(user, "is_applicant", False):
        return {"unread": unread_count(user)}
    return {}
