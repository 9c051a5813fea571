"""The data contract: the tables CarePath reads, their columns, types and allowed values.

Every loader, validator and generator refers to these definitions, so the contract
is written down exactly once.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from data.pathway import DEFAULT_PATHWAY, Pathway

# The default pathway's stages, results and programs (data/pathways/default.toml): the
# contract's allowed values follow the definition, they are not a second copy of it.
STAGES = DEFAULT_PATHWAY.stage_names
STAGE_LABELS = DEFAULT_PATHWAY.stage_labels
PROGRAMS = DEFAULT_PATHWAY.program_names
PROGRAM_LABELS = DEFAULT_PATHWAY.program_labels
SEXES = ("F", "M")
RACE_ETHNICITIES = ("White", "Black", "Hispanic", "Asian", "Other")
LANGUAGES = ("English", "Spanish", "Other")
PAYERS = ("Commercial", "Medicare", "Medicaid", "Uninsured")
REGIONS = ("urban", "suburban", "rural")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "str", "int", "float", "bool", "date"
    required: bool = True
    nullable: bool = False
    allowed: tuple | None = None
    min_value: float | None = None
    max_value: float | None = None
    description: str = ""
    unknown_means_missing: bool = False  # "unknown" (any case) is read as a missing value


# Only identity, program and enrollment date are required of a patient. Every other
# attribute may be absent (the column left out) or empty / "unknown" for some patients:
# nothing is invented to fill it, models drop what is absent and pages hide what is
# single-valued. Upper bounds reject values no real record holds (e.g. 2**62 visits).
def _attribute(name: str, kind: str, **rules) -> Column:
    return Column(name, kind, required=False, nullable=True, unknown_means_missing=kind == "str", **rules)


PATIENT_COLUMNS = (
    Column("patient_id", "str", description="Unique patient identifier."),
    Column("enrollment_date", "date", description="Date the patient was invited to the program (pathway start)."),
    Column("program", "str", allowed=PROGRAMS, description="Care program."),
    _attribute("age", "int", min_value=0, max_value=120, description="Age in years at enrollment."),
    _attribute("sex", "str", allowed=SEXES),
    _attribute("race_ethnicity", "str", allowed=RACE_ETHNICITIES),
    _attribute("language", "str", allowed=LANGUAGES, description="Preferred language."),
    _attribute("payer", "str", allowed=PAYERS),
    _attribute("region", "str", allowed=REGIONS),
    _attribute("site", "str", description="Home clinic site."),
    _attribute("adi", "int", min_value=1, max_value=100, description="Area deprivation index (national percentile)."),
    _attribute("distance_km", "float", min_value=0, max_value=20_000,
               description="Distance from home to clinic, km."),
    _attribute("comorbidity_index", "int", min_value=0, max_value=40, description="Charlson-style comorbidity index."),
    _attribute("prior_no_shows_12m", "int", min_value=0, max_value=366,
               description="Missed appointments in the 12 months before enrollment."),
    _attribute("prior_visits_12m", "int", min_value=0, max_value=1_000,
               description="Visits in the 12 months before enrollment."),
    _attribute("portal_user", "bool", description="Uses the patient portal."),
    _attribute("est_out_of_pocket", "float", min_value=0, max_value=1_000_000,
               description="Estimated out-of-pocket cost of the pathway, USD."),
    _attribute("prior_allowed_cost_12m", "float", min_value=0, max_value=100_000_000,
               description="Claims allowed cost in the 12 months before enrollment, USD (known at enrollment)."),
    _attribute("allowed_cost_to_date", "float", min_value=0, max_value=100_000_000,
               description="Claims allowed cost from 12 months before enrollment up to the as-of date, USD. "
                           "Includes costs billed after any decision point: never a model feature."),
)
REQUIRED_PATIENT_COLUMNS = tuple(c.name for c in PATIENT_COLUMNS if c.required)

EVENT_COLUMNS = (
    Column("patient_id", "str"),
    Column("stage", "str", allowed=STAGES),
    Column("date", "date", description="Day the stage took place."),
    Column("result", "str", required=False, nullable=True, allowed=DEFAULT_PATHWAY.results,
           description="The stage's result where the pathway definition gives it results (default: "
                       "screening positive/negative, diagnosis confirmed/ruled_out); otherwise empty. "
                       "Required when any stage has results."),
    Column("site", "str", required=False, nullable=True, description="Site where the stage took place."),
    Column("billed_cost", "float", required=False, nullable=True, min_value=0, max_value=10_000_000,
           description="Claims cost billed for this event, USD."),
    Column("next_appointment_date", "date", required=False, nullable=True,
           description="The appointment for the next stage as FIRST booked at this event (empty when no next "
                       "stage is indicated or nothing was booked). A later reschedule must not overwrite it: "
                       "the rescheduled date is only known after the decision day, so using it would leak the "
                       "future into the booked lead time. May lie after the as-of date."),
    Column("next_appointment_booked_on", "date", required=False, nullable=True,
           description="Day the appointment in next_appointment_date was booked; empty means on the event's "
                       "date. A booking made after the decision day is not known on the decision day."),
)
# Outreach log (optional): one row per call attempt by a navigator / care coordinator.
DISPOSITIONS = ("reached_rebooked", "reached_declined", "left_message", "unreachable", "wrong_number")
OUTREACH_SOURCES = {"pilot": "the historical navigation pilot (synthetic data)",
                    "worklist": "a call logged from CarePath's worklist"}
OUTREACH_COLUMNS = (
    Column("patient_id", "str", description="Must be in patients."),
    Column("date", "date", description="Day of the call attempt (on or before the as-of date)."),
    Column("awaited_stage", "str", allowed=DEFAULT_PATHWAY.decision_stages,
           description="The stage the patient was waiting for: one of the pathway's decision stages."),
    Column("disposition", "str", allowed=DISPOSITIONS,
           description="reached_rebooked (reached; a slot, transport or cost help arranged), reached_declined "
                       "(reached; nothing arranged), left_message, unreachable (no answer, no message), "
                       "wrong_number (the number on file does not reach the patient)."),
    Column("source", "str", description="Who logged it: 'pilot' (the generated programme), 'worklist' (the app)."),
    Column("coordinator", "str", required=False, nullable=True, description="Who called."),
    Column("note", "str", required=False, nullable=True, description="Free text."),
)
TABLES = {"patients": PATIENT_COLUMNS, "events": EVENT_COLUMNS}
OPTIONAL_TABLES = {"outreach": OUTREACH_COLUMNS}


def table_columns(table: str, pathway: Pathway = DEFAULT_PATHWAY) -> tuple[Column, ...]:
    """A table's columns with the allowed programs, stages and results of ``pathway``."""
    allowed = {"patients": {"program": pathway.program_names},
               "events": {"stage": pathway.stage_names, "result": pathway.results},
               "outreach": {"awaited_stage": pathway.decision_stages}}.get(table, {})
    columns = TABLES[table] if table in TABLES else OPTIONAL_TABLES[table]
    return tuple(replace(c, allowed=allowed[c.name]) if c.name in allowed else c for c in columns)

# Ground truth: written by the generator only, kept apart from the features.
GROUND_TRUTH_COLUMNS = (
    Column("patient_id", "str"),
    Column("decision_stage", "str", allowed=DEFAULT_PATHWAY.decision_stages,
           description="The stage the patient is awaiting at this decision point."),
    Column("decision_date", "date"),
    Column("true_dropout_probability", "float", min_value=0, max_value=1,
           description="P(drop out before completing the pathway | what is observable at the decision point)."),
    Column("will_drop_out", "bool", description="Realised outcome in the full (uncensored) simulation."),
    Column("true_completion_probability", "float", required=False, nullable=True, min_value=0, max_value=1,
           description="For a patient in progress and awaiting this stage on the as-of date: P(not dropping out, "
                       "i.e. completing the pathway or exiting appropriately) if nobody calls; empty otherwise."),
    Column("true_call_gain", "float", required=False, nullable=True, min_value=0, max_value=1,
           description="For the same rows: the exact increase in that probability from a navigator's call started "
                       "on the as-of date (docs/data.md, Outreach); empty otherwise."),
)
