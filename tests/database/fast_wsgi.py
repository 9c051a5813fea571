"""gunicorn entry point for the database tests: the app as wsgi.py builds it, with the
tests' fast training config, so the models the test session trained are loaded, not retrained."""
from app import create_app
from tests.conftest import fast_training_config

app = create_app(log=lambda message: print(message, flush=True), training_config=fast_training_config())
server = app.server


@server.after_request
def _served_by(response):
    # Which worker answered: the concurrency test checks that both took part.
    import os

    response.headers["X-Served-By"] = str(os.getpid())
    return response
