from django.urls import path

from approvals import views, views_assign, views_bulk

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("tickets/<segment:public_id>/", views.ticket_detail, name="ticket"),
    path("tickets/<segment:public_id>/decide/", views.ticket_decision, name="ticket_decide"),
    path("tickets/<segment:public_id>/comments/", views.ticket_comment, name="ticket_comment"),
    path(
        "tickets/<segment:public_id>/assign/",
        views_assign.ticket_assignment,
        name="ticket_assign",
    ),
    path("bulk/", views_bulk.bulk_confirm, name="bulk_confirm"),
    path("bulk/decide/", views_bulk.bulk_decide, name="bulk_decide"),
]
