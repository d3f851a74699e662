from django.urls import path

from agents import views

app_name = "agents"
urlpatterns = [
    path("t/<slug:tenant_slug>/runs/", views.runs, name="runs"),
]
