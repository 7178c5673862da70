"""The demo SPA driven as a person would: fill a form, press its button, and read the status line
once the action it started is over (the browser tests and screenshot.py both drive it so)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

# main.js marks the status line busy from a click until the action's outcome is shown.
BUSY = re.compile(r"\bbusy\b")
STATUS = '[data-field="status"]'


def press(page: Page, selector: str) -> str:
    """Click the control at `selector`; when the action it started is over, the status line it
    left. (The click's handler marks the status busy before it returns.)"""
    page.locator(selector).click()
    status = page.locator(STATUS)
    expect(status).not_to_have_class(BUSY)
    return status.inner_text()


def submit(page: Page, form: str, values: dict[str, str]) -> str:
    """Fill the form `form` (its id) with `values` (by input name), submit it: as press()."""
    for name, value in values.items():
        page.locator(f"#{form} [name={name}]").fill(value)
    return press(page, f"#{form} button")
