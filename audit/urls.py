from django.urls import path

from audit import views

app_name = "audit"
urlpatterns = [
    path("t/<slug:tenant_slug>/audit/", views.audit_log, name="log"),
]
