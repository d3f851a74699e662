from django.urls import path

from plans import views

app_name = "plans"
urlpatterns = [
    path("t/<slug:tenant_slug>/plans/", views.overview, name="overview"),
    path("t/<slug:tenant_slug>/plans/tracks/start/", views.track_start, name="track_start"),
    path("t/<slug:tenant_slug>/plans/tracks/<segment:track>/", views.timeline, name="timeline"),
    path(
        "t/<slug:tenant_slug>/plans/tracks/<segment:track>/new/", views.draft_new, name="draft_new"
    ),
    path(
        "t/<slug:tenant_slug>/plans/tracks/<segment:track>/verdict/", views.verdict, name="verdict"
    ),
    path("t/<slug:tenant_slug>/plans/v/<int:number>/", views.version_detail, name="version"),
    path("t/<slug:tenant_slug>/plans/v/<int:number>/edit/", views.version_edit, name="edit"),
    path("t/<slug:tenant_slug>/plans/v/<int:number>/submit/", views.version_submit, name="submit"),
    path(
        "t/<slug:tenant_slug>/plans/v/<int:number>/withdraw/",
        views.version_withdraw,
        name="withdraw",
    ),
    path(
        "t/<slug:tenant_slug>/plans/v/<int:number>/discard/",
        views.version_discard,
        name="discard",
    ),
    path(
        "t/<slug:tenant_slug>/plans/v/<int:number>/envelope/",
        views.version_envelope,
        name="envelope",
    ),
    path(
        "t/<slug:tenant_slug>/plans/v/<int:number>/carry-forward/",
        views.version_carry_forward,
        name="carry_forward",
    ),
    path("t/<slug:tenant_slug>/plans/compare/", views.compare, name="compare"),
]
