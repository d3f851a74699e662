from django.urls import path

from approvals import views_portal

app_name = "portal"
urlpatterns = [
    path("", views_portal.home, name="home"),
]
