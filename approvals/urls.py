from django.urls import path

from approvals import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("tickets/<segment:public_id>/", views.ticket_detail, name="ticket"),
    path("tickets/<segment:public_id>/decide/", views.ticket_decision, name="ticket_decide"),
    path("tickets/<segment:public_id>/comments/", views.ticket_comment, name="ticket_comment"),
]
