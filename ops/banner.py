"""What `make run` prints once the web server and the cluster start (bin/run): where the product
is, every demo login — read from the demo world's own list (tenants/demo.py), so the banner can't
drift from what `seed_demo` creates — and where development mail goes."""

from __future__ import annotations

from django.conf import settings

from tenants import demo as tenants_demo


def run_banner(*, url: str) -> str:
    url = url.rstrip("/") + "/"
    tenant_names = {spec["slug"]: spec["name"] for spec in tenants_demo.TENANTS}
    width = max(len(username) for username, _, _ in tenants_demo.USERS)
    lines = [
        f"  Human Touch is running at {url}",
        f"  (client portal {url}portal/, Django admin {url}admin/)",
        "",
        f"  Demo logins (password {tenants_demo.DEMO_PASSWORD}):",
    ]
    for username, slug, role in tenants_demo.USERS:
        where = tenant_names.get(slug, slug)
        extra = " · Django admin for this tenant" if username in tenants_demo.STAFF_USERS else ""
        lines.append(f"    {username.ljust(width)}  {role.label.lower()} in {where}{extra}")
    lines += [
        "",
        "  The demo has no superuser (make one: .venv/bin/python manage.py createsuperuser).",
        "",
        f"  Mail the app sends: {mail_destination()}",
        "  Ctrl-C stops the web server and the django-q2 cluster.",
    ]
    return "\n".join(lines)


def mail_destination() -> str:
    backend = settings.EMAIL_BACKEND
    if backend.endswith("filebased.EmailBackend"):
        return f"one file per message in {settings.EMAIL_FILE_PATH}/"
    if backend.endswith("console.EmailBackend"):
        return "printed in this terminal"
    if backend.endswith("locmem.EmailBackend"):
        return "kept in memory (tests)"
    return f"sent through {backend}"
