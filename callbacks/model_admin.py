"""Models admin page (/admin/models): re-train the models on the current data as a background
job, with its steps shown, and swap the new models in on every web worker when it is done.

The job re-reads the data folder, adds the calls the team has logged (database.outreach), and
asks the registry for the models of that data: trained once under the registry's file lock
(two workers, or two admins, never train at once) or loaded when they exist. It then names
the new model key in ``<model dir>/active.json``. Each worker notices a newer note on its next
request (one stat every few seconds) and reloads its analytic state in a thread, from the data
and the saved models, so no request waits and nobody is served half-loaded state: the swap is
one assignment in callbacks.context.load.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, html
from flask import Flask

from callbacks import access_scope, context, jobs
from components import ids
from data.settings import Settings

ACTIVE_FILE = "active.json"
CHECK_SECONDS = 3.0  # how often a worker looks for a newer note (a stat; reloading costs seconds)
STEPS = ("Reading the data folder", "Adding the calls the team logged", "Training the models (or loading them)",
         "Naming the new models for every worker")
NOT_ADMIN = "Only an administrator can re-train the models."


def require_admin() -> access_scope.Principal:
    principal = access_scope.current()
    if principal is None or principal.role != access_scope.ADMIN:
        raise access_scope.forbidden()
    return principal


def active_note(model_dir: Path) -> dict | None:
    try:
        return json.loads((Path(model_dir) / ACTIVE_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def write_active_note(model_dir: Path, note: dict) -> Path:
    """Atomically: a worker reading it meanwhile sees the old note or the new one, never half."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=".active.", suffix=".json", dir=model_dir)
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(note, out, indent=2)
        os.replace(tmp, model_dir / ACTIVE_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return model_dir / ACTIVE_FILE


def current_data(settings: Settings):
    """The data the app serves, read afresh from its folder (before the team's calls are added)."""
    from data.io import read_dataset

    return read_dataset(context.current().dataset.source_dir, as_of=settings.as_of)


def retrain(settings: Settings, training_config=None, progress: Callable[[int, int, str], None] | None = None,
            log: Callable[[str], None] = print) -> dbc.Alert:
    """Re-train on the current data (admins only: checked here, whoever calls) and name the
    result for every worker. ``progress(step, of, what)`` before each step."""
    from ml.registry import load_or_train, model_key
    from ml.risk.models import TrainingConfig

    principal = require_admin()
    config = training_config or TrainingConfig()

    def step(number: int) -> None:
        if progress is not None:
            progress(number, len(STEPS), STEPS[number - 1])

    from database.outreach import with_team_calls

    step(1)
    dataset = current_data(settings)
    step(2)
    dataset = with_team_calls(dataset, settings, log)
    key = model_key(dataset, config)
    in_use = context.current().models
    step(3)
    started = time.perf_counter()
    bundle, unavailable = load_or_train(dataset, settings, config, log=log)
    if bundle is None:
        return dbc.Alert(f"No models could be trained on the current data: {unavailable}", color="warning")
    step(4)
    write_active_note(settings.model_dir, {"key": key, "by": principal.username,
                                           "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                           "data_dir": str(dataset.source_dir)})
    seconds = time.perf_counter() - started
    if in_use is not None and in_use.key == key:
        return dbc.Alert(f"The models in use (key {key}) were already trained on the current data: the data "
                         "folder and the team's logged calls have not changed since. Nothing was re-trained.",
                         color="info")
    return dbc.Alert(f"New models ready in {seconds:.0f} s (key {key}); every worker swaps them in within "
                     f"{CHECK_SECONDS:.0f} s of its next request, then this page and the Model page show them.",
                     color="success")


def retrain_job(set_progress, _clicks, settings: Settings, training_config=None):
    """The background job behind the button, as the admin who pressed it."""
    def progress(done: int, total: int, what: str) -> None:
        set_progress((done - 1, total, f"Step {done} of {total}: {what}"))

    return jobs.run_as_requester(retrain, settings, training_config, progress)


def models_in_use() -> html.Div:
    require_admin()
    models = context.current().models
    if models is None:
        return html.P(context.current().models_unavailable or "No models are loaded.")
    report = models.report
    return html.Div([
        html.P([html.Strong("In use: "), f"key {models.key}, primary model {report.get('primary_model')}, "
                f"{report.get('n_patients', 0):,} patients as of {report.get('as_of')}."]),
    ])


# ---------------------------------------------------------------- the swap, in every worker
class ModelSwap:
    """Reloads this worker's analytic state when ``active.json`` names other models than it serves."""

    def __init__(self, server: Flask, settings: Settings, training_config=None, log: Callable[[str], None] = print,
                 clock: Callable[[], float] = time.monotonic):
        self.server, self.settings, self.training_config, self.log = server, settings, training_config, log
        self._clock = clock
        self._next_check = 0.0
        self._lock = threading.Lock()
        self._reloading: threading.Thread | None = None
        self._handled = self._stamp()  # a note older than this start is what we loaded (or moot)

    def _stamp(self) -> float | None:
        try:
            return (self.settings.model_dir / ACTIVE_FILE).stat().st_mtime
        except OSError:
            return None

    def check(self) -> threading.Thread | None:
        """Start a reload when a newer note names other models; the reload thread, if one started."""
        now = self._clock()
        if now < self._next_check:
            return None
        with self._lock:
            if now < self._next_check or (self._reloading is not None and self._reloading.is_alive()):
                return None
            self._next_check = now + CHECK_SECONDS
            stamp = self._stamp()
            if stamp is None or stamp == self._handled:
                return None
            self._handled = stamp
            note = active_note(self.settings.model_dir) or {}
            models = context.current().models
            if models is not None and note.get("key") == models.key:
                return None
            self._reloading = threading.Thread(target=self.reload, name="carepath-model-swap", daemon=True)
            self._reloading.start()
            return self._reloading

    def wait_for_current(self) -> None:
        """Before a background job in a Celery worker: that process serves no web request, so the
        before-request check never runs there, and without this it would keep the models it
        started with until restarted. Looks now (a job is rare next to a request) and waits for
        any reload, so the job runs on the models active.json names."""
        with self._lock:
            self._next_check = 0.0
        thread = self.check() or self._reloading
        if thread is not None and thread.is_alive():
            thread.join()

    def reload(self) -> None:
        started = time.perf_counter()
        try:
            # The raw data: context.load adds the team's calls itself, as at start-up.
            dataset = current_data(self.settings)
            context.load(self.server, dataset=dataset, settings=self.settings, log=self.log,
                         training_config=self.training_config)
        except Exception as error:  # noqa: BLE001 - keep serving the old models; say why once
            self.log(f"model swap failed, still serving the previous models: {type(error).__name__}: "
                     f"{str(error).splitlines()[0][:200] if str(error) else ''}")
            return
        self.log(f"model swap: now serving {context.current().models.key if context.current().models else 'no models'}"
                 f" (reloaded in {time.perf_counter() - started:.1f} s)")


def install_swap(server: Flask, settings: Settings, training_config=None,
                 log: Callable[[str], None] = print) -> ModelSwap:
    swap = ModelSwap(server, settings, training_config, log)

    @server.before_request
    def _swap_in_newer_models():
        swap.check()  # returns at once: the reload, if any, runs in its own thread

    return swap


def register_callbacks(app: Dash, manager, settings: Settings, training_config=None) -> None:
    def show_models_in_use(_result):
        return models_in_use()

    def retrain_clicked(set_progress, clicks):
        return retrain_job(set_progress, clicks, settings, training_config)

    app.callback(
        Output(ids.ADMIN_MODELS_CURRENT, "children"),
        Input(ids.ADMIN_RETRAIN_RESULT, "children"),
    )(show_models_in_use)
    app.callback(
        Output(ids.ADMIN_RETRAIN_RESULT, "children"),
        Input(ids.ADMIN_RETRAIN_BUTTON, "n_clicks"),
        background=True,
        manager=manager,
        progress=[Output(ids.ADMIN_RETRAIN_PROGRESS, "value"), Output(ids.ADMIN_RETRAIN_PROGRESS, "max"),
                  Output(ids.ADMIN_RETRAIN_PROGRESS, "label")],
        progress_default=[0, len(STEPS), "Starting…"],
        running=[(Output(ids.ADMIN_RETRAIN_BUTTON, "disabled"), True, False),
                 (Output(ids.ADMIN_RETRAIN_RUNNING, "hidden"), False, True)],
        cancel=[Input(ids.ADMIN_RETRAIN_CANCEL, "n_clicks")],
        prevent_initial_call=True,
    )(retrain_clicked)
