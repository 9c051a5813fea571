"""Browser tests sign in first: ``dash_duo.start_server(dash_app)`` starts the server, signs in
through the /login form as an admin (who sees every site), then opens the app as before.

Existing and new browser tests keep calling ``dash_duo.start_server`` as they always did.
"""
from __future__ import annotations

import pytest

E2E_USER = "e2e-admin"
E2E_PASSWORD = "e2e-browser-password"


@pytest.fixture(scope="session")
def e2e_user(dash_app):
    from app.access import current_store

    users = current_store().users
    return users.get(E2E_USER) or users.add(E2E_USER, "admin", E2E_PASSWORD)


def sign_in(duo, base_url: str, username: str = E2E_USER, password: str = E2E_PASSWORD) -> None:
    """Fill in and submit the sign-in form, as a person would."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    driver = duo.driver
    driver.get(base_url + "/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 30).until(expected_conditions.url_changes(base_url + "/login"))
    if "/login" in driver.current_url:
        raise AssertionError(f"signing in as {username} failed: {driver.find_element(By.TAG_NAME, 'main').text}")


@pytest.fixture
def dash_duo(dash_duo, e2e_user):
    original = dash_duo.start_server

    def start_server(app, navigate=True, **kwargs):
        original(app, navigate=False, **kwargs)
        sign_in(dash_duo, dash_duo.server.url)
        if navigate:
            dash_duo.server_url = dash_duo.server.url  # opens the app and waits for it, as dash does

    dash_duo.start_server = start_server
    return dash_duo


@pytest.fixture(scope="session")
def busy_app(tmp_path_factory):
    """(base URL, API token) of a served app with over 1,000 patients on its Worklist (gunicorn,
    two workers): large exports, and a truth check slow enough to show its progress."""
    from tests.busy_server import served_busy_app

    with served_busy_app(tmp_path_factory.mktemp("busy")) as served:
        yield served
