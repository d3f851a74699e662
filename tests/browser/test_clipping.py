"""Nothing is cut off (issue 18 item 2): on the demo world, every role walks the pages it can reach
at 1280 and 390 px, and no table cell, table header or tab may be clipped — wider than its own
box, or reaching past a box that hides the overflow — unless it sits in a container that scrolls
(which shows a scroll affordance, static/css/app.css "Tables that scroll"). A money column lost
off the right edge of a phone, or a change-set id cut to "demo-13-targ…", fails here.

The walk follows the links each page shows, one page per kind of address (ids folded: one ticket
page, one run page, …). Staff roles share most pages: a kind one staff role has walked is walked
again by another only as its start page, so the test stays near two minutes in CI."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from tenants.demo import DEMO_PASSWORD, USERS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# One login per role: a second planner sees what the first one does.
ROLE_LOGINS = list({role: username for username, _slug, role in reversed(USERS)}.values())
PAGES_PER_ROLE = 24
SKIP = re.compile(
    r"^/(admin|api|accounts/logout|static)/|\.(csv|jsonl|json|pdf|txt)$|/export|/download|/proof"
)
WIDTHS = (1280, 390)

# The clipped elements of the page, as "selector text: why" lines.
FIND_CLIPPED = """
(wide) => {
  const scrolls = (el) => {
    const s = getComputedStyle(el);
    return ["auto", "scroll"].includes(s.overflowX);
  };
  const hides = (el) => ["hidden", "clip"].includes(getComputedStyle(el).overflowX);
  const viewport = document.documentElement.clientWidth;
  const name = (el) => `${el.tagName.toLowerCase()} "${(el.innerText || "").trim().slice(0, 40)}"`;
  const found = [];
  const cells = document.querySelectorAll(
    "main td, main th, main [role=tab], main .tabs a, main nav.tabs a, main .track-tabs a"
  );
  for (const el of cells) {
    if (!el.offsetParent && getComputedStyle(el).position !== "fixed") continue;  // not shown
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (el.scrollWidth > el.clientWidth + 1 && !scrolls(el) && hides(el)) {
      found.push(`${name(el)}: its text is cut (${el.scrollWidth} > ${el.clientWidth} px)`);
      continue;
    }
    let inScroller = false;
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (scrolls(a) && a.scrollWidth > a.clientWidth + 1) {
        inScroller = true;
        const edge = a.getBoundingClientRect();
        const hidden = box.right > edge.right + 1 || box.left < edge.left - 1;
        if (hidden && wide) {
          found.push(`${name(el)}: needs a sideways scroll at ${window.innerWidth} px`);
        } else if (hidden && !a.classList.contains("table-wrap")) {
          found.push(`${name(el)}: scrolls out of sight with no sign that it scrolls`);
        }
        break;
      }
      if (hides(a)) {
        const edge = a.getBoundingClientRect();
        if (box.right > edge.right + 1 || box.left < edge.left - 1) {
          found.push(`${name(el)}: cut by a box that hides overflow`);
        }
        break;
      }
    }
    if (!inScroller && box.right > viewport + 1) {
      found.push(`${name(el)}: past the right edge of the screen (${Math.round(box.right)} px)`);
    }
  }
  return found;
}
"""


FOLD_AFTER = {"tracks", "runs", "v", "items", "tickets", "reports", "change-sets"}


def kind_of(path: str) -> str:
    """The address with its ids and names folded: /tickets/A5-7Q2/ and /tickets/A3-9X1/ are one
    kind, and so are the pages of two tracks."""
    parts = path.split("/")
    folded = [
        "<id>"
        if re.search(r"\d", part)
        or (i and parts[i - 1] in FOLD_AFTER)
        or (i > 1 and parts[i - 2] == "reports")
        else part
        for i, part in enumerate(parts)
    ]
    return "/".join(folded)


def links_on(page) -> list[str]:
    hrefs = page.eval_on_selector_all(
        "a[href]:not([download])", "els => els.map(e => e.getAttribute('href'))"
    )
    paths = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            continue
        if SKIP.search(parts.path):
            continue
        paths.append(parts.path)
    return paths


def test_no_table_cell_or_tab_is_clipped_on_any_page_of_any_role(browser, live_server):
    call_command("seed_demo")
    problems: dict[str, None] = {}  # ordered, without repeats
    staff_kinds: set[str] = set()
    for username in ROLE_LOGINS:
        is_client = {u: r for u, _s, r in USERS}[username] == "client"
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, base_url=live_server.url
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        queue = [urlsplit(page.url).path]
        seen_kinds: set[str] = set() if is_client else set(staff_kinds)
        visited = 0
        while queue and visited < PAGES_PER_ROLE:
            path = queue.pop(0)
            if kind_of(path) in seen_kinds and visited:
                continue
            seen_kinds.add(kind_of(path))
            page.set_viewport_size({"width": 1280, "height": 900})
            response = page.goto(path)
            visited += 1
            if response is None or response.status >= 400:
                continue  # a link this role may not follow: the authorization tests cover it
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                for problem in page.evaluate(FIND_CLIPPED, width >= 1280):
                    problems[f"{path} @{width}px: {problem} ({username})"] = None
            queue.extend(p for p in links_on(page) if kind_of(p) not in seen_kinds)
        context.close()
        if not is_client:
            staff_kinds |= seen_kinds
        assert visited >= 1, f"{username} reached no page"
    assert len(staff_kinds) > 15, f"the walk reached only {sorted(staff_kinds)}"
    assert not problems, "\n".join(problems)
