"""The two widths every page is looked at: a screenshot at 1280 px, one at 390 px (a phone),
and back to 1280 for the rest of the test."""

from __future__ import annotations


def screenshot_both_widths(page, screenshot, name: str) -> None:
    screenshot(f"{name}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(f"{name}-390")
    page.set_viewport_size({"width": 1280, "height": 900})
