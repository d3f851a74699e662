from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from tenants.models import INTERNAL_ROLES


@login_required
def dashboard(request):
    """The Human Touch Dashboard. A person who is only ever a client belongs in the portal."""
    membership = request.membership
    if not membership:
        return render(request, "approvals/no_tenant.html", status=403)
    if membership.role not in INTERNAL_ROLES:
        internal = [m for m in request.user.memberships.all() if m.role in INTERNAL_ROLES]
        if not internal:
            return redirect("portal:home")
        request.session["tenant_id"] = internal[0].tenant_id
        return redirect("dashboard")
    return render(request, "approvals/dashboard.html", {"nav": "dashboard"})
