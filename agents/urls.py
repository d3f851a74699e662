from django.urls import path

from agents import views

app_name = "agents"
urlpatterns = [
    path("t/<slug:tenant_slug>/runs/", views.runs, name="runs"),
    path("t/<slug:tenant_slug>/runs/export.csv", views.runs_csv, name="runs_csv"),
    # Agents choose run ids and one may hold a "/": the id is the rest of the path, and the
    # page's actions post to the page itself.
    path("t/<slug:tenant_slug>/runs/<subpath:run_id>/", views.run_detail, name="run"),
]
