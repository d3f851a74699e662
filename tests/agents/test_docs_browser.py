"""The API docs in a real browser: Swagger UI renders from our own files under the strict CSP."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_render_without_a_key_a_cdn_or_a_csp_violation(page, screenshot, live_server):
    origin = urlsplit(live_server.url).netloc
    foreign, problems = [], []
    page.on(
        "request",
        lambda request: (
            urlsplit(request.url).netloc not in (origin, "")
            and not request.url.startswith("data:")
            and foreign.append(request.url)
        ),
    )
    page.on(
        "console",
        lambda message: message.type == "error" and problems.append(message.text),
    )
    page.goto("/api/v1/docs")
    expect(page.get_by_role("heading", name="Human Touch agent API")).to_be_visible()
    expect(page.get_by_text("/api/v1/audit/events").first).to_be_visible()
    screenshot("api-docs-1280")
    assert foreign == []
    assert [p for p in problems if "Content Security Policy" in p] == []
