from django.urls import path

from metrics import views

app_name = "metrics"
urlpatterns = [
    path("metrics/", views.all_metrics, name="all"),
    path("metrics/<slug:key>.csv", views.all_metric_csv, name="all_csv"),
    path("t/<slug:tenant_slug>/metrics/", views.tenant_metrics, name="tenant"),
    path("t/<slug:tenant_slug>/metrics/<slug:key>.csv", views.tenant_metric_csv, name="tenant_csv"),
    path("t/<slug:tenant_slug>/plans/tracks/<segment:track>/weekly/", views.weekly, name="weekly"),
    path(
        "t/<slug:tenant_slug>/plans/tracks/<segment:track>/weekly.csv",
        views.weekly_csv,
        name="weekly_csv",
    ),
    path("exports/inbox.csv", views.inbox_csv, name="inbox_csv"),
]
