"""The one tenant-scoping and permission helper every selector and view uses.

A row of a tenant the person is not a member of is a 404, never a 403: a 403 would tell them it
exists. Inside their own tenant, a role that may not do something gets a 403.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from tenants.models import INTERNAL_ROLES, Membership, Role, Tenant


def memberships_of(user) -> QuerySet[Membership]:
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.filter(user=user).select_related("tenant").order_by("tenant__name")


def request_memberships(request: HttpRequest) -> list[Membership]:
    """memberships_of(request.user), read once per request and kept on it: the middleware's
    current tenant, the context processor's tenant switcher and the views that list the
    person's tenants share the one query. Kept per user: a sign-in within the request reads
    afresh."""
    user = request.user
    kept = getattr(request, "_memberships", None)
    if kept is None or kept[0] != user.pk:
        kept = request._memberships = (user.pk, list(memberships_of(user)))
    return kept[1]


def tenant_ids_for(user, *, roles: Iterable[str] | None = None) -> QuerySet:
    memberships = memberships_of(user)
    if roles is not None:
        memberships = memberships.filter(role__in=list(roles))
    return memberships.values("tenant_id")


def scope_to_user(
    qs: QuerySet, user, *, roles: Iterable[str] | None = None, field: str = "tenant"
) -> QuerySet:
    """Only the rows of tenants where `user` holds a membership (with one of `roles`, if given)."""
    return qs.filter(**{f"{field}__in": tenant_ids_for(user, roles=roles)})


def get_for_user_or_404(qs: QuerySet, user, *, field: str = "tenant", **lookup):
    try:
        return scope_to_user(qs, user, field=field).get(**lookup)
    except qs.model.DoesNotExist as exc:
        raise Http404 from exc


def membership_or_404(user, tenant: Tenant | str) -> Membership:
    if isinstance(tenant, str) and "\x00" in tenant:
        # A posted slug with NUL names no tenant, and PostgreSQL can't even compare it.
        raise Http404("No such tenant")
    lookup = {"tenant__slug": tenant} if isinstance(tenant, str) else {"tenant": tenant}
    membership = memberships_of(user).filter(**lookup).first()
    if membership is None:
        raise Http404("No such tenant")
    return membership


# The order people think of the roles in: who drafts, who runs, who checks, who administers.
ROLE_ORDER = [Role.PLANNER, Role.OPERATOR, Role.LEGAL, Role.ADMIN, Role.CLIENT]


def roles_in_words(roles: Iterable[str]) -> str:
    """ "the admin role", "the operator or admin role", "a staff role (planner, operator, legal
    or admin)" — what a refusal says a page needs."""
    allowed = set(roles)
    names = [str(role) for role in ROLE_ORDER if role in allowed] + sorted(
        str(role) for role in allowed - set(ROLE_ORDER)
    )
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    if allowed == set(INTERNAL_ROLES):
        return f"a staff role ({listed})"
    if len(names) <= 2:
        return f"the {listed} role"
    return f"one of the {listed} roles"


def require_role(membership: Membership, roles: Iterable[str]) -> None:
    """A 403 that names, in a sentence, the role the page needs and the one the person holds."""
    allowed = set(roles)
    if membership.role not in allowed:
        raise PermissionDenied(
            f"This needs {roles_in_words(allowed)}; you hold the {membership.role} role in "
            f"{membership.tenant.name}."
        )


def tenant_view(roles: Iterable[str] = INTERNAL_ROLES) -> Callable:
    """Decorate a view taking `tenant_slug`: sets request.tenant and request.membership.

    Not a member of that tenant → 404; a member without one of `roles` → 403. The view runs
    with the tenant's time zone active.
    """
    allowed = frozenset(roles)

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, tenant_slug: str, *args, **kwargs):
            membership = membership_or_404(request.user, tenant_slug)
            require_role(membership, allowed)
            request.tenant = membership.tenant
            request.membership = membership
            # The tenant in the URL becomes the current one (written only when it changes, so
            # browsing a tenant's pages does not save the session on every request).
            if request.session.get("tenant_id") != membership.tenant_id:
                request.session["tenant_id"] = membership.tenant_id
            # Dates on the tenant's pages read in the tenant's time zone.
            with timezone.override(ZoneInfo(membership.tenant.time_zone)):
                return view(request, *args, **kwargs)

        return wrapper

    return decorator


def client_only(view):
    """A client portal view: for people holding the client role somewhere; anyone else gets a
    404, as if the portal did not exist."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.memberships.filter(role=Role.CLIENT).exists():
            raise Http404("The portal is for client users")
        return view(request, *args, **kwargs)

    return wrapper


def internal_only(view):
    """A tenant-free dashboard view (bulk decisions): for people holding an internal role
    somewhere; a client, or anyone with no such membership, gets a 404 before the view reads
    anything it was sent."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not any(m.role in INTERNAL_ROLES for m in request_memberships(request)):
            raise Http404("The dashboard is for the tenant's people")
        return view(request, *args, **kwargs)

    return wrapper
