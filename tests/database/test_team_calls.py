"""Learning from the team's own log: calls recorded in the outreach database join the
dataset's outreach table (in memory, source "worklist") for the next training run, but only
calls made by the data's as-of date, whose outcome the data can show."""
from __future__ import annotations

import dataclasses

import pandas as pd
from sqlalchemy import update

from data.settings import get_settings
from database.outreach import open_log, with_team_calls
from database.tables import OutreachAttempt


def test_calls_made_by_the_as_of_date_join_the_outreach_table(small_dataset, tmp_path):
    url = f"sqlite:///{tmp_path / 'outreach.db'}"
    log = open_log(url=url)
    scores_like = small_dataset.patients["patient_id"].iloc[:3].tolist()
    before_as_of = log.record_attempt(scores_like[0], "reached_rebooked", coordinator="Ana", awaited_stage="diagnosis")
    log.record_attempt(scores_like[1], "left_message", coordinator="Ben", awaited_stage="treatment")  # made today
    log.record_attempt(scores_like[2], "unreachable")  # no stage: not made from the Worklist
    with log.engine.begin() as connection:
        connection.execute(update(OutreachAttempt.__table__).where(OutreachAttempt.__table__.c.id == before_as_of.id)
                           .values(attempted_at=pd.Timestamp(small_dataset.as_of).to_pydatetime()
                                   - pd.Timedelta(days=20)))
    log.engine.dispose()

    settings = dataclasses.replace(get_settings(), database_url=url)
    messages = []
    merged = with_team_calls(small_dataset, settings, messages.append)
    team = merged.outreach[merged.outreach["source"] == "worklist"]
    assert list(team["patient_id"]) == [scores_like[0]]
    assert team.iloc[0]["disposition"] == "reached_rebooked" and team.iloc[0]["awaited_stage"] == "diagnosis"
    assert team.iloc[0]["date"] == pd.Timestamp(small_dataset.as_of) - pd.Timedelta(days=20)
    assert len(merged.outreach) == (0 if small_dataset.outreach is None else len(small_dataset.outreach)) + 1
    assert any("1 calls logged by the team" in m for m in messages)
    assert small_dataset.outreach is None or "worklist" not in set(small_dataset.outreach["source"])  # in memory only


def test_an_unreachable_log_leaves_the_dataset_as_it_is(small_dataset):
    settings = dataclasses.replace(get_settings(), database_url="postgresql://nobody@127.0.0.1:9/none")
    assert with_team_calls(small_dataset, settings, lambda message: None) is small_dataset
