from django.urls import path

from approvals import views_portal

app_name = "portal"
urlpatterns = [
    path("", views_portal.home, name="home"),
    path("history/", views_portal.history, name="history"),
    path("items/<segment:public_id>/", views_portal.item, name="item"),
    path("items/<segment:public_id>/decide/", views_portal.item_decide, name="item_decide"),
    path("proofs/", views_portal.proofs, name="proofs"),
    path("proofs/verify_checkpoint.py", views_portal.proof_tool, name="proof_tool"),
    path("proofs/<slug:tenant>/checkpoint", views_portal.proof_checkpoint, name="proof_checkpoint"),
    path("proofs/<slug:tenant>/<int:seq>.json", views_portal.proof_download, name="proof"),
]
