from django.contrib import admin
from django.urls import include, path, register_converter

from config.api import api, api_not_found
from config.converters import SegmentConverter, SubpathConverter

# A page POST over the size limits: the product's page saying so (config/error_pages.py).
handler400 = "config.error_pages.bad_request"
# 403 and 404 in the asker's layout: the portal's for a client (tenants/error_pages.py).
handler403 = "tenants.error_pages.permission_denied"
handler404 = "tenants.error_pages.page_not_found"

# Before the includes below: their patterns use these for ids, track keys and resources.
register_converter(SegmentConverter, "segment")
register_converter(SubpathConverter, "subpath")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("api/v1/<path:rest>", api_not_found),
    path("accounts/", include("tenants.urls_accounts")),
    path("portal/reports/", include("metrics.urls_portal")),
    path("portal/", include("approvals.urls_portal")),
    path("", include("tenants.urls")),
    path("", include("notifications.urls")),
    path("", include("integrations.urls")),
    path("", include("audit.urls")),
    path("", include("approvals.urls")),
    path("", include("plans.urls")),
    path("", include("optimization.urls")),
    path("", include("agents.urls")),
    path("", include("metrics.urls")),
]
