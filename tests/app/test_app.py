"""The app shell: pages, navbar, health check, cache set-up, ids."""
import dash
import pytest

from callbacks import context
from components import ids
from data.settings import get_settings


def test_pages_are_registered(dash_app):
    paths = {page["path"] for page in dash.page_registry.values()}
    assert {"/", "/pathways", "/model", "/worklist", "/patient", "/scenarios"} <= paths


def test_navbar_links_every_page_including_scenarios(dash_app):
    layout = str(dash_app.layout)
    for link_id in ids.NAV_LINKS.values():
        assert link_id in layout
    scenarios = _find(dash_app.layout, ids.NAV_LINKS["/scenarios"])
    assert getattr(scenarios, "disabled", None) is not True
    assert scenarios.href == "/scenarios"
    assert "coming soon" not in layout


def _find(component, component_id):
    if getattr(component, "id", None) == component_id:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and hasattr(child, "children"):
            found = _find(child, component_id)
            if found is not None:
                return found
    return None


def test_healthz_reports_ready(dash_app, app_data):
    response = dash_app.server.test_client().get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["patients"] == len(app_data.cohort_frame)


def test_healthz_is_503_until_data_is_loaded(dash_app, monkeypatch):
    monkeypatch.setattr(context, "_current", None)
    response = dash_app.server.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "loading"


def test_pages_render(admin_client):
    client = admin_client
    assert client.get("/").status_code == 200
    assert client.get("/_dash-layout").status_code == 200


def test_cache_is_on_disk_by_default_and_redis_when_configured(monkeypatch):
    config = context.cache_config(get_settings())
    assert config["CACHE_TYPE"] == "FileSystemCache"
    assert config["CACHE_DIR"] == str(get_settings().cache_dir)
    monkeypatch.setenv("REDIS_URL", "redis://localhost:6379/0")
    config = context.cache_config(get_settings())
    assert config["CACHE_TYPE"] == "RedisCache"
    assert config["CACHE_REDIS_URL"] == "redis://localhost:6379/0"


def test_derived_tables_are_kept_on_disk_for_other_workers(dash_app, app_data):
    from ml.workspace import read_table

    folder = get_settings().cache_dir / "workspace" / app_data.workspace.key
    journeys = read_table(folder / "journeys.parquet")
    assert len(journeys) == len(app_data.cohort_frame)
    assert app_data.workspace.key.startswith(app_data.fingerprint)


def test_fingerprint_changes_with_the_data(small_dataset, app_data):
    from dataclasses import replace

    changed = replace(small_dataset, patients=small_dataset.patients.iloc[1:])
    assert context.dataset_fingerprint(changed) != app_data.fingerprint
    assert context.dataset_fingerprint(small_dataset) == app_data.fingerprint


def test_component_ids_are_unique():
    values = [v for k, v in vars(ids).items() if k.isupper() and isinstance(v, str)]
    values += list(ids.NAV_LINKS.values())
    assert len(values) == len(set(values))


def test_overview_metrics_live_in_data_cohorts_only():
    import importlib.util

    assert importlib.util.find_spec("callbacks.overview_metrics") is None


@pytest.mark.parametrize("module", ["components.figures", "data.cohort_filter", "data.cohorts"])
def test_pure_modules_do_not_import_dash(module):
    import importlib
    import inspect

    source = inspect.getsource(importlib.import_module(module))
    assert "import dash" not in source and "from dash" not in source
