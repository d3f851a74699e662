from django.urls import path

from optimization import views, views_track

app_name = "optimization"
TRACK = "t/<slug:tenant_slug>/plans/tracks/<segment:track>"
urlpatterns = [
    path(f"{TRACK}/optimization/", views.log, name="log"),
    path(f"{TRACK}/optimization/export.csv", views.log_csv, name="log_csv"),
    path(f"{TRACK}/manifest/", views_track.manifest, name="manifest"),
    path(f"{TRACK}/creative-themes/", views_track.themes, name="themes"),
    path(f"{TRACK}/manifest/pause/", views_track.hold_start, name="hold_start"),
    path(f"{TRACK}/manifest/resume/", views_track.hold_end, name="hold_end"),
    path(f"{TRACK}/drift/", views_track.drift, name="drift"),
    path(f"{TRACK}/seasonality/", views_track.seasonality, name="seasonality"),
    path(
        f"{TRACK}/seasonality/<int:pk>/remove/",
        views_track.seasonality_remove,
        name="seasonality_remove",
    ),
    path("t/<slug:tenant_slug>/onboarding/", views_track.onboarding, name="onboarding"),
    # Agents choose change-set ids; one may hold a "/", so the id is the rest of the path and
    # the page's actions post to the page itself.
    path(
        "t/<slug:tenant_slug>/change-sets/<subpath:change_set_id>/",
        views.change_set_detail,
        name="change_set",
    ),
]
