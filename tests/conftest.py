"""Shared fixtures: an isolated var dir, a small generated dataset, and the Dash app.

The app is built once per session: Dash Pages registers pages in a process-wide
registry, and building it once keeps the suite fast.
"""
from __future__ import annotations

import os

import pytest

SMALL_PATIENTS = 3000
SMALL_SEED = 11


@pytest.fixture(scope="session", autouse=True)
def isolated_var_dir(tmp_path_factory):
    """Send everything the code writes at run time (data, cache, models) to a temp dir,
    never to the developer's var/."""
    var_dir = tmp_path_factory.mktemp("var")
    previous = os.environ.get("CAREPATH_VAR_DIR")
    os.environ["CAREPATH_VAR_DIR"] = str(var_dir)
    yield var_dir
    if previous is None:
        os.environ.pop("CAREPATH_VAR_DIR", None)
    else:
        os.environ["CAREPATH_VAR_DIR"] = previous


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory):
    """A few thousand synthetic patients, written and read back like the real data."""
    from data.synthetic.dataset import generate_tables
    from data.io import read_dataset, write_dataset

    tables, manifest = generate_tables(SMALL_PATIENTS, SMALL_SEED)
    folder = tmp_path_factory.mktemp("small-dataset") / "data"
    write_dataset(tables, manifest, folder)
    return read_dataset(folder)


def fast_training_config():
    """Fewer trees, resamples and permutations: same code paths, seconds not minutes."""
    from ml.risk.models import TrainingConfig

    return TrainingConfig(gb_max_iter=120, gb_learning_rate=0.08, gb_min_samples_leaf=40, bootstrap_resamples=20,
                          explanation_permutations=4)


@pytest.fixture(scope="session")
def small_models(small_dataset, isolated_var_dir):
    from ml.registry import get_models

    return get_models(small_dataset, config=fast_training_config(), log=lambda message: None)


@pytest.fixture(scope="session")
def dash_app(small_dataset, small_models, isolated_var_dir):
    from app import create_app

    return create_app(small_dataset, log=lambda message: None, training_config=fast_training_config())


@pytest.fixture(scope="session")
def app_data(dash_app):
    """The server-side state the app's callbacks read (loaded by create_app)."""
    from callbacks import context

    return context.current()


# --- Signing in (app/access) --------------------------------------------------------------
TEST_PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def access_users(dash_app, app_data):
    """Users of every role in the session app's database: {role name: UserRecord}, plus a
    coordinator of the first site only ("coordinator_a") and of every site ("coordinator_all")."""
    from app.access import current_store

    users = current_store().users
    made = {}
    sites = list(app_data.sites)
    for name, role, user_sites in (("t-admin", "admin", ()), ("t-analyst", "analyst", ()),
                                   ("t-coordinator-a", "coordinator", sites[:1]),
                                   ("t-coordinator-all", "coordinator", sites)):
        made[name] = users.get(name) or users.add(name, role, TEST_PASSWORD, user_sites)
    return {"admin": made["t-admin"], "analyst": made["t-analyst"], "coordinator_a": made["t-coordinator-a"],
            "coordinator_all": made["t-coordinator-all"]}


def signed_in(dash_app, user):
    """A Flask test client with ``user``'s session cookie."""
    client = dash_app.server.test_client()
    with client.session_transaction() as session:
        session["uid"] = user.id
        session["via"] = "session"
    return client


def admin_test_client(dash_app):
    """A test client signed in as an admin (for tests of the HTTP layer behind sign-in)."""
    from app.access import current_store

    users = current_store().users
    return signed_in(dash_app, users.get("t-admin") or users.add("t-admin", "admin", TEST_PASSWORD, ()))


@pytest.fixture
def admin_client(dash_app, access_users):
    return signed_in(dash_app, access_users["admin"])


@pytest.fixture
def as_user(dash_app):
    """``with as_user(principal): ...`` runs callbacks as that user (a request context with them signed in)."""
    from contextlib import contextmanager

    from flask import g

    @contextmanager
    def run_as(principal):
        with dash_app.server.test_request_context("/_dash-update-component", method="POST"):
            g.carepath_principal = principal
            yield

    return run_as
