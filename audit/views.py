from django.shortcuts import render

from audit.selectors import audit_events_for_tenant
from tenants.access import tenant_view


@tenant_view()
def audit_log(request):
    events = audit_events_for_tenant(tenant=request.tenant)[:50]
    return render(request, "audit/log.html", {"events": events, "nav": "audit"})
