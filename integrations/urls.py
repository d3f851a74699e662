from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("t/<slug:tenant_slug>/settings/webhooks/", views.webhooks, name="webhooks"),
    path(
        "t/<slug:tenant_slug>/settings/webhooks/<int:endpoint_id>/",
        views.webhook,
        name="webhook",
    ),
    path(
        "t/<slug:tenant_slug>/settings/webhooks/<int:endpoint_id>/do/",
        views.webhook_action,
        name="webhook_action",
    ),
    path("t/<slug:tenant_slug>/settings/slack/", views.slack_settings, name="slack"),
    path("integrations/slack/link/<str:token>/", views.slack_link, name="slack_link"),
    path("integrations/slack/interactions/", views.slack_interactions, name="slack_interactions"),
]
