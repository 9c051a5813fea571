"""Re-training from the Models admin page (callbacks.model_admin): admins only, checked by the
gate and again inside the job; steps reported; the new models named in active.json and swapped
in by each worker when it next serves a request."""
from __future__ import annotations

import dataclasses

import pytest
from werkzeug.exceptions import Forbidden

from callbacks import context
from callbacks.access_scope import Principal
from callbacks.model_admin import ACTIVE_FILE, STEPS, ModelSwap, active_note, retrain_job
from components import ids
from tests.app.test_background_jobs import job_of
from tests.app.test_http_callbacks import callback_body, post
from tests.conftest import fast_training_config, signed_in

ADMIN = Principal("t-retrain-admin", "admin", None)


@pytest.mark.parametrize("principal", [Principal("c", "coordinator", ("Site A",)), Principal("a", "analyst", ())])
def test_the_job_refuses_anyone_but_an_admin(app_data, principal):
    from data.settings import get_settings

    steps = []
    with job_of(principal), pytest.raises(Forbidden):
        retrain_job(steps.append, 1, get_settings(), fast_training_config())
    assert steps == []  # refused before reading anything


@pytest.mark.parametrize("role", ["coordinator_all", "analyst"])
def test_page_and_callbacks_are_refused_to_others(dash_app, access_users, role):
    client = signed_in(dash_app, access_users[role])
    assert client.get("/admin/models").status_code == 403
    body = callback_body(dash_app, ids.ADMIN_RETRAIN_RESULT, "children", {(ids.ADMIN_RETRAIN_BUTTON, "n_clicks"): 1})
    assert post(client, body).status_code == 403
    assert signed_in(dash_app, access_users["admin"]).get("/admin/models").status_code == 200


def test_retraining_unchanged_data_reports_each_step_and_trains_nothing(app_data, restored_app_state):
    from data.settings import get_settings

    settings = get_settings()
    steps = []
    with job_of(ADMIN):
        alert = retrain_job(steps.append, 1, settings, fast_training_config())
    assert [label for _, _, label in steps] == [f"Step {n} of {len(STEPS)}: {what}" for n, what in
                                                enumerate(STEPS, start=1)]
    assert [value for value, _, _ in steps] == list(range(len(STEPS)))
    assert alert.color == "info" and "Nothing was re-trained" in alert.children
    assert active_note(settings.model_dir)["key"] == app_data.models.key


@pytest.fixture
def restored_app_state():
    """The session's analytic state put back after a test swaps other models in, and the note
    removed, so the session app's own swap (app.create_app installs one) does not act on it."""
    from data.settings import get_settings

    before = context._current
    yield
    context._current = before
    (get_settings().model_dir / ACTIVE_FILE).unlink(missing_ok=True)


def test_new_models_are_trained_named_and_swapped_in_by_each_worker(dash_app, app_data, restored_app_state):
    from data.settings import get_settings

    settings = get_settings()
    other = dataclasses.replace(fast_training_config(), gb_max_iter=60)  # other models for the same data
    clock = [0.0]
    swap = ModelSwap(dash_app.server, settings, other, log=lambda message: None, clock=lambda: clock[0])
    assert swap.check() is None  # nothing newer than what this worker loaded
    with job_of(ADMIN):
        alert = retrain_job(lambda step: None, 1, settings, other)
    assert alert.color == "success", alert.children
    new_key = active_note(settings.model_dir)["key"]
    assert new_key != app_data.models.key and (settings.model_dir / new_key / "meta.json").exists()
    assert (settings.model_dir / ACTIVE_FILE).exists()

    assert swap.check() is None  # checked a moment ago: the next look comes a few seconds later
    clock[0] += 10
    reload = swap.check()
    assert reload is not None
    reload.join(timeout=300)
    assert context.current().models.key == new_key
    assert context.current() is not app_data  # one swap of the whole state, not an edit of the old one
    clock[0] += 10
    assert swap.check() is None  # the same note is not acted on twice


def test_a_celery_job_swaps_in_newer_models_before_it_runs(dash_app, app_data, restored_app_state, monkeypatch):
    """A Celery worker serves no web request, so the before-request check never runs there:
    before, a worker kept the models it started with until restarted, and exports sorted by
    risk or truth checks ran on the old models. Now each job looks first and waits for the reload."""
    import time

    from dash.background_callback.managers import BaseBackgroundCallbackManager

    from app.background import celery_manager, run_before_each_job
    from callbacks.jobs import PRINCIPAL_NAMESPACE
    from callbacks.model_admin import write_active_note
    from callbacks.worklist import export_job
    from data.settings import get_settings

    settings = get_settings()
    swap = ModelSwap(dash_app.server, settings, log=lambda message: None, clock=lambda: 0.0)
    reloaded = []
    monkeypatch.setattr(swap, "reload", lambda: (time.sleep(0.3), reloaded.append("reloaded")))
    time.sleep(0.01)
    write_active_note(settings.model_dir, {"key": "models-trained-elsewhere"})

    manager = celery_manager("memory://", "cache+memory://")
    manager.celery_app.conf.task_always_eager = True
    run_before_each_job(manager, swap.wait_for_current)
    key = next(k for k, fn, _ in BaseBackgroundCallbackManager.functions if fn is export_job)
    principal = {"username": "t-admin", "role": "admin", "sites": None, "via": "session"}
    task = manager.call_job_fn("t-swap-export", manager.func_registry[key], [1, "", "all", "risk", False, None, None],
                               {"custom_data": {PRINCIPAL_NAMESPACE: principal}})
    manager.get_result("t-swap-export", task)
    assert reloaded == ["reloaded"]  # the job waited for the reload, which ran once
