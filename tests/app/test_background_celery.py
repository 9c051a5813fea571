"""The Celery path of app.background (CAREPATH_CELERY_BROKER_URL): the same jobs, handed to a
Celery worker with the requester's principal as plain JSON data, keep to that user's sites.
Run eagerly on Celery's in-memory broker and result store, so no Redis is needed here."""
from __future__ import annotations

import base64
import io

import pandas as pd


def test_celery_job_acts_for_the_requester_and_keeps_to_their_sites(dash_app, app_data):
    from dash.background_callback.managers import BaseBackgroundCallbackManager

    from app.background import CELERY_BROKER_ENV, CELERY_RESULTS_ENV, celery_manager, make_manager
    from callbacks.jobs import PRINCIPAL_NAMESPACE
    from callbacks.worklist import export_job, worklist_view
    from data.settings import get_settings

    manager = celery_manager("memory://", "cache+memory://")
    manager.celery_app.conf.task_always_eager = True
    key = next(k for k, fn, _ in BaseBackgroundCallbackManager.functions if fn is export_job)
    assert manager.celery_app.tasks[f"background_callback_{key}"]  # every background callback is a task

    site = app_data.sites[0]
    principal = {"username": "t-celery", "role": "coordinator", "sites": [site], "via": "session"}
    result_key = "t-celery-export"
    task = manager.call_job_fn(result_key, manager.func_registry[key], [1, "", "all", "risk", False, None, None],
                               {"custom_data": {PRINCIPAL_NAMESPACE: principal}})
    download, note = manager.get_result(result_key, task)
    content = base64.b64decode(download["content"]).decode() if download.get("base64") else download["content"]
    exported = list(pd.read_csv(io.StringIO(content), dtype=str)["Patient"])
    sites = app_data.dataset.patients.set_index("patient_id").loc[exported, "site"].astype(str)
    everyone = [row["patient_id"] for row in worklist_view("", "all", "risk").rows]
    assert note is None and exported and set(sites) == {site} and len(exported) < len(everyone)

    # The setting picks Celery; without it, the diskcache folder.
    import os

    os.environ.update({CELERY_BROKER_ENV: "memory://", CELERY_RESULTS_ENV: "cache+memory://"})
    try:
        assert type(make_manager(get_settings(), log=lambda m: None)).__name__ == "ScopedCeleryManager"
    finally:
        del os.environ[CELERY_BROKER_ENV], os.environ[CELERY_RESULTS_ENV]
    assert type(make_manager(get_settings(), log=lambda m: None)).__name__ == "ScopedDiskcacheManager"
