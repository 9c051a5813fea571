"""Shared command-line plumbing for the ml entry points: load the data, get the models."""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from data.io import read_dataset
from data.settings import get_settings
from data.store import DataFolderError
from data.validation import ContractError


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, help="dataset folder (default: the app's data folder, "
                                                  "generated on first use)")
    parser.add_argument("--models", type=Path, help="model folder (default: the app's model folder)")


def load_dataset_and_models(args, log=print):
    """(dataset, bundle, settings) for the parsed arguments; exits with a clear message on bad data
    or on data that cannot support a model."""
    from ml.registry import load_or_train

    settings = get_settings()
    if getattr(args, "models", None):
        settings = replace(settings, model_dir=args.models.resolve())
    try:
        if args.data:
            dataset = read_dataset(args.data)
        else:
            from data.store import ensure_dataset

            dataset = ensure_dataset(settings, log=log)
    except (FileNotFoundError, DataFolderError) as error:
        sys.exit(f"error: {error}")
    except ContractError as error:
        sys.exit(f"error: the dataset does not meet the contract:\n{error}")
    from database.outreach import with_team_calls

    # The same training data as the app's: the team's logged calls join the outreach log.
    dataset = with_team_calls(dataset, settings, log)
    bundle, no_model_reason = load_or_train(dataset, settings, log=log)
    if bundle is None:
        sys.exit(f"error: {no_model_reason}")
    return dataset, bundle, settings
