from django.shortcuts import render

from tenants.access import tenant_view


@tenant_view()
def runs(request):
    """Agent runs of the tenant. Runs are recorded through the agent API in a later release;
    until then the page says what it will show rather than an empty table."""
    return render(request, "agents/runs.html", {"nav": "runs"})
