from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from audit.actors import Actor
from tenants.access import membership_or_404, tenant_view
from tenants.compliance import compliance_profiles_in_words
from tenants.forms import TenantPolicyForm
from tenants.models import Role, TenantPolicy
from tenants.selectors import (
    login_lockout_of_tenant,
    login_lockouts_for_tenant,
    tenant_policy_history,
)
from tenants.services import login_lockout_lift, tenant_policy_update


@require_POST
@login_required
def tenant_switch(request):
    """The tenant switcher: remember the chosen tenant and go back where the person was."""
    membership = membership_or_404(request.user, request.POST.get("tenant", ""))
    request.session["tenant_id"] = membership.tenant_id
    if membership.role == Role.CLIENT:
        return redirect("portal:home")
    target = request.POST.get("next") or "/"
    # Only a path of this site is followed: anything else — another host, a scheme, or a word
    # redirect() would look up as a URL name — goes to the dashboard.
    local_path = target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    # A page under another tenant's /t/<slug>/ would 404 for this one: go to the dashboard.
    if not local_path or target.startswith("/t/"):
        target = "/"
    return HttpResponseRedirect(target)


@tenant_view(roles=[Role.ADMIN])
def tenant_policy_edit(request):
    """The tenant's policy: admins change it here; the ceilings are refused with their message."""
    policy = TenantPolicy.objects.get(tenant=request.tenant)
    form = TenantPolicyForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        changes = form.changes()
        try:
            tenant_policy_update(
                tenant=request.tenant, actor=Actor.for_user(request.user), changes=changes
            )
        except ValidationError as exc:
            # The service re-checks what the form checked; should they ever disagree, the
            # person sees the service's reason and nothing is written.
            form.add_error(None, exc)
        else:
            if changes:
                messages.success(request, f"Policy saved: {', '.join(sorted(changes))} changed.")
            else:
                messages.info(request, "Nothing changed.")
            return redirect("tenant_policy", tenant_slug=request.tenant.slug)
    context = {
        "form": form,
        "history": tenant_policy_history(tenant=request.tenant),
        "profiles": compliance_profiles_in_words(
            vertical=request.tenant.vertical, current=policy.vertical_compliance_profile
        ),
        "nav": "policy",
    }
    return render(request, "tenants/policy.html", context)


@tenant_view(roles=[Role.ADMIN])
def tenant_lockouts(request):
    """Who the login throttle keeps out (or kept out lately), with a way to let them in."""
    context = {
        "lockouts": login_lockouts_for_tenant(tenant=request.tenant),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "usernames_per_address": settings.LOGIN_USERNAMES_PER_ADDRESS,
        "cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        "nav": "lockouts",
    }
    return render(request, "tenants/lockouts.html", context)


@require_POST
@tenant_view(roles=[Role.ADMIN])
def tenant_lockout_lift(request, lockout_id: int):
    lockout = login_lockout_of_tenant(tenant=request.tenant, lockout_id=lockout_id)
    if lockout is None:  # not one of this tenant's people: as if it did not exist
        raise Http404("No such lockout")
    actor = Actor.for_user(request.user)
    if login_lockout_lift(tenant=request.tenant, lockout=lockout, actor=actor):
        messages.success(request, f"{lockout.username} may log in from {lockout.ip_address} again.")
    else:
        messages.info(request, "That lockout had already ended; nothing changed.")
    return redirect("tenant_lockouts", tenant_slug=request.tenant.slug)
