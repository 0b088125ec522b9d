"""simpleweb in headless Chromium, in front of a real api and database.

Screenshots go to test-artifacts/ (TEST_ARTIFACTS_DIR) for a person to look at.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.mariadb]

# What "loads fast" means here: the HTML, rendered after one api call, on localhost.
LOAD_BUDGET_MS = 1000


def navigation_ms(page: Any) -> dict[str, float]:
    timing: dict[str, float] = page.evaluate(
        """() => {
            const n = performance.getEntriesByType('navigation')[0];
            return {ttfb: n.responseStart - n.requestStart,
                    dom: n.domContentLoadedEventEnd - n.startTime,
                    load: n.loadEventEnd - n.startTime};
        }"""
    )
    return timing


def test_users_render_page_by_page_then_the_api_goes_down(
    database: str,
    api_env: Callable[..., dict[str, str]],
    start_server: Callable[..., Any],
    page: Any,
    artifacts: Path,
    record_property: Callable[[str, object], None],
) -> None:
    api = start_server("api_service", **api_env(database))
    web = start_server("simpleweb", API_BASE_URL=api.url, PAGE_SIZE="20")

    response = page.goto(web.url + "/")
    assert response.status == 200
    rows = page.locator("#users tbody tr")
    assert rows.count() == 20
    assert rows.first.locator("td").nth(1).inner_text() == "Ada Lovelace"
    assert rows.first.locator("td").nth(2).inner_text() == "user0001@example.com"
    assert rows.first.locator("time").get_attribute("datetime") == "2024-01-01T09:01:00+00:00"
    assert rows.first.locator("time").inner_text() == "01 Jan 2024"
    timing = navigation_ms(page)
    record_property("simpleweb_navigation_ms", timing)
    print(f"simpleweb first page timing (ms): {timing}")
    assert timing["dom"] < LOAD_BUDGET_MS, timing
    page.screenshot(path=str(artifacts / "simpleweb-users.png"), full_page=True)

    page.click("a[rel=next]")
    page.wait_for_url("**/?offset=20")
    assert rows.count() == 10
    assert rows.first.get_attribute("data-user-id") == "21"
    assert page.locator("a[rel=next]").count() == 0
    assert page.locator("a[rel=prev]").count() == 1

    api.stop()
    started = time.monotonic()
    response = page.goto(web.url + "/")
    elapsed = time.monotonic() - started
    assert response.status == 503
    alert = page.locator("#api-error")
    assert alert.is_visible()
    assert "cannot be reached" in alert.inner_text()
    assert page.locator("#users").count() == 0
    assert elapsed < 2.0, f"the error page took {elapsed:.2f}s"
    page.screenshot(path=str(artifacts / "simpleweb-api-down.png"), full_page=True)


def test_database_down_behind_a_running_api_is_explained(
    start_server: Callable[..., Any],
    api_env: Callable[..., dict[str, str]],
    closed_port: int,
    page: Any,
    artifacts: Path,
) -> None:
    api = start_server("api_service", **api_env("nothing", DB_PORT=str(closed_port)))
    web = start_server("simpleweb", API_BASE_URL=api.url)
    response = page.goto(web.url + "/")
    assert response.status == 503
    assert "cannot read its data" in page.locator("#api-error").inner_text()
    page.screenshot(path=str(artifacts / "simpleweb-database-down.png"), full_page=True)
