"""Entry point for gunicorn: ``gunicorn wsgi:server``.

Importing this module builds the app, which loads the dataset (generating it on the
first run). With ``--preload`` that happens once, before the workers fork. Data the app
cannot serve stops it with a message for a person, not a traceback.
"""
import sys

from app import create_app
from data.store import DataFolderError
from data.validation import ContractError

try:
    app = create_app()
except (DataFolderError, ContractError, FileNotFoundError) as error:
    print(f"CarePath cannot start:\n{error}", file=sys.stderr, flush=True)
    sys.exit(3)
server = app.server
# With CAREPATH_CELERY_BROKER_URL set, the Celery app whose workers run the background jobs
# (``celery -A wsgi:celery_app worker``); None with the default diskcache jobs.
celery_app = getattr(app.carepath_background, "celery_app", None)

if __name__ == "__main__":  # development server: python wsgi.py
    from data.settings import get_settings

    settings = get_settings()
    app.run(host=settings.host, port=settings.port, debug=False)
