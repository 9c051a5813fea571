"""Command-line entry points: python -m ml.cli.train, ml.cli.score, ml.cli.scenario."""
