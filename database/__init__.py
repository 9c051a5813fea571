"""The outreach log: what coordinators write (calls, outcomes, owners), kept in a real database.

A low layer like ``data``: imports ``data.settings`` only, nothing from Dash. The app's
callbacks and the JSON API (app/api.py) both go through ``database.outreach``.
"""
