from tenants.access import request_memberships


def tenancy(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = request.membership or None
    return {
        "current_membership": membership,
        "current_tenant": membership.tenant if membership else None,
        "all_memberships": request_memberships(request),
    }
