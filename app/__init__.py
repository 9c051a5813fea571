"""The CarePath Dash app: ``create_app()`` builds it, loading the data once at start-up."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import dash
from flask import jsonify

from app import http_guard
from app.background import make_manager, run_before_each_job
from app.access import register_access
from app.api import register_api
from app.error_pages import register_error_pages
from callbacks import (context, filter_panel, journeys, measures, model, model_admin, outreach, overview, pathways,
                       patient, scenarios, worklist)
from components.layout import shell
from data.settings import Settings, get_settings

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent


def _register_health_route(server) -> None:
    @server.route("/healthz")
    def healthz():
        # Load balancers and the serve script poll this: 200 only once data is in memory.
        if not context.is_ready():
            return jsonify(status="loading"), 503
        app_data = context.current()
        return jsonify(
            status="ok",
            patients=int(len(app_data.cohort_frame)),
            as_of=str(app_data.dataset.as_of.date()),
            data_fingerprint=app_data.fingerprint,
            model_available=app_data.model_available,
            # Why not, when the data cannot support a model (a data.readiness rule); None otherwise.
            model_unavailable=app_data.models_unavailable,
        )


def create_app(dataset=None, settings: Settings | None = None,
               log: Callable[[str], None] = print, training_config=None) -> dash.Dash:
    """Build the app. With ``dataset=None`` the dataset in ``settings.data_dir`` is loaded,
    and generated first if absent (tests pass a small one instead)."""
    settings = settings or get_settings()
    app = dash.Dash(
        __name__,
        use_pages=True,
        # Absolute paths: Dash resolves relative ones against this package, not the repo root.
        pages_folder=str(PACKAGE_DIR / "pages"),
        assets_folder=str(PROJECT_ROOT / "assets"),
        # Bootstrap is vendored in assets/ so the app renders without internet access.
        external_stylesheets=[],
        title="CarePath",
        update_title=None,
    )
    server = app.server
    # First: the runtime folder checked (one sentence if not writable) and the cache opened.
    context.init_cache(server, settings, log=log)
    # Long work (truth check, large exports, re-training) runs as background jobs (app.background).
    jobs = app.carepath_background = make_manager(settings, log)
    register_access(app, settings, log)  # sign-in, roles and the audit trail before any route
    _register_health_route(server)
    register_api(server)
    register_error_pages(app)
    app_data = context.load(server, dataset=dataset, settings=settings, log=log, training_config=training_config)
    app.layout = shell(app_data.sites, app_data.enrolled_first, app_data.enrolled_last,
                       hidden_fields=app_data.unavailable_filter_fields,
                       program_labels=app_data.dataset.pathway.program_labels)
    filter_panel.register_callbacks(app)
    overview.register_callbacks(app)
    pathways.register_callbacks(app)
    model.register_callbacks(app)
    worklist.register_callbacks(app, jobs)
    outreach.register_callbacks(app)
    patient.register_callbacks(app)
    scenarios.register_callbacks(app, jobs)
    journeys.register_callbacks(app)
    measures.register_callbacks(app)
    model_admin.register_callbacks(app, jobs, settings, training_config)
    swap = model_admin.install_swap(server, settings, training_config, log)
    run_before_each_job(jobs, swap.wait_for_current)  # a Celery worker serves no request to look on
    http_guard.install(app, settings)
    return app
