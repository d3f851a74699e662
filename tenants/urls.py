from django.urls import path

from tenants import views

urlpatterns = [
    path("switch-tenant/", views.tenant_switch, name="tenant_switch"),
    path("t/<slug:tenant_slug>/settings/policy/", views.tenant_policy_edit, name="tenant_policy"),
    path("t/<slug:tenant_slug>/settings/lockouts/", views.tenant_lockouts, name="tenant_lockouts"),
    path(
        "t/<slug:tenant_slug>/settings/lockouts/<int:lockout_id>/lift/",
        views.tenant_lockout_lift,
        name="tenant_lockout_lift",
    ),
]
