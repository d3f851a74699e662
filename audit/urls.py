from django.urls import path

from audit import views

app_name = "audit"
urlpatterns = [
    path("t/<slug:tenant_slug>/audit/", views.audit_log, name="log"),
    path("t/<slug:tenant_slug>/audit/export.csv", views.audit_export_csv, name="export_csv"),
    path("t/<slug:tenant_slug>/audit/export.jsonl", views.audit_export_jsonl, name="export_jsonl"),
    path("t/<slug:tenant_slug>/audit/checkpoints/", views.audit_checkpoints, name="checkpoints"),
    path(
        "t/<slug:tenant_slug>/audit/checkpoints/verify_checkpoint.py",
        views.audit_verifier_tool,
        name="verifier_tool",
    ),
    path(
        "t/<slug:tenant_slug>/audit/checkpoints/<int:size>.checkpoint",
        views.audit_checkpoint_download,
        name="checkpoint",
    ),
    path(
        "t/<slug:tenant_slug>/audit/<segment:resource_type>/<subpath:resource_id>/",
        views.audit_resource_trail,
        name="trail",
    ),
]
