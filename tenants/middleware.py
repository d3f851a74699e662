from django.utils.functional import SimpleLazyObject

from config.middleware import is_api_call
from tenants.access import memberships_of


def _current_membership(request):
    memberships = list(memberships_of(request.user))
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
        return self.get_response(request)
