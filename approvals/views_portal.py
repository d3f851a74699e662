from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from tenants.models import Role


@login_required
def home(request):
    """The client portal: only for people holding the client role somewhere."""
    memberships = [
        m for m in request.user.memberships.select_related("tenant") if m.role == Role.CLIENT
    ]
    if not memberships:
        raise Http404("The portal is for client users")
    return render(request, "approvals/portal/home.html", {"memberships": memberships})
