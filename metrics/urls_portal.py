from django.urls import path

from metrics import views

app_name = "portal_reports"
urlpatterns = [
    path("", views.portal_reports, name="list"),
    path("<slug:tenant>/<segment:track>/", views.portal_report, name="report"),
]
