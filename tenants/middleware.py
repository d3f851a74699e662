from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from config.middleware import is_api_call
from tenants.access import request_memberships


def _current_membership(request):
    memberships = request_memberships(request)
    wanted = request.session.get("tenant_id")
    for membership in memberships:
        if membership.tenant_id == wanted:
            return membership
    return memberships[0] if memberships else None


class CurrentTenantMiddleware:
    """request.membership / request.tenant: the tenant the person last chose (tenant switcher),
    else their first. Views under /t/<slug>/ override both with the tenant in the URL."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api_call(request):  # the API's key names the tenant (config/api.py)
            return self.get_response(request)
        request.membership = SimpleLazyObject(lambda: _current_membership(request))
        request.tenant = SimpleLazyObject(
            lambda: request.membership.tenant if request.membership else None
        )
        if request.path.startswith("/admin/") and request.user.is_authenticated:
            # Django admin reads and takes times in the current tenant's zone, as the app does
            # (a superuser in no tenant keeps UTC).
            membership = request.membership
            if membership:
                with timezone.override(ZoneInfo(membership.tenant.time_zone)):
                    return self.get_response(request)
        return self.get_response(request)
