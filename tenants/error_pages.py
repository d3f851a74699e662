"""The 403 and 404 pages (config/urls.py `handler403`, `handler404`), chosen by who is asking.

A person who holds only the client role lives in the client portal: their refusals and missing
pages come in the portal's layout and words, with no staff menu (whose every link would be
another 403) and no talk of staff roles. Everyone else gets the dashboard's layout, where a 403
names the role the page needs (tenants/access.py `require_role`).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenants.models import INTERNAL_ROLES


def is_portal_person(request: HttpRequest) -> bool:
    """Signed in, a member somewhere, and nowhere with a staff role."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    roles = set(user.memberships.values_list("role", flat=True))
    return bool(roles) and not roles & set(INTERNAL_ROLES)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_portal_person(request):
        return render(request, "errors/portal_403.html", status=403)
    return render(request, "403.html", {"exception": str(exception or "")}, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    template = "errors/portal_404.html" if is_portal_person(request) else "404.html"
    return render(request, template, {"request_path": request.path}, status=404)
