from django.urls import path

from approvals import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
