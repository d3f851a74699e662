from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from tenants.access import membership_or_404


@require_POST
@login_required
def tenant_switch(request):
    """The tenant switcher: remember the chosen tenant and go back where the person was."""
    membership = membership_or_404(request.user, request.POST.get("tenant", ""))
    request.session["tenant_id"] = membership.tenant_id
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    # A page under another tenant's /t/<slug>/ would 404 for this one: go to the dashboard.
    if target.startswith("/t/"):
        target = "/"
    return redirect(target)
