"""The Celery app of wsgi.py, for the real-worker test: ``celery -A tests.app.celery_worker_wsgi:celery_app
worker`` runs wsgi.py's own module code (the app built from the environment, ``celery_app`` taken
from its background manager), only with the tests' fast training config, so the worker loads the
models the test session trained instead of training the full config again (about 30 s on 2 cores)."""
import app as carepath_app
from tests.conftest import fast_training_config

_create_app = carepath_app.create_app
# wsgi.py does ``from app import create_app``: replace it before wsgi is imported.
carepath_app.create_app = lambda *args, **kwargs: _create_app(*args, training_config=fast_training_config(),
                                                              **kwargs)
import wsgi  # noqa: E402

celery_app = wsgi.celery_app
