from django.urls import path

from tenants import views

urlpatterns = [
    path("switch-tenant/", views.tenant_switch, name="tenant_switch"),
]
