"""Entry point for gunicorn: ``gunicorn wsgi:server``.

Importing this module builds the app, which loads the dataset (generating it on the
first run). With ``--preload`` that happens once, before the workers fork.
"""
from app import create_app

app = create_app()
server = app.server

if __name__ == "__main__":  # development server: python wsgi.py
    from data.settings import get_settings

    settings = get_settings()
    app.run(host=settings.host, port=settings.port, debug=False)
